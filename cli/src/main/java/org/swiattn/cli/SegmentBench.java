package org.swiattn.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.swiattn.cuda.BackwardOperands;
import org.swiattn.cuda.RouteCompaction;
import org.swiattn.cuda.RoutedKernels;
import org.swiattn.cuda.SegmentTable;
import org.swiattn.cuda.driver.CudaDevice;
import org.swiattn.cuda.driver.DeviceBuffer;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.ErrorMeasures;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.Precision;
import org.swiattn.spec.Route;
import org.swiattn.spec.Segments;
import org.swiattn.spec.Shape;

/**
 * {@code swiattn bench --mode CHUNK} and {@code --mode VARLEN}: the spec 2.0 segment tables on the GPU, fp64, fp32
 * and bf16 (B = 1, Hq, Hkv, D, w from the options; inputs generated on the GPU; bf16: {@link Bf16SegmentBench}).
 *
 * <pre>{@code
 *   CHUNK   a chunk of --chunk rows at offset cache - chunk of a --cache key cache (bottom-right segment table,
 *           kernels <forward>_seg) against the same rows in the one-shot self-attention prefill of cache rows
 *           (the same forward kernel over lists holding only those rows): ratio chunk / rows-of-one-shot (target
 *           <= 1.2), and the two outputs compared (the same key tiles in the same order: equal bit for bit)
 *   VARLEN  packed documents (documents(), total --seq) as one packed self-attention call: forward (route
 *           compaction per segment + <forward>_seg) and backward (delta + <dK/dV>_seg + <dQ>_seg), HARD estimator;
 *           sampled rows judged against the fp64 reference by the spec's tolerance (RowCheck) before timing
 *   FLOPs   useful only: 4*D per visible (query, key) pair per head (forward), 2.5x that (backward: 5 products)
 *   floor   the bytes the call must move at least: Q and O (forward; backward also dO and dQ) of every query row,
 *           K and V (backward also dK and dV) of every key row some query sees, the fp32 (fp64: fp64) LSE (and
 *           delta); over the device-to-device copy bandwidth of the same run: the memory floor
 * }</pre>
 * Timed by {@link BenchTiming} (the method of every mode); the route masks are written for the peers.
 */
final class SegmentBench {
    private SegmentBench() {
    }

    /** The sizes of a run. */
    record Config(int qHeads, int kvHeads, int headDim, int window, int cache, int chunk, List<Integer> seqs,
                  List<String> routes, int checkRows, long seed, List<String> bf16Forward) {
    }

    /**
     * Packed document boundaries over {@code total} rows, deterministic in the seed: lengths uniform in
     * [1, total/4], the second document shorter than the window, the last one trimmed to the total.
     *
     * @return cu_seqlens [n+1]: 0, ..., total
     */
    static int[] documents(int total, int window, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<Integer> cu = new ArrayList<>(List.of(0));
        int at = 0;
        while (at < total) {
            int len = cu.size() == 2 ? 1 + rnd.nextInt(Math.max(1, Math.min(window, total) - 1))
                    : 1 + rnd.nextInt(Math.max(1, total / 4));
            at = Math.min(total, at + len);
            cu.add(at);
        }
        return cu.stream().mapToInt(Integer::intValue).toArray();
    }

    /** A timed row and the bytes its call must move at least (the memory floor's numerator). */
    record Timed(BenchRow row, double floorBytes) {
    }

    /**
     * The memory floor's bytes of a call (class comment): tensors of elemBytes, LSE and delta of lseBytes.
     *
     * @param z not modified
     */
    static double floorBytes(Segments t, boolean[] z, Config c, int elemBytes, int lseBytes, boolean backward) {
        double qRows = t.queryRows();
        double keys = BenchRoutes.visible(t, z, c.window())[1];
        int tensors = backward ? 4 : 2;  // forward: q, o / k, v; backward: q, o, dO, dQ / k, v, dK, dV
        return tensors * (qRows * c.qHeads() + keys * c.kvHeads()) * c.headDim() * elemBytes
                + (backward ? 2 : 1) * qRows * c.qHeads() * lseBytes;
    }

    /** The route masks of a run, one per route, seeded as every precision's (written for the peers when set). */
    static List<boolean[]> masks(Config c, int s, long seed, java.nio.file.Path dir) throws IOException {
        List<boolean[]> zs = new ArrayList<>();
        for (String route : c.routes()) {
            boolean[] z = BenchRoutes.mask(route, 1, s, seed);
            if (dir != null && !route.equals("full") && !route.equals("window")) {
                BenchRoutes.writeMask(dir, s, route, z);
            }
            zs.add(z);
        }
        return zs;
    }

    /** The full-routed positions of {@code z} among rows [from, to) into list F, the others into W, ascending. */
    static RouteCompaction.HostLists rowsLists(boolean[] z, int from, int to) {
        int[] lf = new int[z.length];
        int[] lw = new int[z.length];
        int nf = 0;
        int nw = 0;
        for (int i = from; i < to; i++) {
            if (z[i]) {
                lf[nf++] = i;
            } else {
                lw[nw++] = i;
            }
        }
        return new RouteCompaction.HostLists(lf, new int[] {nf}, lw, new int[] {nw});
    }

    static RouteCompaction.DeviceLists upload(CudaDevice dev, RouteCompaction.HostLists l) {
        return new RouteCompaction.DeviceLists(DeviceBuffer.of(dev, l.listF(), "rows.listF"),
                DeviceBuffer.of(dev, l.nF(), "rows.nF"), DeviceBuffer.of(dev, l.listW(), "rows.listW"),
                DeviceBuffer.of(dev, l.nW(), "rows.nW"));
    }

    static double fraction(boolean[] z, int from, int to) {
        int f = 0;
        for (int i = from; i < to; i++) {
            f += z[i] ? 1 : 0;
        }
        return (double) f / (to - from);
    }

    /**
     * CHUNK: per precision and route, a chunk row and a rows-of-one-shot row (bf16: also the default wgmma
     * kernel's), then the ratio lines.
     *
     * @param failures receives a line per sampled-row check that fails
     */
    static List<Timed> chunk(Config c, List<Precision> precisions, CudaDevice dev, BenchTiming timing,
                             List<String> failures, PrintWriter out) {
        List<Timed> rows = new ArrayList<>();
        List<String> ratios = new ArrayList<>();
        int sk = c.cache();
        int sq = c.chunk();
        Shape one = new Shape(1, sk, c.qHeads(), c.kvHeads(), c.headDim());
        Shape part = new Shape(1, sq, c.qHeads(), c.kvHeads(), c.headDim(), sk);
        Segments table = Segments.bottomRight(part);
        double scale = one.defaultScale();
        for (Precision p : precisions) {
            if (p == Precision.BF16) {
                Bf16SegmentBench.chunk(c, dev, timing, rows, ratios, failures, out);
                continue;
            }
            RoutedKernels rk = new RoutedKernels(dev, p, null, null);
            String kname = rk.forwardChoice(c.headDim()).name();
            int es = rk.floats() ? 4 : 8;
            long qOff = (long) (sk - sq) * c.qHeads() * c.headDim();
            try (DeviceBuffer q = rk.allocate(one.qSize(), "q");
                 DeviceBuffer k = rk.allocate(one.kvSize(), "k");
                 DeviceBuffer v = rk.allocate(one.kvSize(), "v");
                 DeviceBuffer o = rk.allocate(one.qSize(), "o");
                 DeviceBuffer lse = rk.allocate(one.lseSize(), "lse");
                 DeviceBuffer oc = rk.allocate(part.qSize(), "oChunk");
                 DeviceBuffer lsec = rk.allocate(part.lseSize(), "lseChunk");
                 SegmentTable.OnDevice seg = SegmentTable.of(table).upload(dev)) {
                rk.fillNormal(q, one.qSize(), c.seed(), 1.0);
                rk.fillNormal(k, one.kvSize(), c.seed() + 1, 1.0);
                rk.fillNormal(v, one.kvSize(), c.seed() + 2, 1.0);
                dev.synchronize();
                try (DeviceBuffer qc = rk.upload(q.read(qOff, part.qSize(), rk.floats()), "qChunk")) {
                    for (String route : c.routes()) {
                        boolean[] z = BenchRoutes.mask(route, 1, sk, c.seed() + 3);
                        boolean[] zc = Arrays.copyOfRange(z, sk - sq, sk);
                        try (DeviceBuffer zd = DeviceBuffer.of(dev, BenchRoutes.bytes(zc), "route");
                             RouteCompaction.DeviceLists lc = RouteCompaction.onDevice(dev, zd, seg, sq);
                             RouteCompaction.DeviceLists lr = upload(dev, rowsLists(z, sk - sq, sk))) {
                            Runnable runChunk = () -> rk.forward(part, c.window(), scale, qc, k, v, oc, lsec, lc, seg);
                            Runnable runRows = () -> rk.forward(one, c.window(), scale, q, k, v, o, lse, lr);
                            runChunk.run();
                            runRows.run();
                            dev.synchronize();
                            double[] a = oc.readAll(part.qSize(), rk.floats());
                            double[] b = o.read(qOff, part.qSize(), rk.floats());
                            double[] la = lsec.readAll(part.lseSize(), rk.floats());
                            double[] lb = lse.read((long) (sk - sq) * c.qHeads(), part.lseSize(), rk.floats());
                            boolean same = Arrays.equals(a, b) && Arrays.equals(la, lb);
                            double[] tc = timing.measure(runChunk);
                            double[] tr = timing.measure(runRows);
                            double rho = fraction(z, sk - sq, sk);
                            double flops = BenchRoutes.usefulFlops(table, zc, c.window(), c.headDim(), c.qHeads());
                            double floor = floorBytes(table, zc, c, es, es, false);
                            BenchRow rc = new BenchRow(p.name(), sk, route, rho, "chunk", kname + "_seg", tc[0],
                                    tc[1], flops / tc[0] / 1e9, ErrorMeasures.normwiseRelative(a, b),
                                    ErrorMeasures.maxAbs(la, lb));
                            BenchRow rr = new BenchRow(p.name(), sk, route, rho, "rows-1shot", kname, tr[0], tr[1],
                                    flops / tr[0] / 1e9, Double.NaN, Double.NaN);
                            out.println(rc.format());
                            out.println(rr.format());
                            out.flush();
                            rows.add(new Timed(rc, floor));
                            rows.add(new Timed(rr, floor));
                            ratios.add(chunkRatio(p.name(), c, route, "", tc[0] / tr[0], same));
                        }
                    }
                }
            }
        }
        out.println();
        ratios.forEach(out::println);
        return rows;
    }

    /** One ratio line of the chunk mode. @param of "" or which one-shot kernel, e.g. " (wgmma)" */
    static String chunkRatio(String prec, Config c, String route, String of, double ratio, boolean same) {
        return String.format(Locale.ROOT, "%-5s chunk %d at %d of %d, route %-7s chunk / rows of the one-shot prefill%s"
                + " = %.3f (target <= 1.2); outputs %s", prec, c.chunk(), c.cache() - c.chunk(), c.cache(), route, of,
                ratio, same ? "equal bit for bit" : "DIFFER (errO vs the one-shot rows above)");
    }

    /**
     * VARLEN: per total length, precision and route, a forward and a backward row of the packed call (bf16: a
     * backward row per version, tensor cores and SIMT, and the self-attention kernels on one sequence of the same
     * rows).
     *
     * @param failures receives a line per sampled-row check that fails
     */
    static List<Timed> varlen(Config c, List<Precision> precisions, CudaDevice dev, BenchTiming timing,
                              java.nio.file.Path masks, List<String> failures, PrintWriter out) throws IOException {
        List<Timed> rows = new ArrayList<>();
        for (int s : c.seqs()) {
            int[] cu = documents(s, c.window(), c.seed());
            out.printf(Locale.ROOT, "# varlen S=%d: %d documents, lengths %s%n", s, cu.length - 1,
                    lengths(cu));
            if (masks != null) {
                writeDocuments(masks, s, cu);
            }
            Shape sh = new Shape(1, s, c.qHeads(), c.kvHeads(), c.headDim());
            Segments table = Segments.packedSelf(sh, cu);
            List<boolean[]> zs = masks(c, s, c.seed() + 14, masks);
            for (Precision p : precisions) {
                if (p == Precision.BF16) {
                    Bf16SegmentBench.varlen(c, dev, timing, sh, table, zs, rows, failures, out);
                } else {
                    fpVarlen(c, p, dev, timing, sh, table, zs, rows, failures, out);
                }
            }
        }
        return rows;
    }

    /** The fp64 / fp32 rows of one VARLEN size. @param zs the masks of c.routes(); not modified */
    private static void fpVarlen(Config c, Precision p, CudaDevice dev, BenchTiming timing, Shape sh, Segments table,
                                 List<boolean[]> zs, List<Timed> rows, List<String> failures, PrintWriter out) {
        int s = sh.seqLen();
        double scale = sh.defaultScale();
        RoutedKernels rk = new RoutedKernels(dev, p, null, null);
        String fname = rk.forwardChoice(c.headDim()).name() + "_seg";
        String bname = rk.backwardChoice(c.headDim())[1].name().replace("swi_bwd_dq_", "bwd_") + "_seg";
        int es = rk.floats() ? 4 : 8;
        try (BenchBuffers t = BenchBuffers.filled(rk, sh, c.seed());
             SegmentTable.OnDevice seg = SegmentTable.of(table).upload(dev)) {
            DeviceBuffer q = t.q(), k = t.k(), v = t.v(), dO = t.dO(), o = t.o(), lse = t.lse();
            DeviceBuffer delta = t.delta(), dQ = t.dQ(), dK = t.dK(), dV = t.dV();
            dev.synchronize();
            for (int n = 0; n < c.routes().size(); n++) {
                String route = c.routes().get(n);
                boolean[] z = zs.get(n);
                double rho = fraction(z, 0, s);
                double flops = BenchRoutes.usefulFlops(table, z, c.window(), c.headDim(), c.qHeads());
                try (DeviceBuffer zd = DeviceBuffer.of(dev, BenchRoutes.bytes(z), "route");
                     RouteCompaction.DeviceLists l = RouteCompaction.onDevice(dev, zd, seg, s)) {
                    Runnable fwd = () -> {
                        RouteCompaction.compactInto(dev, zd, l, seg);
                        rk.forward(sh, c.window(), scale, q, k, v, o, lse, l, seg);
                    };
                    o.fill((byte) 0xFF);  // poison: every row must be written
                    fwd.run();
                    dev.synchronize();
                    RowCheck.Result err = RowCheck.Result.NONE;
                    if (c.checkRows() > 0) {
                        boolean f = rk.floats();
                        int hd = sh.qHeads() * sh.headDim();
                        AttentionInputs in = inputs(c, sh, table, z, q.readAll(sh.qSize(), f),
                                k.readAll(sh.kvSize(), f), v.readAll(sh.kvSize(), f));
                        err = RowCheck.judge(in, p, RowCheck.rows(in, c.checkRows(), c.seed()), r -> new double[][] {
                                    o.read((long) r * hd, hd, f), lse.read((long) r * sh.qHeads(), sh.qHeads(), f)});
                    }
                    verdict(p.name(), s, route, err, failures, out);
                    double[] tf = timing.measure(fwd);
                    BenchRow rf = new BenchRow(p.name(), s, route, rho, "forward", fname, tf[0], tf[1],
                            flops / tf[0] / 1e9, err.errO(), err.errLse());
                    BackwardOperands ops = BackwardOperands.routed(q, k, v, dO, l, lse, delta);
                    Runnable bwd = () -> {
                        rk.delta(sh, dO, o, null, delta);
                        rk.dKdV(sh, c.window(), scale, ops, dK, dV, seg);
                        rk.dQ(sh, c.window(), scale, ops, dQ, false, seg);
                    };
                    double[] tb = timing.measure(bwd);
                    BenchRow rb = new BenchRow(p.name(), s, route, rho, "backward", bname, tb[0], tb[1],
                            2.5 * flops / tb[0] / 1e9, Double.NaN, Double.NaN);
                    rows.add(new Timed(rf, floorBytes(table, z, c, es, es, false)));
                    rows.add(new Timed(rb, floorBytes(table, z, c, es, es, true)));
                    out.println(rf.format());
                    out.println(rb.format());
                    out.flush();
                }
            }
        }
    }

    /** The packed inputs of a run (host copies of the device values) for the row check. Arrays not modified. */
    static AttentionInputs inputs(Config c, Shape sh, Segments table, boolean[] z, double[] q, double[] k,
                                  double[] v) {
        return AttentionInputs.builder(sh).q(q).k(k).v(v).window(c.window()).scale(sh.defaultScale())
                .route(Route.ofMask(sh.batch(), sh.seqLen(), z)).estimator(Estimator.HARD).segments(table).build();
    }

    /** Prints the sampled-row verdict of a run; a failure is also added to failures. */
    static void verdict(String prec, int s, String route, RowCheck.Result err, List<String> failures,
                        PrintWriter out) {
        String line = String.format(Locale.ROOT, "# %s S=%d route %s: sampled rows vs the fp64 reference: %s", prec, s,
                route, err.describe());
        out.println(line);
        if (!err.pass()) {
            failures.add(line.substring(2));
        }
    }

    static String lengths(int[] cu) {
        StringBuilder sb = new StringBuilder();
        for (int i = 1; i < cu.length; i++) {
            sb.append(i > 1 ? "," : "").append(cu[i] - cu[i - 1]);
        }
        return sb.toString();
    }

    /**
     * The varlen ratio table: each of our rows against the peers of the same dtype, S, op and full fraction
     * (ratio = peer ms / our ms, above 1 = ours faster).
     *
     * @param ours not modified; peers not modified
     */
    static List<String> ratios(List<BenchRow> ours, PeerRun.Result peers) {
        List<String> out = new ArrayList<>();
        out.add(String.format(Locale.ROOT, "%-5s %6s %-8s %-7s %6s %10s  %s", "prec", "S", "op", "route", "rho",
                "ours ms", "peer ms and ratio peer/ours (> 1: ours faster)"));
        for (BenchRow r : ours) {
            StringBuilder sb = new StringBuilder();
            for (PeerRun.Peer p : peers.peers()) {
                if (p.dtype().equals(r.precision().toLowerCase(Locale.ROOT)) && p.s() == r.s()
                        && p.op().equals(r.op()) && Math.abs(p.rho() - r.fullFraction()) < 1e-9) {
                    sb.append(Double.isNaN(p.ms()) ? String.format(Locale.ROOT, "  %s: %s", p.kernel(), p.note())
                            : String.format(Locale.ROOT, "  %s %.3f -> %.3f", p.kernel(), p.ms(), p.ms() / r.ms()));
                }
            }
            out.add(String.format(Locale.ROOT, "%-5s %6d %-8s %-7s %6.3f %10.3f %s", r.precision(), r.s(), r.op(),
                    r.route(), r.fullFraction(), r.ms(), sb));
        }
        return out;
    }

    /**
     * Our rows against the physical limits measured in the same run: useful TFLOP/s over the GEMM rate of the
     * precision (gemm_bf16 / gemm_fp32 / gemm_fp64: the fraction of the dense GEMM rate), and the memory floor
     * (floorBytes over copy_d2d) over our time (the fraction of the copy bandwidth); "-" where a limit is missing.
     *
     * @param ours not modified; limits not modified
     */
    static List<String> limitTable(List<Timed> ours, PeerRun.Result limits) {
        List<String> out = new ArrayList<>();
        out.add(String.format(Locale.ROOT, "%-5s %6s %-10s %-7s %6s %-34s %10s %8s %8s %9s %8s", "prec", "S", "op",
                "route", "rho", "kernel", "ours ms", "TFLOP/s", "of GEMM", "floor ms", "of copy"));
        double bw = limits.limit("copy_d2d");
        for (Timed t : ours) {
            BenchRow r = t.row();
            double gemm = limits.limit(PeerRun.gemmLimit(r.precision()));
            double floorMs = t.floorBytes() / bw / 1e6;
            out.add(String.format(Locale.ROOT, "%-5s %6d %-10s %-7s %6.3f %-34s %10.3f %8.2f %8s %9s %8s",
                    r.precision(), r.s(), r.op(), r.route(), r.fullFraction(), r.kernel(), r.ms(), r.tflops(),
                    Double.isNaN(gemm) ? "-" : String.format(Locale.ROOT, "%.3f", r.tflops() / gemm),
                    Double.isNaN(bw) ? "-" : String.format(Locale.ROOT, "%.3f", floorMs),
                    Double.isNaN(bw) ? "-" : String.format(Locale.ROOT, "%.3f", floorMs / r.ms())));
        }
        return out;
    }

    /** The documents of a varlen run for the peers: docs_S<S>.txt, the cu_seqlens as one comma line. */
    static void writeDocuments(java.nio.file.Path dir, int s, int[] cu) throws IOException {
        java.nio.file.Files.createDirectories(dir);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < cu.length; i++) {
            sb.append(i > 0 ? "," : "").append(cu[i]);
        }
        java.nio.file.Files.writeString(dir.resolve("docs_S" + s + ".txt"), sb.append('\n').toString());
    }
}
