package org.swiattn.golden;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.swiattn.reference.NaiveAttention;
import org.swiattn.reference.ReferenceAttention;
import org.swiattn.reference.RowGradients;
import org.swiattn.reference.ScoreMagnitude;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.BackwardResult;
import org.swiattn.spec.ErrorMeasures;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.Precision;
import org.swiattn.spec.Route;
import org.swiattn.spec.RowsResult;
import org.swiattn.spec.Segments;
import org.swiattn.spec.Shape;
import org.swiattn.spec.SpecVersion;
import org.swiattn.spec.Visibility;

/**
 * Computes golden cases with the fp64 reference (and the naive errors of the tolerance rule).
 *
 * <p>WHOLE cases: {@code ReferenceAttention.forward} and {@code backward} on the whole inputs; naive errors from
 * {@code NaiveAttention} in fp32 and bf16. SAMPLED (32K, and suite-2 production-shape) cases:
 * <pre>
 *   rows, key_rows        suite 1: {@link CaseInputs#sampledRows} for both; suite 2: {@link SampledRows}
 *   o_rows, lse_rows      ReferenceAttention.forwardRows at the sampled rows (all heads)
 *   lse_all [B,Sq]        LSE of every row for one query head: the reference's forwardRows on the one-head problem
 *                         (q of that head, k and v of its kv head), each row on its routed branch
 *   dq_rows, dk_rows, dv_rows, d_router_logit_rows
 *                         ReferenceAttention.backwardRows for dO = golden("do") on the sampled rows, zero
 *                         elsewhere (bit for bit the whole backward's values at those rows), dK and dV at key_rows
 *   naive errors          {@code NaiveAttention.forwardRows / backwardRows} at the sampled rows; lse_all
 *                         uses the naive error of lse_rows (the naive forward of all 32K rows costs hours)
 *   score magnitude       the bound scale * max_i |q_i| * max_j |k_j| (Cauchy-Schwarz; k over the key rows inside
 *                         segments) instead of the exact max |s_ij|, which costs a whole forward pass
 * </pre>
 */
public final class GoldenGenerator {
    /** Version of the generator: changes when the same case would produce different bytes. */
    public static final String GENERATOR_VERSION = "1";
    /** The spec version of the values of suite-2 cases (segments): their metadata {@code spec_version}. */
    public static final String SPEC_VERSION_V2 = "2.0";
    /** Name of the input generator in metadata. */
    public static final String INPUTS = "splitmix64-bf16-v1";
    /** The low precisions whose naive errors are stored. */
    public static final List<Precision> NAIVE_PRECISIONS = List.of(Precision.FP32, Precision.BF16);

    private final boolean naive;
    private final Progress progress;

    /**
     * @param naive    whether to compute the naive errors (verify may skip them)
     * @param progress receives progress of the long phases
     */
    public GoldenGenerator(boolean naive, Progress progress) {
        this.naive = naive;
        this.progress = progress;
    }

    /** Computes one case. */
    public CaseData compute(CaseSpec c) {
        CaseData data = new CaseData(c);
        AttentionInputs in = CaseInputs.inputs(c);
        metadata(c, in, data);
        Route route = in.route();
        Shape sh = c.shape();
        long[] z = new long[sh.rows()];
        for (int r = 0; r < z.length; r++) {
            z[r] = route.isFull(r) ? 1 : 0;
        }
        data.put(GTensor.ints("route", Dtype.U8, z, sh.batch(), sh.seqLen()));
        data.put(GTensor.f64("router_logits", route.logits(), sh.batch(), sh.seqLen()));
        for (GTensor t : c.segments().tensors()) {
            data.put(t);
        }
        if (c.whole()) {
            whole(c, in, data);
        } else {
            sampled(c, in, data);
        }
        return data;
    }

    private static void metadata(CaseSpec c, AttentionInputs in, CaseData data) {
        Shape sh = c.shape();
        boolean v2 = c.version() == 2;
        data.put("format", "swiattn-golden");
        data.put("format_version", v2 ? "2" : "1");
        data.put("spec_version", v2 ? SPEC_VERSION_V2 : SpecVersion.VALUES);
        data.put("generator_version", GENERATOR_VERSION);
        data.put("tcId", Integer.toString(c.tcId()));
        data.put("name", c.name());
        data.put("kind", c.kind().name().toLowerCase(Locale.ROOT));
        data.put("flags", String.join(",", c.flags()));
        data.put("comment", c.comment());
        data.put("B", Integer.toString(sh.batch()));
        data.put("S", Integer.toString(sh.seqLen()));
        data.put("Hq", Integer.toString(sh.qHeads()));
        data.put("Hkv", Integer.toString(sh.kvHeads()));
        data.put("D", Integer.toString(sh.headDim()));
        if (v2) {
            data.put("Sk", Integer.toString(sh.kvSeqLen()));
            data.put("segments", c.segments().form().metadataName());
            data.put("segment_count", Integer.toString(in.segments().count()));
            data.put("unused_kv", c.segments().unusedKv());
        }
        data.put("window", Integer.toString(c.window()));
        data.put("scale", Double.toString(in.scale()));
        data.put("estimator", c.estimator().name());
        data.put("route_kind", c.route().name());
        data.put("full_rows", Integer.toString(in.route().fullCount()));
        data.put("inputs", INPUTS);
        data.put("seed", Long.toUnsignedString(c.seed()));
        data.put("amp_q", Double.toString(c.ampQ()));
        data.put("amp_k", Double.toString(c.ampK()));
        data.put("amp_v", Double.toString(c.ampV()));
        data.put("amp_do", Double.toString(c.ampDo()));
        data.put("backward", Boolean.toString(c.backward()));
        data.put("do_rows", c.whole() ? "all" : "rows");
        if (!c.whole()) {
            data.put("lse_all_head", Integer.toString(c.lseHead()));
        }
    }

    private void whole(CaseSpec c, AttentionInputs in, CaseData data) {
        Shape sh = c.shape();
        ReferenceAttention ref = new ReferenceAttention();
        progress.update("forward", 0, 1);
        ForwardResult f = ref.forward(in);
        double m = ScoreMagnitude.max(in);
        data.put("score_magnitude", Double.toString(m));
        data.put("score_magnitude_kind", "exact");
        data.put(GTensor.f64("o", f.o(), sh.batch(), sh.seqLen(), sh.qHeads(), sh.headDim()));
        data.put(GTensor.f64("lse", f.lse(), sh.batch(), sh.seqLen(), sh.qHeads()));
        BackwardResult g = null;
        double[] dOut = null;
        if (c.backward()) {
            progress.update("backward", 0, 1);
            dOut = CaseInputs.dOut(c, null);
            g = ref.backward(in, dOut);
            data.put(GTensor.f64("dq", g.dq(), sh.batch(), sh.seqLen(), sh.qHeads(), sh.headDim()));
            data.put(GTensor.f64("dk", g.dk(), sh.batch(), sh.kvSeqLen(), sh.kvHeads(), sh.headDim()));
            data.put(GTensor.f64("dv", g.dv(), sh.batch(), sh.kvSeqLen(), sh.kvHeads(), sh.headDim()));
            data.put(GTensor.f64("d_router_logit", g.dRouterLogit(), sh.batch(), sh.seqLen()));
        }
        if (!naive) {
            return;
        }
        for (Precision p : NAIVE_PRECISIONS) {
            NaiveAttention na = new NaiveAttention(p);
            progress.update("naive " + tag(p) + " forward", 0, 1);
            ForwardResult nf = na.forward(in);
            naiveError(data, p, "o", nf.o(), f.o());
            naiveError(data, p, "lse", nf.lse(), f.lse());
            if (c.backward()) {
                progress.update("naive " + tag(p) + " backward", 0, 1);
                BackwardResult nb = na.backward(in, dOut);
                naiveError(data, p, "dq", nb.dq(), g.dq());
                naiveError(data, p, "dk", nb.dk(), g.dk());
                naiveError(data, p, "dv", nb.dv(), g.dv());
                naiveError(data, p, "d_router_logit", nb.dRouterLogit(), g.dRouterLogit());
            }
        }
    }

    private void sampled(CaseSpec c, AttentionInputs in, CaseData data) {
        Shape sh = c.shape();
        boolean v2 = c.version() == 2;
        int[] rows = v2 ? SampledRows.queryRows(c, in.segments(), in.route()) : CaseInputs.sampledRows(c, in.route());
        int[] keyRows = v2 ? SampledRows.keyRows(c, in.segments(), rows) : rows;
        int r = rows.length;
        ReferenceAttention ref = new ReferenceAttention();
        data.put("score_magnitude", Double.toString(scoreBound(in)));
        data.put("score_magnitude_kind", "cauchy_schwarz_bound");
        data.put(GTensor.ints("rows", Dtype.I64, longs(rows), r));
        if (v2) {
            data.put(GTensor.ints("key_rows", Dtype.I64, longs(keyRows), keyRows.length));
        }
        progress.update("forward rows", 0, 1);
        RowsResult fr = ref.forwardRows(in, rows);
        data.put(GTensor.f64("o_rows", fr.o(), r, sh.qHeads(), sh.headDim()));
        data.put(GTensor.f64("lse_rows", fr.lse(), r, sh.qHeads()));
        data.put(GTensor.f64("lse_all", lseAllRows(c, in, c.lseHead()), sh.batch(), sh.seqLen()));
        RowGradients g = null;
        double[] dORows = null;
        if (c.backward()) {
            progress.update("backward rows", 0, 1);
            dORows = CaseInputs.dOutRows(c, rows);
            g = ref.backwardRows(in, rows, dORows, keyRows);
            data.put(GTensor.f64("dq_rows", g.dq(), r, sh.qHeads(), sh.headDim()));
            data.put(GTensor.f64("dk_rows", g.dk(), keyRows.length, sh.kvHeads(), sh.headDim()));
            data.put(GTensor.f64("dv_rows", g.dv(), keyRows.length, sh.kvHeads(), sh.headDim()));
            data.put(GTensor.f64("d_router_logit_rows", g.dA(), r));
        }
        if (!naive) {
            return;
        }
        for (Precision p : NAIVE_PRECISIONS) {
            NaiveAttention na = new NaiveAttention(p);
            progress.update("naive " + tag(p) + " rows", 0, 1);
            RowsResult nf = na.forwardRows(in, rows);
            naiveError(data, p, "o_rows", nf.o(), fr.o());
            double e = naiveError(data, p, "lse_rows", nf.lse(), fr.lse());
            data.put("naive_error." + tag(p) + ".lse_all", Double.toString(e));
            if (c.backward()) {
                progress.update("naive " + tag(p) + " backward rows", 0, 1);
                RowGradients nb = na.backwardRows(in, rows, dORows, keyRows);
                naiveError(data, p, "dq_rows", nb.dq(), g.dq());
                naiveError(data, p, "dk_rows", nb.dk(), g.dk());
                naiveError(data, p, "dv_rows", nb.dv(), g.dv());
                naiveError(data, p, "d_router_logit_rows", nb.dA(), g.dA());
            }
        }
    }

    /**
     * LSE of every row for query head h on the case's route: lse_all[r] = z_r ? lseF[r] : lseW[r], each branch
     * computed by the reference on the one-head problem q[:, :, h], k[:, :, h/G], v[:, :, h/G] (heads are
     * independent), for the rows that need it only, in chunks with progress. Branch LSEs are cached per row by
     * (inputs, head, branch, window): the 32K cases share their inputs and their routes are nested (the full rows
     * of the 10% route are among those of the 25% route, and so on), so the full branch, the expensive one, is
     * computed once for the union of full rows (half the rows) across the six cases.
     *
     * @return [B,S]
     */
    double[] lseAllRows(CaseSpec c, AttentionInputs in, int head) {
        Route route = in.route();
        double[] lseF = branchLse(c, in, head, true, route::isFull);
        double[] lseW = branchLse(c, in, head, false, r -> !route.isFull(r));
        double[] lse = new double[lseF.length];
        for (int r = 0; r < lse.length; r++) {
            lse[r] = route.isFull(r) ? lseF[r] : lseW[r];
        }
        return lse;
    }

    /** Cached branch LSEs [B*S] (NaN where not computed yet). */
    private final Map<String, double[]> branchCache = new HashMap<>();

    private double[] branchLse(CaseSpec c, AttentionInputs in, int head, boolean full,
                               java.util.function.IntPredicate needed) {
        Shape sh = in.shape();
        String key = c.seed() + "/" + sh + "/" + c.ampQ() + "/" + c.ampK() + "/" + c.ampV() + "/" + in.scale() + "/h"
                + head + (full ? "/full" : "/w" + in.window()) + "/" + in.segments();
        double[] lse = branchCache.computeIfAbsent(key, k -> {
            double[] x = new double[sh.rows()];
            java.util.Arrays.fill(x, Double.NaN);
            return x;
        });
        // pass 1: the rows still missing, and their work in visible (query, key) pairs
        int[] missing = java.util.stream.IntStream.range(0, sh.rows())
                .filter(r -> needed.test(r) && Double.isNaN(lse[r])).toArray();
        if (missing.length == 0) {
            return lse;
        }
        Segments seg = in.segments();
        long total = 0;
        for (int r : missing) {
            total += Visibility.keyCount(seg.position(r), full, in.window());
        }
        // pass 2: the one-head problem (same segments: the flat rows are the same)
        Shape one = new Shape(sh.batch(), sh.seqLen(), 1, 1, sh.headDim(), sh.kvSeqLen());
        int dim = sh.headDim();
        int g = sh.kvHeadOf(head);
        double[] q = new double[one.qSize()];
        double[] k = new double[one.kvSize()];
        double[] v = new double[one.kvSize()];
        for (int r = 0; r < sh.rows(); r++) {
            System.arraycopy(in.q(), sh.qRowOffset(r, head), q, r * dim, dim);
        }
        for (int kr = 0; kr < sh.kvRows(); kr++) {
            System.arraycopy(in.k(), sh.kvRowOffset(kr, g), k, kr * dim, dim);
            System.arraycopy(in.v(), sh.kvRowOffset(kr, g), v, kr * dim, dim);
        }
        Route route = full ? Route.allFull(sh.batch(), sh.seqLen()) : Route.allWindow(sh.batch(), sh.seqLen());
        AttentionInputs oneIn = AttentionInputs.builder(one).q(q).k(k).v(v).window(in.window()).scale(in.scale())
                .route(route).estimator(Estimator.HARD).segments(c.segments().of(one)).build();
        ReferenceAttention ref = new ReferenceAttention();
        String label = "lse head " + head + (full ? " full branch" : " window branch");
        // pass 3: the missing rows in chunks; progress counts pairs, the unit of work
        long done = 0;
        int chunk = 512;
        for (int start = 0; start < missing.length; start += chunk) {
            progress.update(label, done, total);
            int[] rows = java.util.Arrays.copyOfRange(missing, start, Math.min(missing.length, start + chunk));
            double[] part = ref.forwardRows(oneIn, rows).lse();
            for (int t = 0; t < rows.length; t++) {
                lse[rows[t]] = part[t];
                done += Visibility.keyCount(seg.position(rows[t]), full, in.window());
            }
        }
        progress.update(label, total, total);
        return lse;
    }

    /**
     * scale * max_i |q_i| * max_j |k_j| over all query rows and heads and the key rows inside segments (the others
     * are never read and may be NaN): an upper bound of max |s_ij|.
     */
    static double scoreBound(AttentionInputs in) {
        Shape sh = in.shape();
        Segments seg = in.segments();
        int dim = sh.headDim();
        int kvRow = sh.kvHeads() * dim;
        double mq = 0;
        double mk = 0;
        for (int off = 0; off < in.q().length; off += dim) {
            mq = Math.max(mq, norm(in.q(), off, dim));
        }
        for (int s = 0; s < seg.count(); s++) {
            for (int off = seg.kStart(s) * kvRow; off < (seg.kStart(s) + seg.kLen(s)) * kvRow; off += dim) {
                mk = Math.max(mk, norm(in.k(), off, dim));
            }
        }
        return in.scale() * mq * mk * (1 + 1e-12);
    }

    private static long[] longs(int[] x) {
        return java.util.Arrays.stream(x).asLongStream().toArray();
    }

    private static double norm(double[] x, int off, int n) {
        double s = 0;
        for (int d = 0; d < n; d++) {
            s += x[off + d] * x[off + d];
        }
        return Math.sqrt(s);
    }

    private static double naiveError(CaseData data, Precision p, String tensor, double[] naive, double[] ref) {
        double e = ErrorMeasures.normwiseRelative(naive, ref);
        data.put("naive_error." + tag(p) + "." + tensor, Double.toString(e));
        return e;
    }

    /** "fp32" / "bf16" / "fp64": the precision names of metadata and of the candidate's {@code precision} key. */
    public static String tag(Precision p) {
        return p.name().toLowerCase(Locale.ROOT);
    }

    /** The precision of a tag ("fp64", "fp32", "bf16"), or null. */
    public static Precision precisionOf(String tag) {
        for (Precision p : Precision.values()) {
            if (tag(p).equals(tag)) {
                return p;
            }
        }
        return null;
    }

    /** The output tensors of a case that a candidate is compared on, in file order. */
    public static List<String> outputTensors(CaseSpec c) {
        List<String> out = new ArrayList<>();
        if (c.whole()) {
            out.addAll(List.of("o", "lse"));
            if (c.backward()) {
                out.addAll(List.of("dq", "dk", "dv", "d_router_logit"));
            }
        } else {
            out.addAll(List.of("o_rows", "lse_rows", "lse_all"));
            if (c.backward()) {
                out.addAll(List.of("dq_rows", "dk_rows", "dv_rows", "d_router_logit_rows"));
            }
        }
        return out;
    }

    /** Whether a golden output tensor is a gradient (skipped by forward-only checks). */
    public static boolean isGradient(String tensor) {
        return tensor.startsWith("d");
    }
}
