package org.swiattn.cuda.bf16;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.swiattn.cuda.CudaPresent;
import org.swiattn.cuda.driver.CudaDevice;
import org.swiattn.cuda.SegmentTable;
import org.swiattn.reference.NaiveAttention;
import org.swiattn.reference.ReferenceAttention;
import org.swiattn.reference.ScoreMagnitude;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.BackwardResult;
import org.swiattn.spec.Bf16;
import org.swiattn.spec.ErrorMeasures;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.InvalidInputException;
import org.swiattn.spec.Precision;
import org.swiattn.spec.Route;
import org.swiattn.spec.Segments;
import org.swiattn.spec.Shape;
import org.swiattn.spec.Tolerance;

/**
 * The bf16 backward (both kernel versions, every estimator) against the fp64 reference by the spec's low-precision
 * rule: for each of dQ, dK, dV and dL/da, normwise relative error at most 2 x the error of
 * {@link NaiveAttention}(BF16).backward on the same inputs + 1e-3 ({@link Tolerance#judge}). Host-side tests (launch
 * geometry, shared-memory mirrors, argument checks) run everywhere; GPU tests skip with one line without a device.
 */
class Bf16BackwardTest {
    static final ReferenceAttention REF = new ReferenceAttention(true);
    static final NaiveAttention NAIVE = new NaiveAttention(Precision.BF16);

    /** bf16-representable N(0,1) values. */
    static double[] normalBf16(SplittableRandom rnd, int n) {
        double[] x = new double[n];
        for (int t = 0; t < n; t++) {
            x[t] = Bf16.round(Math.sqrt(-2 * Math.log(1 - rnd.nextDouble())) * Math.cos(2 * Math.PI * rnd.nextDouble()));
        }
        return x;
    }

    /**
     * q, k, v ~ N(0,1) in bf16; router logits: positive with probability rho (so z = 1), magnitude 0.1..3, every
     * ninth logit exactly 0 when {@code 0 < rho < 1} (z = 0, p = 1/2).
     */
    static AttentionInputs inputs(long seed, Shape sh, int w, double rho, Estimator est) {
        SplittableRandom rnd = new SplittableRandom(seed);
        double[] a = new double[sh.rows()];
        for (int r = 0; r < a.length; r++) {
            double mag = 0.1 + 2.9 * rnd.nextDouble();
            a[r] = rnd.nextDouble() < rho ? mag : -mag;
            if (rho > 0 && rho < 1 && r % 9 == 4) {
                a[r] = 0.0;
            }
        }
        return AttentionInputs.builder(sh).q(normalBf16(rnd, sh.qSize())).k(normalBf16(rnd, sh.kvSize()))
                .v(normalBf16(rnd, sh.kvSize())).window(w).route(Route.ofLogits(sh.batch(), sh.seqLen(), a))
                .estimator(est).build();
    }

    @Test
    void sharedMemoryMirrorsFitAndGrowWithD() {
        // SIMT (the fp32 v2 layout): 4 fp32 tiles of 64 x (dp+4), P and dS tiles of 64 x 68, 2 row arrays, positions
        assertThat(Bf16Kernels.simtConfig(128).sharedBytes()).isEqualTo((4 * 64 * 132 + 2 * 64 * 68 + 128) * 4 + 256);
        assertThat(Bf16Kernels.simtConfig(64).sharedBytes()).isEqualTo((4 * 64 * 68 + 2 * 64 * 68 + 128) * 4 + 256);
        // tensor cores: 6 bf16 tiles of 64 x dp + 3 position slots + 2 x 3 row arrays of 64 words
        assertThat(Bf16Kernels.mmaSharedBytes(128)).isEqualTo(98304 + 2304);
        assertThat(Bf16Kernels.mmaSharedBytes(64)).isEqualTo(49152 + 2304);
        // two blocks per SM at D = 128 (228 KB per SM, 1 KB reserved per block)
        assertThat(2 * (Bf16Kernels.mmaSharedBytes(128) + 1024)).isLessThanOrEqualTo(228 * 1024);
        // wgmma: the same layout on a 1024-aligned base, still two blocks per SM
        assertThat(Bf16Kernels.BackwardVersion.WGMMA.sharedBytes(128)).isEqualTo(98304 + 2304 + 1024);
        assertThat(Bf16Kernels.BackwardVersion.MMA.sharedBytes(128)).isEqualTo(Bf16Kernels.mmaSharedBytes(128));
        assertThat(2 * (Bf16Kernels.BackwardVersion.WGMMA.sharedBytes(128) + 1024)).isLessThanOrEqualTo(228 * 1024);
        for (int dp : new int[] {64, 128}) {
            assertThat(Bf16Kernels.simtConfig(dp).sharedBytes()).isLessThanOrEqualTo(227 * 1024);
            assertThat(Bf16Kernels.mmaSharedBytes(dp)).isLessThanOrEqualTo(227 * 1024);
        }
    }

    @Test
    void queryGridHoldsEveryTileOfEverySplit() {
        // for every split of S tokens into nF full and S - nF window tokens, the full and window tiles of 64 fit
        // in the (ceil(S/64) + 1) * Hq * B blocks of a dQ launch; dK/dV has one block per key tile
        for (int s : new int[] {1, 63, 64, 65, 200, 4096}) {
            Bf16Kernels.Dims d = new Bf16Kernels.Dims(2, s, 3, 1, 64);
            long perHead = Bf16Kernels.queryBlocks(d) / (2 * 3);
            for (int nf = 0; nf <= s; nf++) {
                long tiles = (nf + 63) / 64 + (s - nf + 63) / 64;
                assertThat(tiles).as("S=%d nF=%d", s, nf).isLessThanOrEqualTo(perHead);
            }
            assertThat(Bf16Kernels.mmaKeyBlocks(d) * 64).isGreaterThanOrEqualTo((long) s * 2)
                    .isLessThan((long) (s + 64) * 2);
        }
    }

    @Test
    void segmentGridsHoldEveryTileOfEverySegment() {
        // over a segment table (packed, qLen < kLen, one empty segment) the tensor-core grids are sized by the
        // longest segment: per (head, segment) ceil(max qLen/64) + 1 dQ blocks hold the full and window tiles of
        // every split of every segment's queries; dK/dV one block per key tile of the longest segment
        Shape packed = new Shape(1, 300, 4, 2, 64, 470);
        Segments segments = Segments.packed(packed, new int[] {0, 1, 1, 130, 300}, new int[] {0, 5, 70, 265, 470});
        SegmentTable t = SegmentTable.of(segments);
        Bf16Kernels.Dims d = new Bf16Kernels.Dims(1, 300, 4, 2, 64, 470);
        long perEntry = Bf16Kernels.queryBlocks(d, t) / (4L * t.count());
        assertThat(perEntry * 4 * t.count()).isEqualTo(Bf16Kernels.queryBlocks(d, t));
        long keyTiles = Bf16Kernels.mmaKeyBlocks(d, t) / (2L * t.count());
        assertThat(keyTiles * 2 * t.count()).isEqualTo(Bf16Kernels.mmaKeyBlocks(d, t));
        for (int s = 0; s < t.count(); s++) {
            int qLen = segments.qLen(s);
            for (int nf = 0; nf <= qLen; nf++) {
                long tiles = (nf + 63) / 64 + (qLen - nf + 63) / 64;
                assertThat(tiles).as("segment %d nF=%d", s, nf).isLessThanOrEqualTo(perEntry);
            }
            assertThat(keyTiles * 64).as("segment %d", s).isGreaterThanOrEqualTo(segments.kLen(s));
        }
        assertThat((keyTiles - 1) * 64).isLessThan(t.maxKeys());  // no key tile past the longest segment
    }

    @Test
    void dimsRejectUnpaddedHeadDims() {
        assertThatThrownBy(() -> new Bf16Kernels.Dims(1, 8, 2, 1, 96)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("headDim").hasMessageContaining("96");
        Bf16Kernels.Dims d = new Bf16Kernels.Dims(2, 100, 8, 2, 128);
        assertThat(d.qElems()).isEqualTo(2L * 100 * 8 * 128);
        assertThat(d.kvElems()).isEqualTo(2L * 100 * 2 * 128);
    }

    /** One case of the GPU check: shape, window, full fraction. */
    record Case(Shape shape, int window, double rho) {
    }

    /** The inputs, reference and naive results of one (case, estimator). */
    record Prepared(String label, AttentionInputs in, double[] dOut, BackwardResult ref, BackwardResult naive,
                    double m) {
    }

    /** On a GPU. */
    @Nested
    @ExtendWith(CudaPresent.class)
    class OnGpu {
        /** Shapes: GQA 4/2/1, B = 2, odd S and tile edges, w = 1, {@code w >= S}, all-full, all-window, D padded. */
        final List<Case> cases = List.of(
                new Case(new Shape(1, 300, 8, 2, 128), 64, 0.3), new Case(new Shape(2, 200, 4, 4, 128), 1, 0.5),
                new Case(new Shape(1, 257, 4, 1, 128), 1000, 0.5), new Case(new Shape(1, 192, 4, 2, 64), 33, 1.0),
                new Case(new Shape(1, 192, 4, 2, 64), 33, 0.0), new Case(new Shape(1, 130, 4, 2, 32), 17, 0.4),
                new Case(new Shape(2, 150, 4, 2, 96), 40, 0.6), new Case(new Shape(1, 65, 2, 1, 1), 5, 0.5),
                new Case(new Shape(1, 129, 4, 2, 128), 64, 0.25));

        /** Reference and naive backward of every (case, estimator), computed in parallel on the CPU. */
        List<Prepared> prepare() {
            List<Object[]> jobs = new ArrayList<>();
            long seed = 101;
            for (Case c : cases) {
                for (Estimator e : Estimator.values()) {
                    jobs.add(new Object[] {c, e, seed++});
                }
            }
            return IntStream.range(0, jobs.size()).parallel().mapToObj(n -> {
                Case c = (Case) jobs.get(n)[0];
                Estimator e = (Estimator) jobs.get(n)[1];
                long seed0 = (Long) jobs.get(n)[2];
                AttentionInputs in = inputs(seed0, c.shape(), c.window(), c.rho(), e);
                double[] dOut = normalBf16(new SplittableRandom(seed0 + 7777), c.shape().qSize());
                String label = String.format("%-26s w=%-4d rho=%.2f %-16s", c.shape(), c.window(), c.rho(), e);
                return new Prepared(label, in, dOut, REF.backward(in, dOut), NAIVE.backward(in, dOut),
                        ScoreMagnitude.max(in));
            }).toList();
        }

        @Test
        void everyEstimatorAndVersionMeetsTheLowPrecisionRule() {
            List<Prepared> prepared = prepare();
            List<String> report = new ArrayList<>();
            List<String> failures = new ArrayList<>();
            double[] worstRatio = new double[Bf16Kernels.BackwardVersion.values().length];
            Bf16Attention base = Bf16Attention.create();
            List<Bf16Kernels.BackwardVersion> versions = runnable();
            assertThat(versions).as("versions walked").hasSize(CudaDevice.get().computeCapability() == 90 ? 3 : 2);
            for (Bf16Kernels.BackwardVersion ver : versions) {  // pass 1: versions
                Bf16Attention gpu = base.withBackward(ver);
                for (Prepared p : prepared) {                                                // pass 2: cases
                    BackwardResult got = gpu.backward(p.in(), p.dOut());
                    StringBuilder line = new StringBuilder(String.format("%-4s %s", ver, p.label()));
                    String[] names = {"dQ", "dK", "dV", "dA"};
                    double[][] g = {got.dq(), got.dk(), got.dv(), got.dRouterLogit()};
                    double[][] r = {p.ref().dq(), p.ref().dk(), p.ref().dv(), p.ref().dRouterLogit()};
                    double[][] nv = {p.naive().dq(), p.naive().dk(), p.naive().dv(), p.naive().dRouterLogit()};
                    for (int t = 0; t < 4; t++) {                                            // pass 3: tensors
                        for (double x : g[t]) {
                            assertThat(Double.isFinite(x)).as("%s %s %s finite", ver, p.label(), names[t]).isTrue();
                        }
                        if (t == 3 && p.in().estimator() == Estimator.HARD) {
                            for (double x : g[t]) {
                                assertThat(x).as("HARD dRouterLogit").isZero();
                            }
                            continue;
                        }
                        double err = ErrorMeasures.normwiseRelative(g[t], r[t]);
                        double errNaive = ErrorMeasures.normwiseRelative(nv[t], r[t]);
                        Tolerance.Verdict v = Tolerance.judge(Precision.BF16, err, errNaive, p.m());
                        line.append(String.format(" %s %.2e/%.2e%s", names[t], err, v.bound(), v.pass() ? "" : " FAIL"));
                        worstRatio[ver.ordinal()] = Math.max(worstRatio[ver.ordinal()], err / v.bound());
                        if (!v.pass()) {
                            failures.add(ver + " " + p.label() + " " + names[t] + " err " + err + " > " + v.bound());
                        }
                    }
                    report.add(line.toString());
                }
            }
            System.out.println("bf16 backward vs reference (err/bound per tensor; bound = 2 x naive bf16 + 1e-3):");
            report.forEach(System.out::println);
            for (Bf16Kernels.BackwardVersion ver : versions) {
                System.out.printf("worst err/bound %s: %.3f%n", ver, worstRatio[ver.ordinal()]);
            }
            assertThat(failures).isEmpty();
        }

        /** The backward versions this device runs (WGMMA on compute capability 9.0 only). */
        private List<Bf16Kernels.BackwardVersion> runnable() {
            int cc = CudaDevice.get().computeCapability();
            return java.util.Arrays.stream(Bf16Kernels.BackwardVersion.values()).filter(v -> v.runsOn(cc)).toList();
        }

        /** got holds want's bits in dQ, dK, dV and dA. */
        private static void assertSameBits(String what, BackwardResult got, BackwardResult want) {
            assertThat(got.dq()).as("%s: dQ", what).isEqualTo(want.dq());
            assertThat(got.dk()).as("%s: dK", what).isEqualTo(want.dk());
            assertThat(got.dv()).as("%s: dV", what).isEqualTo(want.dv());
            assertThat(got.dRouterLogit()).as("%s: dA", what).isEqualTo(want.dRouterLogit());
        }

        /** dQ, dK and dV of x within 1e-2 of y's (normwise). */
        private static void assertClose(String what, BackwardResult x, BackwardResult y) {
            assertThat(ErrorMeasures.normwiseRelative(x.dq(), y.dq())).as("%s: dQ", what).isLessThan(1e-2);
            assertThat(ErrorMeasures.normwiseRelative(x.dk(), y.dk())).as("%s: dK", what).isLessThan(1e-2);
            assertThat(ErrorMeasures.normwiseRelative(x.dv(), y.dv())).as("%s: dV", what).isLessThan(1e-2);
        }

        @Test
        void backwardIsBitwiseDeterministicAndVersionsAgree() {
            Shape sh = new Shape(2, 300, 8, 2, 128);
            for (Estimator e : new Estimator[] {Estimator.STRAIGHT_THROUGH, Estimator.SOFT}) {
                AttentionInputs in = inputs(5 + e.ordinal(), sh, 100, 0.3, e);
                double[] dOut = normalBf16(new SplittableRandom(9), sh.qSize());
                Bf16Attention mma = Bf16Attention.create().withBackward(Bf16Kernels.BackwardVersion.MMA)
                        .withBackwardStreams(1);
                Bf16Attention simt = mma.withBackward(Bf16Kernels.BackwardVersion.SIMT);
                BackwardResult a = mma.backward(in, dOut);
                BackwardResult b = mma.backward(in, dOut);
                BackwardResult c = simt.backward(in, dOut);
                BackwardResult c2 = simt.backward(in, dOut);
                // dK/dV and dQ concurrently on two streams (the default) against one stream: the same bits
                assertSameBits("MMA on two streams", mma.withBackwardStreams(2).backward(in, dOut), a);
                assertSameBits("MMA run to run", b, a);
                assertSameBits("SIMT run to run", c2, c);
                // the versions differ only in the rounding of P and dS (bf16 operands of the MMA products)
                assertClose("MMA vs SIMT", a, c);
                if (Bf16Kernels.BackwardVersion.WGMMA.runsOn(CudaDevice.get().computeCapability())) {
                    // wgmma: the same roundings of P and dS as MMA; the order of the sums inside its products is the
                    // hardware's, so only closeness is asserted
                    Bf16Attention wg = mma.withBackward(Bf16Kernels.BackwardVersion.WGMMA);
                    BackwardResult x = wg.backward(in, dOut);
                    assertSameBits("WGMMA run to run, two streams", wg.withBackwardStreams(2).backward(in, dOut), x);
                    assertClose("WGMMA vs MMA", x, a);
                }
            }
        }

        @Test
        void rejectsBadOutputGradients() {
            Bf16Attention gpu = Bf16Attention.create();
            AttentionInputs in = inputs(1, new Shape(1, 8, 2, 1, 64), 4, 0.5, Estimator.HARD);
            assertThatThrownBy(() -> gpu.backward(in, new double[3])).isInstanceOf(InvalidInputException.class)
                    .hasMessageContaining("dOut");
        }
    }
}
