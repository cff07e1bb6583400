package org.swiattn.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.swiattn.cuda.BackwardOperands;
import org.swiattn.cuda.DeviceTensors;
import org.swiattn.cuda.RouteCompaction;
import org.swiattn.cuda.SegmentTable;
import org.swiattn.cuda.bf16.Bf16Attention;
import org.swiattn.cuda.bf16.Bf16Kernels;
import org.swiattn.cuda.driver.CudaDevice;
import org.swiattn.cuda.driver.DeviceBuffer;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.ErrorMeasures;
import org.swiattn.spec.Precision;
import org.swiattn.spec.Segments;
import org.swiattn.spec.Shape;

/**
 * The bf16 rows of {@code swiattn bench --mode CHUNK} and {@code --mode VARLEN} ({@link SegmentBench}): the segment
 * path of {@link Bf16Attention} on device-resident bf16 tensors generated on the GPU, timed by {@link BenchTiming}
 * (no host transfer inside a timed region). Shape letters: Sq query rows, Sk key rows, Hq, Hkv, D (= dp: 64 or
 * 128, no padding).
 *
 * <pre>{@code
 *   segment path  forward: the kernel <variant>_seg of segmentVariantFor (the default instance: wgmma on Hopper,
 *                 mma.sync where its grid would not fill the device once, e.g. a 512-row chunk; VARLEN also times
 *                 the <variant>_seg of every other --bf16-forward version); backward (the default, Bf16Attention's
 *                 MMA version): delta + tensor-core dK/dV _seg + dQ _seg (bf16); beside it the SIMT version: delta +
 *                 SIMT dK/dV _seg + SIMT dQ _seg into fp32 + bf16 rounding
 *   CHUNK         chunk   the --chunk rows at the end of the --cache keys (bottom-right table)
 *                 rows-1shot  the chunk's kernel, self-attention over lists holding only those rows: the same key
 *                         tiles in the same order (outputs compared bit for bit), ratio chunk / this
 *                 rows-1shot (prefill kernel)  the default self-attention kernel over those rows: what the chunk
 *                         would cost on the prefill's kernel
 *   VARLEN        forward  per-segment route compaction + the _seg forward;  backward  as above (HARD), two rows:
 *                         bwd_mma2_bf16_d<D>_seg and bwd_v2_bf16_d<D>_seg (simt)
 *                 fwd-1seq, bwd-1seq  the default self-attention kernels (wgmma forward, tensor-core backward)
 *                         on the same rows as one sequence with the same route: more pairs, so compare TFLOP/s
 *   checks        sampled rows of every forward judged against the fp64 reference (RowCheck, the spec's
 *                 low-precision tolerance) before timing
 * }</pre>
 */
final class Bf16SegmentBench {
    private Bf16SegmentBench() {
    }

    /** bf16 tensor bytes per element; the LSE and delta are fp32. */
    private static final int ES = 2;
    private static final int LSE_BYTES = 4;

    /** The bf16 values of n elements of x from element offset (even). @param x not modified */
    private static double[] values(DeviceBuffer x, long offset, int n, int dp) {
        return DeviceTensors.unpackBf16(x.readInts(offset / 2, n / 2), n / dp, dp, dp);
    }

    /** The sampled-row judgement of a forward: o [rows,Hq,D] bf16, lse fp32. Buffers not modified. */
    private static RowCheck.Result check(SegmentBench.Config c, AttentionInputs in, DeviceBuffer o,
                                         DeviceBuffer lse) {
        if (c.checkRows() == 0) {
            return RowCheck.Result.NONE;
        }
        Shape sh = in.shape();
        int hd = sh.qHeads() * sh.headDim();
        return RowCheck.judge(in, Precision.BF16, RowCheck.rows(in, c.checkRows(), c.seed()), r -> new double[][] {
            values(o, (long) r * hd, hd, sh.headDim()), lse.read((long) r * sh.qHeads(), sh.qHeads(), true)});
    }

    /**
     * CHUNK in bf16: per route a chunk row and the two rows-of-one-shot rows, ratio lines into ratios.
     *
     * @param rows receives the timed rows; ratios, failures receive lines
     */
    static void chunk(SegmentBench.Config c, CudaDevice dev, BenchTiming timing, List<SegmentBench.Timed> rows,
                      List<String> ratios, List<String> failures, PrintWriter out) {
        Bf16Attention att = Bf16Attention.create();
        Bf16Kernels kn = att.kernels();
        Bf16Attention.Variant v1 = att.variantFor(c.headDim());
        int sk = c.cache();
        int sq = c.chunk();
        int dp = v1.headDim();
        Bf16Kernels.Dims one = new Bf16Kernels.Dims(1, sk, c.qHeads(), c.kvHeads(), dp);
        Bf16Kernels.Dims part = new Bf16Kernels.Dims(1, sq, c.qHeads(), c.kvHeads(), dp, sk);
        Shape partShape = part.shape();
        Segments table = Segments.bottomRight(partShape);
        Bf16Attention.Variant vs = att.segmentVariantFor(c.headDim(), SegmentTable.of(table), c.qHeads());
        double scale = one.shape().defaultScale();
        int w = c.window();
        long qOff = (long) (sk - sq) * c.qHeads() * dp;
        String sname = vs.kernel().replace("swi_", "");
        String oname = v1.kernel().replace("swi_", "");
        try (DeviceBuffer q = DeviceBuffer.allocate(dev, ES * one.qElems(), "q(bf16)");
             DeviceBuffer k = DeviceBuffer.allocate(dev, ES * one.kvElems(), "k(bf16)");
             DeviceBuffer v = DeviceBuffer.allocate(dev, ES * one.kvElems(), "v(bf16)");
             DeviceBuffer o = DeviceBuffer.allocate(dev, ES * one.qElems(), "o(bf16)");
             DeviceBuffer lse = DeviceBuffer.allocate(dev, LSE_BYTES * one.lseElems(), "lse");
             DeviceBuffer oc = DeviceBuffer.allocate(dev, ES * part.qElems(), "oChunk(bf16)");
             DeviceBuffer lsec = DeviceBuffer.allocate(dev, LSE_BYTES * part.lseElems(), "lseChunk");
             SegmentTable.OnDevice seg = SegmentTable.of(table).upload(dev)) {
            kn.fillNormal(q, one.qElems(), c.seed(), 1.0);
            kn.fillNormal(k, one.kvElems(), c.seed() + 1, 1.0);
            kn.fillNormal(v, one.kvElems(), c.seed() + 2, 1.0);
            dev.synchronize();
            int chunkWords = (int) (part.qElems() / 2);
            try (DeviceBuffer qc = DeviceBuffer.of(dev, q.readInts(qOff / 2, chunkWords), "qChunk(bf16)")) {
                double[][] host = c.checkRows() > 0 ? new double[][] {Bf16Bench.unpack(qc, part.qElems()),
                    Bf16Bench.unpack(k, one.kvElems()), Bf16Bench.unpack(v, one.kvElems())} : null;
                for (String route : c.routes()) {
                    boolean[] z = BenchRoutes.mask(route, 1, sk, c.seed() + 3);
                    boolean[] zc = Arrays.copyOfRange(z, sk - sq, sk);
                    try (DeviceBuffer zd = DeviceBuffer.of(dev, BenchRoutes.bytes(zc), "route");
                         RouteCompaction.DeviceLists lc = RouteCompaction.onDevice(dev, zd, seg, sq);
                         RouteCompaction.DeviceLists lr = SegmentBench.upload(dev,
                                 SegmentBench.rowsLists(z, sk - sq, sk))) {
                        Runnable runChunk = () -> kn.forward(vs, part, w, scale, qc, k, v, oc, lsec, lc, seg);
                        Runnable runRows = () -> kn.forward(vs, one, w, scale, q, k, v, o, lse, lr);
                        Runnable runRowsDefault = () -> kn.forward(v1, one, w, scale, q, k, v, o, lse, lr);
                        oc.fill((byte) 0xFF);  // poison: every row must be written
                        runChunk.run();
                        dev.synchronize();
                        RowCheck.Result err = host == null ? RowCheck.Result.NONE : check(c,
                                SegmentBench.inputs(c, partShape, table, zc, host[0], host[1], host[2]), oc, lsec);
                        SegmentBench.verdict("BF16", sk, route, err, failures, out);
                        int[] a = oc.toInts(chunkWords);
                        float[] la = lsec.toFloats((int) part.lseElems());
                        // the one-shot rows of both kernels, each compared with the chunk
                        boolean[] same = new boolean[2];
                        double[] diff = new double[2];
                        Runnable[] oneShot = {runRows, runRowsDefault};
                        for (int n = 0; n < 2; n++) {
                            o.fill((byte) 0xFF);
                            oneShot[n].run();
                            dev.synchronize();
                            int[] b = o.readInts(qOff / 2, chunkWords);
                            double[] lb = lse.read((long) (sk - sq) * c.qHeads(), (int) part.lseElems(), true);
                            same[n] = Arrays.equals(a, b) && Arrays.equals(DeviceTensors.widen(la), lb);
                            diff[n] = ErrorMeasures.normwiseRelative(values(oc, 0, 2 * chunkWords, dp),
                                    values(o, qOff, 2 * chunkWords, dp));
                        }
                        double[] tc = timing.measure(runChunk);
                        double[] tr = timing.measure(runRows);
                        double[] td = timing.measure(runRowsDefault);
                        double rho = SegmentBench.fraction(z, sk - sq, sk);
                        double flops = BenchRoutes.usefulFlops(table, zc, w, c.headDim(), c.qHeads());
                        double floor = SegmentBench.floorBytes(table, zc, c, ES, LSE_BYTES, false);
                        BenchRow rc = new BenchRow("BF16", sk, route, rho, "chunk", sname + "_seg", tc[0], tc[1],
                                flops / tc[0] / 1e9, err.errO(), err.errLse());
                        BenchRow rr = new BenchRow("BF16", sk, route, rho, "rows-1shot", sname, tr[0], tr[1],
                                flops / tr[0] / 1e9, diff[0], Double.NaN);
                        BenchRow rd = new BenchRow("BF16", sk, route, rho, "rows-1shot", oname, td[0], td[1],
                                flops / td[0] / 1e9, diff[1], Double.NaN);
                        for (BenchRow r : List.of(rc, rr, rd)) {
                            out.println(r.format());
                            rows.add(new SegmentBench.Timed(r, floor));
                        }
                        out.flush();
                        ratios.add(SegmentBench.chunkRatio("BF16", c, route, "", tc[0] / tr[0], same[0]));
                        ratios.add(SegmentBench.chunkRatio("BF16", c, route, " (" + oname + ")", tc[0] / td[0],
                                same[1]));
                    }
                }
            }
        }
    }

    /**
     * The segment-table forward kernels a VARLEN run times: first, the default instance's; then that of each other
     * {@code --bf16-forward} entry, each kernel once.
     */
    private static List<Bf16Attention.Variant> packedVariants(SegmentBench.Config c, SegmentTable t,
                                                              Bf16Attention.Variant first) {
        List<Bf16Attention.Variant> out = new ArrayList<>(List.of(first));
        for (String fv : c.bf16Forward()) {
            Bf16Attention.Variant v = Bf16Bench.instance(fv).segmentVariantFor(c.headDim(), t, c.qHeads());
            if (!out.contains(v)) {
                out.add(v);
            }
        }
        return out;
    }

    /**
     * VARLEN in bf16 at one size: per route the packed forward and backward, then the one-sequence rows.
     *
     * @param zs the masks of c.routes(); not modified.  rows receives the timed rows, failures the failed checks
     */
    static void varlen(SegmentBench.Config c, CudaDevice dev, BenchTiming timing, Shape sh, Segments table,
                       List<boolean[]> zs, List<SegmentBench.Timed> rows, List<String> failures, PrintWriter out) {
        Bf16Attention att = Bf16Attention.create();
        Bf16Kernels kn = att.kernels();
        Bf16Attention.Variant vs = att.segmentVariantFor(c.headDim(), SegmentTable.of(table), c.qHeads());
        Bf16Attention.Variant v1 = att.variantFor(c.headDim());
        int s = sh.seqLen();
        int w = c.window();
        Bf16Kernels.Dims d = new Bf16Kernels.Dims(1, s, c.qHeads(), c.kvHeads(), vs.headDim());
        double scale = sh.defaultScale();
        // the packed backward of every tensor-core version this device runs (the default first), then SIMT
        Bf16Kernels.BackwardVersion dflt = Bf16Attention.defaultBackward(dev);
        List<Bf16Kernels.BackwardVersion> tcs = new ArrayList<>(List.of(dflt));
        for (Bf16Kernels.BackwardVersion b : Bf16Kernels.BackwardVersion.values()) {
            if (b.tensorCores() && b != dflt && b.runsOn(dev.computeCapability())) {
                tcs.add(b);
            }
        }
        String sname = "bwd_v2_bf16_d" + d.dp() + "_seg (simt)";
        Segments self = Segments.selfAttention(sh);
        try (DeviceBuffer q = DeviceBuffer.allocate(dev, ES * d.qElems(), "q(bf16)");
             DeviceBuffer k = DeviceBuffer.allocate(dev, ES * d.kvElems(), "k(bf16)");
             DeviceBuffer v = DeviceBuffer.allocate(dev, ES * d.kvElems(), "v(bf16)");
             DeviceBuffer dO = DeviceBuffer.allocate(dev, ES * d.qElems(), "dO(bf16)");
             DeviceBuffer o = DeviceBuffer.allocate(dev, ES * d.qElems(), "o(bf16)");
             DeviceBuffer lse = DeviceBuffer.allocate(dev, LSE_BYTES * d.lseElems(), "lse");
             DeviceBuffer delta = DeviceBuffer.allocate(dev, LSE_BYTES * d.lseElems(), "delta");
             DeviceBuffer dQ = DeviceBuffer.allocate(dev, ES * d.qElems(), "dQ(bf16)");
             DeviceBuffer dQacc = DeviceBuffer.allocate(dev, 4 * d.qElems(), "dQ(fp32)");
             DeviceBuffer dK = DeviceBuffer.allocate(dev, ES * d.kvElems(), "dK(bf16)");
             DeviceBuffer dV = DeviceBuffer.allocate(dev, ES * d.kvElems(), "dV(bf16)");
             SegmentTable.OnDevice seg = SegmentTable.of(table).upload(dev)) {
            // the seeds of BenchBuffers (the fp64 / fp32 rows of the same run)
            kn.fillNormal(q, d.qElems(), c.seed() + 10, 1.0);
            kn.fillNormal(k, d.kvElems(), c.seed() + 11, 1.0);
            kn.fillNormal(v, d.kvElems(), c.seed() + 12, 1.0);
            kn.fillNormal(dO, d.qElems(), c.seed() + 13, 1.0);
            dev.synchronize();
            double[][] host = c.checkRows() > 0 ? new double[][] {Bf16Bench.unpack(q, d.qElems()),
                Bf16Bench.unpack(k, d.kvElems()), Bf16Bench.unpack(v, d.kvElems())} : null;
            for (int n = 0; n < c.routes().size(); n++) {
                String route = c.routes().get(n);
                boolean[] z = zs.get(n);
                double rho = SegmentBench.fraction(z, 0, s);
                double flops = BenchRoutes.usefulFlops(table, z, w, c.headDim(), c.qHeads());
                double flops1 = BenchRoutes.usefulFlops(self, z, w, c.headDim(), c.qHeads());
                try (DeviceBuffer zd = DeviceBuffer.of(dev, BenchRoutes.bytes(z), "route");
                     RouteCompaction.DeviceLists l = RouteCompaction.onDevice(dev, zd, seg, s);
                     RouteCompaction.DeviceLists l1 = RouteCompaction.onDevice(dev, zd, 1, s)) {
                    // 1. the packed forward of each --bf16-forward version that takes tables (the default
                    // instance's first), checked, then timed; the first one's o, lse feed the backward
                    List<SegmentBench.Timed> forwards = new ArrayList<>();
                    for (Bf16Attention.Variant pv : packedVariants(c, SegmentTable.of(table), vs)) {
                        Runnable fwd = () -> {
                            RouteCompaction.compactInto(dev, zd, l, seg);
                            kn.forward(pv, d, w, scale, q, k, v, o, lse, l, seg);
                        };
                        o.fill((byte) 0xFF);  // poison: every row must be written
                        fwd.run();
                        dev.synchronize();
                        RowCheck.Result err = host == null ? RowCheck.Result.NONE
                                : check(c, SegmentBench.inputs(c, sh, table, z, host[0], host[1], host[2]), o, lse);
                        SegmentBench.verdict("BF16", s, route, err, failures, out);
                        double[] tf = timing.measure(fwd);
                        forwards.add(new SegmentBench.Timed(new BenchRow("BF16", s, route, rho, "forward",
                                pv.kernel().replace("swi_", "") + "_seg", tf[0], tf[1], flops / tf[0] / 1e9,
                                err.errO(), err.errLse()), SegmentBench.floorBytes(table, z, c, ES, LSE_BYTES, false)));
                    }
                    RouteCompaction.compactInto(dev, zd, l, seg);
                    kn.forward(vs, d, w, scale, q, k, v, o, lse, l, seg);
                    // 2. the packed backward (HARD) on the forward's o, lse: tensor cores (each version), then SIMT
                    BackwardOperands ops = BackwardOperands.routed(q, k, v, dO, l, lse, delta);
                    List<SegmentBench.Timed> backwards = new ArrayList<>();
                    for (Bf16Kernels.BackwardVersion b : tcs) {
                        Runnable bwd = () -> {
                            kn.delta(d, dO, o, null, delta);
                            kn.dKdVmma(b, d, w, scale, ops, dK, dV, seg);
                            kn.dQmma(b, d, w, scale, ops, false, dQ, seg);
                        };
                        double[] tb = timing.measure(bwd);
                        backwards.add(new SegmentBench.Timed(new BenchRow("BF16", s, route, rho, "backward",
                                Bf16Bench.Config.backwardKernel(b, d.dp()) + "_seg", tb[0], tb[1],
                                2.5 * flops / tb[0] / 1e9, Double.NaN, Double.NaN),
                                SegmentBench.floorBytes(table, z, c, ES, LSE_BYTES, true)));
                    }
                    Runnable bwdSimt = () -> {
                        kn.delta(d, dO, o, null, delta);
                        kn.dKdVsimt(d, w, scale, ops, dK, dV, seg);
                        kn.dQsimt(d, w, scale, ops, dQacc, false, seg);
                        kn.toBf16(dQacc, dQ, d.qElems());
                    };
                    double[] tbs = timing.measure(bwdSimt);
                    // 3. the default self-attention kernels on the rows as one sequence (same route)
                    Runnable fwd1 = () -> {
                        kn.compact(d, zd, l1);
                        kn.forward(v1, d, w, scale, q, k, v, o, lse, l1);
                    };
                    double[] tf1 = timing.measure(fwd1);
                    BackwardOperands ops1 = BackwardOperands.routed(q, k, v, dO, l1, lse, delta);
                    Runnable bwd1 = () -> {
                        kn.delta(d, dO, o, null, delta);
                        kn.dKdVmma(dflt, d, w, scale, ops1, dK, dV, null);
                        kn.dQmma(dflt, d, w, scale, ops1, false, dQ, null);
                    };
                    double[] tb1 = timing.measure(bwd1);
                    List<SegmentBench.Timed> timed = new ArrayList<>(forwards);
                    timed.addAll(backwards);
                    timed.addAll(List.of(
                            new SegmentBench.Timed(new BenchRow("BF16", s, route, rho, "backward", sname, tbs[0],
                                    tbs[1], 2.5 * flops / tbs[0] / 1e9, Double.NaN, Double.NaN),
                                    SegmentBench.floorBytes(table, z, c, ES, LSE_BYTES, true)),
                            new SegmentBench.Timed(new BenchRow("BF16", s, route, rho, "fwd-1seq",
                                    v1.kernel().replace("swi_", ""), tf1[0], tf1[1], flops1 / tf1[0] / 1e9,
                                    Double.NaN, Double.NaN), SegmentBench.floorBytes(self, z, c, ES, LSE_BYTES, false)),
                            new SegmentBench.Timed(new BenchRow("BF16", s, route, rho, "bwd-1seq",
                                    Bf16Bench.Config.backwardKernel(dflt, d.dp()), tb1[0], tb1[1],
                                    2.5 * flops1 / tb1[0] / 1e9, Double.NaN, Double.NaN),
                                    SegmentBench.floorBytes(self, z, c, ES, LSE_BYTES, true))));
                    for (SegmentBench.Timed t : timed) {
                        out.println(t.row().format());
                        rows.add(t);
                    }
                    out.flush();
                }
            }
        }
    }
}
