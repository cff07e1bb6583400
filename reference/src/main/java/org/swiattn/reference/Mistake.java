package org.swiattn.reference;

import java.util.Locale;

import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.BackwardResult;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.Precision;
import org.swiattn.spec.RowsResult;
import org.swiattn.spec.SwitchAttention;

/**
 * The catalogue of classic mistakes (SPEC.md section 10.1, the one table of them): each one seen in the field,
 * each planted into an unchanged computation (the reference) as a transform of its inputs or outputs
 * ({@link MistakePlanting}), so {@code swiattn check --explain} can re-run the reference with the mistake planted
 * and name the one a failing candidate matches, and the property suite can prove it catches each one.
 *
 * <pre>{@code
 *   id                         what the candidate computes                   planted as
 *   window-plus-one            window of w+1 keys (i-w .. i)                 window w + 1
 *   window-minus-one           window of w-1 keys (i-w+2 .. i)               window w - 1 (none for w = 1)
 *   causal-late                key i+1 visible to row i                      row i+1 of inputs shifted by one
 *   lse-log2                   LSE in base 2                                 lse / ln 2
 *   lse-other-branch           LSE of the branch z did not select            LSE of the inverted route
 *   gqa-modulo                 query head h reads kv head h % Hkv            query heads permuted
 *   scale-one-over-d           scale 1/D                                     scale 1/D
 *   scale-missing              scale 1                                       scale 1
 *   route-tie-to-full          a = 0 routed to the full branch               a = 0 -> smallest positive a
 *   route-per-head             head h of token i routed like token (i Hq + h) mod S   one-head problems
 *   soft-delta-routed          SOFT backward: Delta from the routed output   dQ, dK corrections (see below)
 *   top-left                   Sq < Sk aligned top-left (spec 2.0)           segments with kLen cut to qLen
 *   crossing-segments          packed segments see earlier segments' keys     one call per segment from key 0
 *   router-gradient-subtraction  p(1-p) with 1 - p = 1 - fl(p)              dA * (1 - p) / sigmoid(-a)
 * }</pre>
 */
public enum Mistake {
    WINDOW_PLUS_ONE("window-plus-one", "4", "window of w+1 keys: row i sees keys i-w .. i",
            "a window of \"w tokens before the query\", FlashAttention window_size=(w, 0) where (w-1, 0) is meant, "
                    + "or attention-gym's generate_sliding_window(w) (q - kv <= w)") {
        @Override
        RowsOutputs plant(AttentionInputs in, int[] rows, double[] dORows, RowsComputation c, Precision arithmetic) {
            return RowsOutputs.of(c, MistakePlanting.window(in, 1), rows, dORows);
        }
    },
    WINDOW_MINUS_ONE("window-minus-one", "4", "window of w-1 keys: row i sees keys i-w+2 .. i",
            "the window's lower edge excluded (kv_idx > q_idx - w + 1, or q - kv < w - 1), or window_size=(w-2, 0)"
                    + " after converting w to FlashAttention's left size twice") {
        @Override
        RowsOutputs plant(AttentionInputs in, int[] rows, double[] dORows, RowsComputation c, Precision arithmetic) {
            AttentionInputs narrow = MistakePlanting.window(in, -1);
            return narrow == null ? null : RowsOutputs.of(c, narrow, rows, dORows);
        }
    },
    CAUSAL_LATE("causal-late", "4", "causal edge one key late: row i also sees the future key i+1",
            "a causal mask built with j <= i + 1 (torch.triu(ones, diagonal=2) instead of diagonal=1), or positions "
                    + "counted from 1 on one side only") {
        @Override
        RowsOutputs plant(AttentionInputs in, int[] rows, double[] dORows, RowsComputation c, Precision arithmetic) {
            return MistakePlanting.causalLate(in, rows, dORows, c);
        }
    },
    LSE_LOG2("lse-log2", "5", "LSE in base 2 (lse / ln 2; the error is lse * (1/ln 2 - 1) = 0.4427 lse)",
            "the log2 LSE of kernels that fold log2(e) into the scale (the authors' TileLang kernel, some FlashInfer "
                    + "APIs) returned as is; convert with lse = lse2 * ln 2") {
        @Override
        RowsOutputs plant(AttentionInputs in, int[] rows, double[] dORows, RowsComputation c, Precision arithmetic) {
            return MistakePlanting.lseDividedBy(RowsOutputs.of(c, in, rows, dORows), Math.log(2));
        }
    },
    LSE_OTHER_BRANCH("lse-other-branch", "5", "LSE of the branch the route did not select",
            "both branches computed (STRAIGHT_THROUGH, SOFT) and the LSE taken from the other branch's buffer, or "
                    + "the route inverted when selecting the LSE (z = 1 means full)") {
        @Override
        RowsOutputs plant(AttentionInputs in, int[] rows, double[] dORows, RowsComputation c, Precision arithmetic) {
            return MistakePlanting.lseOfOtherBranch(in, rows, RowsOutputs.of(c, in, rows, dORows), c);
        }
    },
    GQA_MODULO("gqa-modulo", "2", "query head h reads kv head h % Hkv instead of h / (Hq/Hkv)",
            "K and V expanded to Hq heads with repeat (tile) instead of repeat_interleave, or the kv head computed "
                    + "as h % Hkv") {
        @Override
        RowsOutputs plant(AttentionInputs in, int[] rows, double[] dORows, RowsComputation c, Precision arithmetic) {
            return MistakePlanting.gqaModulo(in, rows, dORows, c);
        }
    },
    SCALE_ONE_OVER_D("scale-one-over-d", "3", "scores scaled by 1/D instead of the given scale (1/sqrt(D))",
            "the scale applied twice (q * D^-0.5 before a kernel that scales again), or 1/D written for 1/sqrt(D)") {
        @Override
        RowsOutputs plant(AttentionInputs in, int[] rows, double[] dORows, RowsComputation c, Precision arithmetic) {
            return RowsOutputs.of(c, MistakePlanting.scale(in, 1.0 / in.shape().headDim()), rows, dORows);
        }
    },
    SCALE_MISSING("scale-missing", "3", "scores not scaled (scale 1)",
            "scale=1.0 passed to a kernel that expects the caller to scale q, or the scale argument ignored") {
        @Override
        RowsOutputs plant(AttentionInputs in, int[] rows, double[] dORows, RowsComputation c, Precision arithmetic) {
            return RowsOutputs.of(c, MistakePlanting.scale(in, 1.0), rows, dORows);
        }
    },
    ROUTE_TIE_TO_FULL("route-tie-to-full", "6", "a router logit a = 0 routed to the full branch (z = [a >= 0])",
            "z = (a >= 0) or z = (sigmoid(a) >= 0.5) instead of z = (a > 0)") {
        @Override
        RowsOutputs plant(AttentionInputs in, int[] rows, double[] dORows, RowsComputation c, Precision arithmetic) {
            AttentionInputs ties = MistakePlanting.tiesToFull(in);
            return ties == null ? null : RowsOutputs.of(c, ties, rows, dORows);
        }
    },
    ROUTE_PER_HEAD("route-per-head", "6", "the route applied per head: head h of token i takes the decision of "
            + "token (i*Hq + h) mod S",
            "the [B,S] route expanded to the heads with z.repeat(1, Hq).view(B, S, Hq) instead of z[:, :, None] (the "
                    + "route's own repeat/repeat_interleave confusion), or a per-(token, head) gate") {
        @Override
        RowsOutputs plant(AttentionInputs in, int[] rows, double[] dORows, RowsComputation c, Precision arithmetic) {
            return MistakePlanting.routePerHead(in, rows, dORows, c);
        }
    },
    SOFT_DELTA_ROUTED("soft-delta-routed", "8.1", "SOFT backward with Delta = <g, o> of the routed output o = p oF + "
            + "(1-p) oW instead of the branch output",
            "one FlashAttention backward per branch fed the routed forward's output (out=o) instead of that branch's "
                    + "output; the hard estimators hide it because there o = oZ") {
        @Override
        RowsOutputs plant(AttentionInputs in, int[] rows, double[] dORows, RowsComputation c, Precision arithmetic) {
            return MistakePlanting.softDeltaFromRoutedOutput(in, rows, dORows, c);
        }
    },
    TOP_LEFT("top-left", "2.1", "queries aligned top-left: query i of a segment sees its keys 0 .. i, not "
            + "0 .. kLen - qLen + i (bottom-right)",
            "PyTorch SDPA is_causal, xformers' LowerTriangularMask or the ONNX Attention docs used for chunked "
                    + "prefill or decode (Sq < Sk), where FlashAttention aligns bottom-right") {
        @Override
        RowsOutputs plant(AttentionInputs in, int[] rows, double[] dORows, RowsComputation c, Precision arithmetic) {
            return RowsOutputs.of(c, MistakePlanting.topLeft(in), rows, dORows);
        }
    },
    CROSSING_SEGMENTS("crossing-segments", "2.1", "attention crossing packed segments: a segment's queries also "
            + "see the keys of the segments before it in their batch row",
            "packed (varlen) sequences given one causal mask without a document mask: cu_seqlens not passed, or "
                    + "FlexAttention without the segment-id mask_mod") {
        @Override
        RowsOutputs plant(AttentionInputs in, int[] rows, double[] dORows, RowsComputation c, Precision arithmetic) {
            return MistakePlanting.crossingSegments(in, rows, dORows, c);
        }
    },
    ROUTER_GRADIENT_SUBTRACTION("router-gradient-subtraction", "10.2", "router gradient p(1-p) (SELECTED_BRANCH: "
            + "z - p) with 1 - p computed as 1 - fl(p): cancels as p -> 1 (zero for a > 36.7 in fp64, a > 16.6 in "
            + "fp32)",
            "autograd through torch.sigmoid (its backward computes y * (1 - y)), or 1 - p written by hand; "
                    + "non-conforming (SPEC.md 10.2): compute 1 - p as sigmoid(-a), in PyTorch "
                    + "p = exp(-softplus(-a))") {
        @Override
        RowsOutputs plant(AttentionInputs in, int[] rows, double[] dORows, RowsComputation c, Precision arithmetic) {
            return MistakePlanting.routerGradientBySubtraction(in, rows, RowsOutputs.of(c, in, rows, dORows),
                    arithmetic);
        }
    };

    private final String id;
    private final String section;
    private final String what;
    private final String cause;

    Mistake(String id, String section, String what, String cause) {
        this.id = id;
        this.section = section;
        this.what = what;
        this.cause = cause;
    }

    /** The stable id used by {@code --explain} and in SPEC.md section 10.1, e.g. "window-plus-one". */
    public String id() {
        return id;
    }

    /** The SPEC.md section whose rule the mistake breaks. */
    public String section() {
        return section;
    }

    /** What a candidate with this mistake computes. */
    public String what() {
        return what;
    }

    /** Its usual cause in real code. */
    public String cause() {
        return cause;
    }

    /** The mistake with this id; null if there is none. */
    public static Mistake byId(String id) {
        for (Mistake m : values()) {
            if (m.id.equals(id.toLowerCase(Locale.ROOT))) {
                return m;
            }
        }
        return null;
    }

    /**
     * The outputs of a computation with this mistake planted, at chosen rows.
     *
     * @param in     validated inputs; not modified
     * @param rows   [R] flat rows (strictly ascending when dORows is given); not modified
     * @param dORows [R,Hq,D] dO at the rows (the loss is restricted to them), or null for the forward only; not
     *               modified
     * @param c      the computation the mistake is planted into (the reference); not modified
     * @return the outputs, or null when the mistake cannot be expressed on these inputs (window-minus-one at w = 1,
     *         route-tie-to-full on a route without logits, causal-late and route-per-head beyond self-attention,
     *         crossing-segments at a subset of rows)
     */
    public RowsOutputs predict(AttentionInputs in, int[] rows, double[] dORows, RowsComputation c) {
        return predict(in, rows, dORows, c, Precision.FP64);
    }

    /**
     * {@link #predict(AttentionInputs, int[], double[], RowsComputation)} for a candidate computing in the given
     * precision, where the mistake's effect depends on it ({@link #precisionDependent}: 1 - fl(p) loses everything
     * once fl(p) = 1, at a &gt; 16.6 in fp32 but a &gt; 36.7 in fp64; bf16 candidates compute p in fp32).
     *
     * @param arithmetic the candidate's precision
     */
    public RowsOutputs predict(AttentionInputs in, int[] rows, double[] dORows, RowsComputation c,
                               Precision arithmetic) {
        in.checkRows(rows);
        if (dORows != null) {
            RowGradients.checkRows(in, rows, RowsOutputs.keyRows(in, rows));
            int want = rows.length * in.shape().qHeads() * in.shape().headDim();
            if (dORows.length != want) {
                throw new IllegalArgumentException("dORows: length must be R*Hq*D = " + want + ", got "
                        + dORows.length);
            }
        }
        if (!in.segments().isSelfAttention() && !segmentAware()) {
            return null;
        }
        return plant(in, rows, dORows, c, arithmetic);
    }

    /** Whether the planted outputs depend on the candidate's precision (router-gradient-subtraction). */
    public boolean precisionDependent() {
        return this == ROUTER_GRADIENT_SUBTRACTION;
    }

    /**
     * Whether the mistake can change anything on these inputs: false when it certainly cannot (a window change with
     * w >= S, GQA with G = 1 or Hkv = 1, a scale equal to the one planted, no logit a = 0, one head, an estimator
     * other than SOFT for soft-delta-routed, HARD for the router gradient). A true answer is no promise that the
     * outputs move beyond the tolerance.
     *
     * @param in validated inputs; not modified
     */
    public boolean canShowOn(AttentionInputs in) {
        org.swiattn.spec.Shape sh = in.shape();
        int s = sh.seqLen();
        return switch (this) {
            case WINDOW_PLUS_ONE -> in.window() < s;
            case WINDOW_MINUS_ONE -> in.window() > 1 && in.window() - 1 < s;
            case CAUSAL_LATE -> s > 1;
            case LSE_LOG2 -> true;
            case LSE_OTHER_BRANCH -> in.window() < s;
            case GQA_MODULO -> sh.groupSize() > 1 && sh.kvHeads() > 1;
            case SCALE_ONE_OVER_D -> in.scale() != 1.0 / sh.headDim();
            case SCALE_MISSING -> in.scale() != 1.0;
            case ROUTE_TIE_TO_FULL -> in.route().hasLogits() && java.util.Arrays.stream(in.route().logits())
                    .anyMatch(a -> a == 0.0);
            case ROUTE_PER_HEAD -> sh.qHeads() > 1 && in.route().fullCount() > 0
                    && in.route().fullCount() < sh.rows();
            case SOFT_DELTA_ROUTED -> in.estimator() == org.swiattn.spec.Estimator.SOFT;
            case TOP_LEFT -> java.util.stream.IntStream.range(0, in.segments().count())
                    .anyMatch(t -> in.segments().qLen(t) > 0 && in.segments().qLen(t) < in.segments().kLen(t));
            case CROSSING_SEGMENTS -> java.util.stream.IntStream.range(0, in.segments().count())
                    .anyMatch(t -> in.segments().qLen(t) > 0 && MistakePlanting.firstKeyOfRow(in.segments(), t,
                            sh.kvSeqLen()) < in.segments().kStart(t));
            case ROUTER_GRADIENT_SUBTRACTION -> in.estimator() != org.swiattn.spec.Estimator.HARD;
        };
    }

    /**
     * Whether the transform holds for any segments (spec 2.0) or only for self-attention (one segment per batch
     * row): causal-late and route-per-head count positions within a batch row.
     */
    boolean segmentAware() {
        return this != CAUSAL_LATE && this != ROUTE_PER_HEAD;
    }

    abstract RowsOutputs plant(AttentionInputs in, int[] rows, double[] dORows, RowsComputation c,
                               Precision arithmetic);

    /**
     * The computation with this mistake planted, as an implementation of the contract (for the property suite's
     * mutant test). Where the mistake cannot be expressed on some inputs it computes what c computes.
     *
     * @param c the computation, e.g. {@code new ReferenceAttention()}
     */
    public SwitchAttention planted(RowsComputation c) {
        Mistake m = this;
        // every segment table: c (the reference) computes them all; the mistake is planted where it can be
        return new Fp64Attention("planted-" + id) {
            @Override
            public ForwardResult forward(AttentionInputs in) {
                RowsResult r = forwardRows(in, RowsComputation.allRows(in.shape()));
                return new ForwardResult(in.shape(), r.o(), r.lse());
            }

            @Override
            public BackwardResult backward(AttentionInputs in, double[] dOut) {
                in.checkOutputGradient(dOut);
                int[] all = RowsComputation.allRows(in.shape());
                RowsOutputs out = m.predict(in, all, dOut, c);
                RowGradients g = out != null ? out.gradients()
                        : c.backwardRows(in, all, dOut, RowsOutputs.keyRows(in, all));
                return new BackwardResult(in.shape(), g.dq(), g.dk(), g.dv(), g.dA());
            }

            @Override
            public RowsResult forwardRows(AttentionInputs in, int[] rows) {
                RowsOutputs out = m.predict(in, rows, null, c);
                return out != null ? out.forward() : c.forwardRows(in, rows);
            }
        };
    }
}
