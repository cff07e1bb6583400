package org.swiattn.golden;

import java.util.List;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.Shape;

/**
 * The definition of one golden case: everything needed to regenerate its inputs and outputs. Cases live in
 * {@link Suites}; a case's {@code tcId} and {@code name} never change once committed (Wycheproof style), a changed
 * case gets a new id and name.
 *
 * <pre>
 *   tcId, name        stable id and ONNX-backend-style name, e.g. routed_gqa4_s4096_w1024
 *   kind              WHOLE: every output tensor stored;  SAMPLED: route + LSE of every row for one head +
 *                     all heads of sampled rows (the 32K cases)
 *   shape, window     B, S (= Sq), Hq, Hkv, D, Sk and w
 *   version           the suite version and folder: 1 (self-attention prefill, v1/), 2 (spec 2.0 forms, v2/)
 *   segments          how query rows align to key rows ({@link CaseSegments}); SELF in suite 1
 *   scale             the score scale; NaN means the default 1/sqrt(D)
 *   estimator         the training estimator (backward and router gradient)
 *   route             how the route z and the router logits a are made ({@link RouteKind}), fraction of full rows
 *   seed              the case seed of the input generator ({@link SplitMix64})
 *   ampQ .. ampDo     power-of-two amplitudes of the generated q, k, v, dO (large-score cases use ampQ, ampK above 1)
 *   backward          whether gradients are stored
 *   lseHead           SAMPLED only: the query head whose LSE is stored for every row
 *   flags, comment    Wycheproof-style flags (see golden/README.md) and a one-line comment
 * </pre>
 */
public record CaseSpec(int tcId, String name, Kind kind, Shape shape, int window, double scale, Estimator estimator,
                       RouteKind route, double fullFraction, long seed, double ampQ, double ampK, double ampV,
                       double ampDo, boolean backward, int lseHead, List<String> flags, String comment,
                       int version, CaseSegments segments) {

    /** How much of a case is stored. */
    public enum Kind {
        /** Every output tensor whole. */
        WHOLE,
        /** Route, LSE of every row for one head, and all heads of sampled rows (forward and gradients). */
        SAMPLED
    }

    /** How the route z [B,S] and the router logits a [B,S] of a case are made ({@link CaseInputs#route}). */
    public enum RouteKind {
        /** z = 1 everywhere: full causal attention. */
        ALL_FULL,
        /** z = 0 everywhere: sliding-window attention. */
        ALL_WINDOW,
        /** z_i = 1 for even i, 0 for odd i. */
        ALTERNATING,
        /** Exactly round(fraction * S) full rows per batch, chosen at random. */
        RANDOM,
        /** RANDOM, then every third row gets the logit a = 0 exactly (so z = 0, p = 1/2). */
        RANDOM_ZERO_LOGITS,
        /** RANDOM with |a| in [30, 38] (p within 1e-13 of 0 or 1). */
        SATURATED,
        /** Exactly round(fraction * B*Sq) full rows over all flat rows, chosen at random (decode: one row each). */
        RANDOM_ROWS
    }

    /** A suite-1 case: self-attention prefill, file in v1/. */
    public CaseSpec(int tcId, String name, Kind kind, Shape shape, int window, double scale, Estimator estimator,
                    RouteKind route, double fullFraction, long seed, double ampQ, double ampK, double ampV,
                    double ampDo, boolean backward, int lseHead, List<String> flags, String comment) {
        this(tcId, name, kind, shape, window, scale, estimator, route, fullFraction, seed, ampQ, ampK, ampV, ampDo,
                backward, lseHead, flags, comment, 1, CaseSegments.SELF);
    }

    public CaseSpec {
        flags = List.copyOf(flags);
        SplitMix64.checkAmp(ampQ);
        SplitMix64.checkAmp(ampK);
        SplitMix64.checkAmp(ampV);
        SplitMix64.checkAmp(ampDo);
        if (!name.matches("[a-z0-9_]+")) {
            throw new IllegalArgumentException("case name must be [a-z0-9_]+, got " + name);
        }
        if (version != 1 && version != 2 || version == 1 && segments.form() != CaseSegments.Form.SELF) {
            throw new IllegalArgumentException("case " + name + ": suite version " + version + " with segments "
                    + segments + " (suite 1 is self-attention only)");
        }
    }

    /** The effective scale: {@link #scale()} or 1/sqrt(D) when that is NaN. */
    public double effectiveScale() {
        return Double.isNaN(scale) ? shape.defaultScale() : scale;
    }

    /** Whether every output is stored whole. */
    public boolean whole() {
        return kind == Kind.WHOLE;
    }

    /** The relative path of the case file inside a golden folder. */
    public String fileName() {
        return "v" + version + "/" + name + ".safetensors";
    }

    /** "tcId name" for messages. */
    public String label() {
        return tcId + " " + name;
    }
}
