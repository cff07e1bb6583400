package org.swiattn.golden;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.swiattn.reference.Mistake;
import org.swiattn.reference.ReferenceAttention;
import org.swiattn.reference.RowGradients;
import org.swiattn.reference.RowsComputation;
import org.swiattn.reference.RowsOutputs;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.ErrorMeasures;
import org.swiattn.spec.Precision;

/**
 * Tests a failing candidate against the catalogue of classic mistakes ({@link Mistake}, SPEC.md section 10.1): the
 * reference is re-run with each mistake planted, on the case's own inputs, and the candidate is checked against
 * that planted reference with the same bounds.
 *
 * <pre>{@code
 *   e_t     = ||x_t - planted_t|| / ||planted_t||          every tensor t the planted run predicts
 *   effect  = ||planted_t - ref_t|| / ||ref_t|| / bound_t   (does the mistake show on this case at all?)
 *   MATCHES        e_t <= bound_t on every predicted tensor (the candidate conforms to the mistaken spec)
 *   EXPLAINS_MOST  every failing predicted tensor's error drops at least tenfold
 *   NO_MATCH       neither;  NO_EFFECT: the planted run is within bound of the reference everywhere
 *   NOT_PLANTABLE  the mistake cannot change these inputs (Mistake.canShowOn, e.g. no logit a = 0)
 * }</pre>
 * WHOLE cases predict every tensor; SAMPLED (32K) cases the row tensors (the LSE of every row, lse_all, would cost
 * a full-branch pass per mistake; its breakdown is still shown).
 */
public final class MistakeFinder {
    private MistakeFinder() {
    }

    /** How a mistake relates to a candidate. */
    public enum Status {
        MATCHES, EXPLAINS_MOST, NO_MATCH, NO_EFFECT, NOT_PLANTABLE
    }

    /**
     * The verdict on one mistake.
     *
     * @param worstRatio max over predicted tensors of e_t / bound_t (NaN when not planted)
     * @param tensors    the predicted tensors' e_t / bound_t, in the report's order
     */
    public record Verdict(Mistake mistake, Status status, double worstRatio, Map<String, Double> tensors) {
    }

    /**
     * The reference with every mistake planted, on one case's inputs, at the case's rows, for candidates of one
     * precision: what candidates of that case are judged against (computed once, reusable for any number of them).
     *
     * @param planted per mistake its outputs, or null where it cannot show ({@link Mistake#canShowOn})
     */
    public record Planted(CaseSpec spec, int[] rows, boolean gradients, Precision precision,
                          Map<Mistake, RowsOutputs> planted) {

        /**
         * The same for candidates of another precision: only the mistakes whose effect depends on it
         * ({@link Mistake#precisionDependent}) are planted again.
         */
        public Planted at(Precision p) {
            if (p == precision) {
                return this;
            }
            Map<Mistake, RowsOutputs> out = new java.util.EnumMap<>(planted);
            Inputs x = inputs(spec, rows, gradients);
            for (Mistake m : Mistake.values()) {
                if (m.precisionDependent()) {
                    out.put(m, m.canShowOn(x.in) ? m.predict(x.in, x.rows, x.dORows, new ReferenceAttention(), p) : null);
                }
            }
            return new Planted(spec, rows, gradients, p, out);
        }
    }

    private record Inputs(AttentionInputs in, int[] rows, double[] dORows) {
    }

    private static Inputs inputs(CaseSpec c, int[] rows, boolean gradients) {
        AttentionInputs in = CaseInputs.inputs(c);
        int[] at = c.whole() ? RowsComputation.allRows(c.shape()) : rows != null ? rows.clone()
                : CaseInputs.sampledRows(c, in.route());
        double[] dORows = !gradients ? null : c.whole() ? CaseInputs.dOut(c, null) : CaseInputs.dOutRows(c, at);
        return new Inputs(in, at, dORows);
    }

    /**
     * Plants every mistake into the reference on a case's inputs.
     *
     * @param rows      the golden rows of a SAMPLED case (null: every row of a WHOLE case); not modified
     * @param gradients whether to run the backward too
     * @param precision the precision of the candidates to be judged
     * @param progress  told which mistake is being planted
     */
    public static Planted plant(CaseSpec c, int[] rows, boolean gradients, Precision precision, Progress progress) {
        Inputs x = inputs(c, rows, gradients);
        RowsComputation reference = new ReferenceAttention();
        Map<Mistake, RowsOutputs> out = new java.util.EnumMap<>(Mistake.class);
        int done = 0;
        for (Mistake m : Mistake.values()) {
            progress.update("planting " + m.id(), done++, Mistake.values().length);
            out.put(m, m.canShowOn(x.in) ? m.predict(x.in, x.rows, x.dORows, reference, precision) : null);
        }
        progress.update("planting", done, Mistake.values().length);
        return new Planted(c, rows == null ? null : rows.clone(), gradients, precision, out);
    }

    /**
     * Every mistake's verdict on one candidate, best first (MATCHES by worst ratio, then EXPLAINS_MOST, NO_MATCH,
     * NO_EFFECT, NOT_PLANTABLE): {@link #plant} then {@link #judge}.
     *
     * @param c         the case
     * @param compared  the candidate's tensors as compared (one case); not modified
     * @param precision the candidate's precision
     * @param progress  told which mistake is being planted
     */
    public static List<Verdict> find(CaseSpec c, List<CandidateChecker.Compared> compared, Precision precision,
                                     Progress progress) {
        int[] rows = compared.stream().map(CandidateChecker.Compared::rows).filter(java.util.Objects::nonNull)
                .findFirst().orElse(null);
        boolean gradients = compared.stream().anyMatch(t -> GoldenGenerator.isGradient(t.tensor()));
        return judge(plant(c, rows, gradients, precision, progress), compared);
    }

    /**
     * Every mistake's verdict on one candidate, best first.
     *
     * @param planted  the planted reference of the candidate's case; not modified
     * @param compared the candidate's tensors as compared; not modified
     */
    public static List<Verdict> judge(Planted planted, List<CandidateChecker.Compared> compared) {
        List<Verdict> out = new ArrayList<>();
        for (Mistake m : Mistake.values()) {
            RowsOutputs p = planted.planted().get(m);
            out.add(p == null ? new Verdict(m, Status.NOT_PLANTABLE, Double.NaN, Map.of()) : judge(m, p, compared));
        }
        out.sort(Comparator.comparing(Verdict::status).thenComparingDouble(v -> Double.isNaN(v.worstRatio())
                ? Double.POSITIVE_INFINITY : v.worstRatio()));
        return out;
    }

    private static Verdict judge(Mistake m, RowsOutputs planted, List<CandidateChecker.Compared> compared) {
        Map<String, Double> ratios = new java.util.LinkedHashMap<>();
        Map<String, double[]> predicted = predictions(planted);
        double worst = 0;
        boolean effect = false;
        boolean mostExplained = true;
        boolean anyFailingPredicted = false;
        for (CandidateChecker.Compared t : compared) {
            double[] p = predicted.get(t.tensor());
            if (p == null) {
                continue;
            }
            double bound = t.check().bound();
            double tn = t.check().termNorm();   // the check's denominator: max(||.||, ||T||) when it used T
            double e = ErrorMeasures.normwiseRelative(t.candidate(), p, tn);
            double ratio = Double.isNaN(e) ? Double.POSITIVE_INFINITY : e / bound;
            ratios.put(t.tensor(), ratio);
            worst = Math.max(worst, ratio);
            effect |= !(ErrorMeasures.normwiseRelative(p, t.reference(), tn) <= bound);
            if (!t.check().pass()) {
                anyFailingPredicted = true;
                mostExplained &= e <= 0.1 * t.check().relErr();
            }
        }
        Status s = !effect ? Status.NO_EFFECT : worst <= 1 ? Status.MATCHES
                : anyFailingPredicted && mostExplained ? Status.EXPLAINS_MOST : Status.NO_MATCH;
        return new Verdict(m, s, worst, ratios);
    }

    /** The planted outputs under the golden tensor names (WHOLE: o, lse, ...; SAMPLED: o_rows, ...). */
    private static Map<String, double[]> predictions(RowsOutputs planted) {
        Map<String, double[]> p = new HashMap<>();
        boolean whole = planted.forward().rows().length == planted.forward().shape().rows();
        String suffix = whole ? "" : "_rows";
        p.put("o" + suffix, planted.forward().o());
        p.put("lse" + suffix, planted.forward().lse());
        RowGradients g = planted.gradients();
        if (g != null) {
            p.put("dq" + suffix, g.dq());
            p.put("dk" + suffix, g.dk());
            p.put("dv" + suffix, g.dv());
            p.put("d_router_logit" + suffix, g.dA());
        }
        return p;
    }
}
