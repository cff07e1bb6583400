package org.swiattn.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.swiattn.cuda.bf16.Bf16Attention;
import org.swiattn.reference.NaiveAttention;
import org.swiattn.reference.PlainAttention;
import org.swiattn.reference.ReferenceAttention;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.Bf16;
import org.swiattn.spec.ErrorMeasures;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.InvalidInputException;
import org.swiattn.spec.Precision;
import org.swiattn.spec.Route;
import org.swiattn.spec.RowsResult;
import org.swiattn.spec.Segments;
import org.swiattn.spec.Shape;
import org.swiattn.spec.SwitchAttention;
import org.swiattn.spec.Tolerance;

/**
 * The routed decode (Sq = 1 against a KV cache, mixed cache lengths and routes in one launch) of every version
 * against the fp64 reference, before it is timed. Truth: decode row b equals the last row (position len_b - 1) of
 * a self-attention prefill over its cache's first len_b keys, so {@link ReferenceAttention#forwardRows} and
 * {@link NaiveAttention#forwardRows} of that prefill give the exact row and the naive yardstick of each precision;
 * {@link PlainAttention} on the decode inputs themselves (spec 2.0 kvCache segments) must agree with them. Cache
 * slots past each length hold NaN: a kernel that reads them fails. Each version runs three plans: the device's,
 * every (row, kv head) in one piece, and every one cut into single tiles (so both the direct write and the merge
 * run). fp64: normwise error within 1e-13 * max(1, M); fp32, bf16: the spec's rule (2 x naive + atol). GPU only
 * (skips with one line otherwise).
 */
@ExtendWith(CudaPresent.class)
class CudaDecodeTest {
    static final ReferenceAttention REF = new ReferenceAttention(true);

    /** One decode batch: shape (Sq = 1, Sk = capacity), cache lengths, window, route fraction, estimator. */
    record Case(Shape shape, int[] lens, int window, double rho, Estimator est) {
    }

    static final Case[] CASES = {
        new Case(new Shape(5, 1, 8, 2, 128, 300), new int[] {300, 1, 77, 200, 64}, 37, 0.5, Estimator.HARD),
        new Case(new Shape(3, 1, 32, 8, 128, 5000), new int[] {5000, 4097, 1500}, 1024, 0.5, Estimator.SOFT),
        new Case(new Shape(4, 1, 20, 1, 64, 130), new int[] {130, 129, 65, 2}, 1, 0.5, Estimator.HARD),
        new Case(new Shape(2, 1, 4, 4, 48, 200), new int[] {200, 150}, 300, 0.5, Estimator.STRAIGHT_THROUGH),
        new Case(new Shape(2, 1, 2, 1, 160, 100), new int[] {100, 37}, 16, 0.5, Estimator.SELECTED_BRANCH),
    };

    static double gauss(SplittableRandom rnd) {
        return Bf16.round(Math.sqrt(-2 * Math.log(1 - rnd.nextDouble())) * Math.cos(2 * Math.PI * rnd.nextDouble()));
    }

    /** Decode inputs: q, k, v ~ N(0,1) in bf16 values, NaN in every cache slot past the length; logits +-1.5. */
    static AttentionInputs inputs(long seed, Case c) {
        Shape sh = c.shape();
        SplittableRandom rnd = new SplittableRandom(seed);
        double[] q = new double[sh.qSize()];
        double[] k = new double[sh.kvSize()];
        double[] v = new double[sh.kvSize()];
        for (int n = 0; n < q.length; n++) {
            q[n] = gauss(rnd);
        }
        int rowLen = sh.kvHeads() * sh.headDim();
        for (int b = 0; b < sh.batch(); b++) {
            for (int j = 0; j < sh.kvSeqLen(); j++) {
                for (int e = 0; e < rowLen; e++) {
                    int n = (b * sh.kvSeqLen() + j) * rowLen + e;
                    k[n] = j < c.lens()[b] ? gauss(rnd) : Double.NaN;
                    v[n] = j < c.lens()[b] ? gauss(rnd) : Double.NaN;
                }
            }
        }
        double[] a = new double[sh.batch()];
        for (int b = 0; b < a.length; b++) {
            a[b] = (b % 2 == 0) == (c.rho() >= 0.5) ? 1.5 : -1.5;  // alternating full / window rows
        }
        return AttentionInputs.builder(sh).q(q).k(k).v(v).window(c.window()).route(Route.ofLogits(sh.batch(), 1, a))
                .estimator(c.est()).segments(Segments.kvCache(sh, c.lens())).build();
    }

    /** Decode row b as the last row of a self-attention prefill over its cache's first len_b keys. */
    static AttentionInputs prefillOf(AttentionInputs in, int b) {
        Shape sh = in.shape();
        int len = in.segments().kLen(b);
        Shape ps = new Shape(1, len, sh.qHeads(), sh.kvHeads(), sh.headDim());
        double[] q = new double[ps.qSize()];
        int qRow = sh.qHeads() * sh.headDim();
        System.arraycopy(in.q(), b * qRow, q, (len - 1) * qRow, qRow);
        int kvRow = sh.kvHeads() * sh.headDim();
        double[] k = new double[ps.kvSize()];
        double[] v = new double[ps.kvSize()];
        System.arraycopy(in.k(), b * sh.kvSeqLen() * kvRow, k, 0, len * kvRow);
        System.arraycopy(in.v(), b * sh.kvSeqLen() * kvRow, v, 0, len * kvRow);
        double[] a = new double[len];
        java.util.Arrays.fill(a, in.route().logit(b));
        return AttentionInputs.builder(ps).q(q).k(k).v(v).window(in.window()).scale(in.scale())
                .route(Route.ofLogits(1, len, a)).estimator(in.estimator()).build();
    }

    /** The rows of every decode row from a rows computation over its prefill: {o [B,Hq,D], lse [B,Hq]}. */
    static double[][] rowsOf(AttentionInputs in, java.util.function.BiFunction<AttentionInputs, int[], RowsResult> f) {
        Shape sh = in.shape();
        int qRow = sh.qHeads() * sh.headDim();
        double[] o = new double[sh.qSize()];
        double[] lse = new double[sh.lseSize()];
        for (int b = 0; b < sh.batch(); b++) {
            AttentionInputs p = prefillOf(in, b);
            RowsResult r = f.apply(p, new int[] {p.shape().seqLen() - 1});
            System.arraycopy(r.o(), 0, o, b * qRow, qRow);
            System.arraycopy(r.lse(), 0, lse, b * sh.qHeads(), sh.qHeads());
        }
        return new double[][] {o, lse};
    }

    /** max |scale <q, k_j>| over the visible keys of every row (the softmax's condition M). */
    static double scoreMagnitude(AttentionInputs in) {
        Shape sh = in.shape();
        int d = sh.headDim();
        int[][] r = DecodePlan.ranges(in, null);
        double m = 0;
        for (int b = 0; b < sh.batch(); b++) {
            for (int h = 0; h < sh.qHeads(); h++) {
                int g = h / (sh.qHeads() / sh.kvHeads());
                for (int j = r[0][b]; j < r[1][b]; j++) {
                    double s = 0;
                    for (int e = 0; e < d; e++) {
                        s += in.q()[(b * sh.qHeads() + h) * d + e] * in.k()[((b * sh.kvSeqLen() + j) * sh.kvHeads() + g) * d + e];
                    }
                    m = Math.max(m, Math.abs(s * in.scale()));
                }
            }
        }
        return m;
    }

    /** The decode of version ver[0] planned for the given number of resident blocks. */
    static ForwardResult planned(Object[] ver, AttentionInputs in, int slots) {
        Precision p = (Precision) ver[2];
        DecodeKernels.Version v = (DecodeKernels.Version) ver[3];
        int d = in.shape().headDim();
        int dp = p == Precision.BF16 ? (d <= 64 ? 64 : 128) : d;
        return CudaDecode.forward(org.swiattn.cuda.driver.CudaDevice.get(), p, v, in, dp, slots);
    }

    @Test
    void everyDecodeVersionMatchesTheReference() {
        List<String> report = new ArrayList<>();
        int checked = 0;
        long seed = 41;
        for (Case c : CASES) {
            AttentionInputs in = inputs(seed++, c);
            double[][] ref = rowsOf(in, REF::forwardRows);
            double m = scoreMagnitude(in);
            // the spec 2.0 reading of the same inputs agrees with the prefill rows
            ForwardResult plain = new PlainAttention().forward(in);
            assertThat(ErrorMeasures.normwiseRelative(plain.o(), ref[0])).as("plain vs reference rows %s", c)
                    .isLessThan(1e-13);
            List<Object[]> versions = new ArrayList<>();
            DecodeKernels.Version simt = DecodeKernels.Version.SIMT;
            versions.add(new Object[] {"fp64 simt", CudaAttention.create(Precision.FP64), Precision.FP64, simt});
            versions.add(new Object[] {"fp32 simt", CudaAttention.create(Precision.FP32), Precision.FP32, simt});
            if (c.shape().headDim() <= 128) {
                Bf16Attention bf = Bf16Attention.create();
                for (DecodeKernels.Version v : DecodeKernels.Version.values()) {
                    versions.add(new Object[] {"bf16 " + v.name().toLowerCase(java.util.Locale.ROOT),
                            bf.withDecode(v), Precision.BF16, v});
                }
            }
            for (Object[] ver : versions) {
                SwitchAttention gpu = (SwitchAttention) ver[1];
                Precision p = (Precision) ver[2];
                double boundO;
                double boundL;
                if (p == Precision.FP64) {
                    boundO = boundL = 1e-13 * Math.max(1, m);
                } else {
                    NaiveAttention naive = new NaiveAttention(p);
                    double[][] nv = rowsOf(in, naive::forwardRows);
                    boundO = Tolerance.judge(p, 0, ErrorMeasures.normwiseRelative(nv[0], ref[0]), m).bound();
                    boundL = Tolerance.judge(p, 0, ErrorMeasures.normwiseRelative(nv[1], ref[1]), m).bound();
                }
                // the device's plan, then every pair in one piece (1 slot), then every pair cut into single tiles
                for (int slots : new int[] {0, 1, 1 << 20}) {
                    ForwardResult got = slots == 0 ? gpu.forward(in) : planned(ver, in, slots);
                    double errO = ErrorMeasures.normwiseRelative(got.o(), ref[0]);
                    double errL = ErrorMeasures.normwiseRelative(got.lse(), ref[1]);
                    String line = String.format("%-10s slots %-7d %-40s lens=%s w=%d %-16s errO %.2e / %.2e  "
                            + "errLSE %.2e / %.2e", ver[0], slots, c.shape(), java.util.Arrays.toString(c.lens()),
                            c.window(), c.est(), errO, boundO, errL, boundL);
                    report.add(line);
                    assertThat(errO).as(line).isLessThanOrEqualTo(boundO);
                    assertThat(errL).as(line).isLessThanOrEqualTo(boundL);
                    if (ver[0].equals("bf16 mma") && slots == 0) {
                        assertThat(gpu.forward(in).o()).as("bit for bit run to run").isEqualTo(got.o());
                    }
                    checked++;
                }
            }
        }
        report.forEach(System.out::println);
        // (4 cases with D <= 128 x (fp64, fp32, bf16 SIMT, bf16 MMA) + the D = 160 case x (fp64, fp32)) x 3 plans
        assertThat(checked).isEqualTo((4 * 4 + 2) * 3);
    }

    @Test
    void tensorCoreKernelsExportTheSharedBytesTheLauncherPasses() {
        DecodeKernels kn = new DecodeKernels(org.swiattn.cuda.driver.CudaDevice.get(), Precision.BF16);
        int checked = 0;
        for (DecodeKernels.Version v : DecodeKernels.Version.values()) {
            for (int d : new int[] {64, 128}) {
                if (v.tensorCores()) {
                    assertThat(kn.mmaConfig(d)).as("%s d%d", v, d).containsExactly(16, DecodePlan.TILE,
                            DecodeKernels.THREADS, DecodeKernels.mmaSharedBytes(v, d));
                    checked++;
                }
            }
        }
        assertThat(checked).isEqualTo(2);
    }

    @Test
    void tablesWithoutAKernelAreRefusedClearly() {
        // segment tables run on the tiled kernels: D <= 256 in fp64 / fp32 (v1 beyond), D <= 128 in bf16
        Shape wideChunk = new Shape(2, 2, 2, 1, 300, 10);
        AttentionInputs widePrefill = AttentionInputs.builder(wideChunk).q(new double[wideChunk.qSize()])
                .k(new double[wideChunk.kvSize()]).v(new double[wideChunk.kvSize()]).window(4)
                .route(Route.allFull(2, 2)).segments(Segments.kvCache(wideChunk, new int[] {10, 5})).build();
        try (CudaAttention gpu = CudaAttention.create(Precision.FP64)) {
            assertThatThrownBy(() -> gpu.forward(widePrefill)).isInstanceOf(InvalidInputException.class)
                    .hasMessageContaining("headDim").hasMessageContaining("swi_fwd_v1_f64");
        }
        AttentionInputs wide = inputs(8, CASES[4]);
        assertThatThrownBy(() -> Bf16Attention.create().forward(wide)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("headDim").hasMessageContaining("160");
    }
}
