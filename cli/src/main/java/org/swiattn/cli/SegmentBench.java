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
 * {@code swiattn bench --mode CHUNK} and {@code --mode VARLEN}: the spec 2.0 segment tables on the GPU, fp64 and
 * fp32 (B = 1, Hq, Hkv, D, w from the options; inputs generated on the GPU).
 *
 * <pre>{@code
 *   CHUNK   a chunk of --chunk rows at offset cache - chunk of a --cache key cache (bottom-right segment table,
 *           kernels <forward>_seg) against the same rows in the one-shot self-attention prefill of cache rows
 *           (the same forward kernel over lists holding only those rows): ratio chunk / rows-of-one-shot (target
 *           <= 1.2), and the two outputs compared (the same key tiles in the same order: equal bit for bit)
 *   VARLEN  packed documents (documents(), total --seq) as one packed self-attention call: forward (route
 *           compaction per segment + <forward>_seg) and backward (delta + <dK/dV>_seg + <dQ>_seg), HARD estimator;
 *           sampled rows checked against the fp64 reference before timing
 * }</pre>
 * Timed by {@link BenchTiming} (the method of every mode); the route masks are written for the peers.
 */
final class SegmentBench {
    private SegmentBench() {
    }

    /** The sizes of a run. */
    record Config(int qHeads, int kvHeads, int headDim, int window, int cache, int chunk, List<Integer> seqs,
                  List<String> routes, int checkRows, long seed) {
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

    /** The precisions without bf16 (its kernels take self-attention and decode only), with a line when one is left. */
    private static List<Precision> fpOnly(List<Precision> precisions, String what, PrintWriter out) {
        if (precisions.contains(Precision.BF16)) {
            out.println("# bf16: " + what + " run on the fp64 and fp32 kernels only; bf16 skipped");
        }
        return precisions.stream().filter(p -> p != Precision.BF16).toList();
    }

    /** The full-routed positions of {@code z} among rows [from, to) into list F, the others into W, ascending. */
    private static RouteCompaction.HostLists rowsLists(boolean[] z, int from, int to) {
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

    private static RouteCompaction.DeviceLists upload(CudaDevice dev, RouteCompaction.HostLists l) {
        return new RouteCompaction.DeviceLists(DeviceBuffer.of(dev, l.listF(), "rows.listF"),
                DeviceBuffer.of(dev, l.nF(), "rows.nF"), DeviceBuffer.of(dev, l.listW(), "rows.listW"),
                DeviceBuffer.of(dev, l.nW(), "rows.nW"));
    }

    private static double fraction(boolean[] z, int from, int to) {
        int f = 0;
        for (int i = from; i < to; i++) {
            f += z[i] ? 1 : 0;
        }
        return (double) f / (to - from);
    }

    /** CHUNK: per precision and route, a chunk row and a rows-of-one-shot row, then the ratio lines. */
    static List<BenchRow> chunk(Config c, List<Precision> precisions, CudaDevice dev, BenchTiming timing,
                                PrintWriter out) {
        List<BenchRow> rows = new ArrayList<>();
        List<String> ratios = new ArrayList<>();
        int sk = c.cache();
        int sq = c.chunk();
        Shape one = new Shape(1, sk, c.qHeads(), c.kvHeads(), c.headDim());
        Shape part = new Shape(1, sq, c.qHeads(), c.kvHeads(), c.headDim(), sk);
        double scale = one.defaultScale();
        for (Precision p : fpOnly(precisions, "chunked prefill", out)) {
            RoutedKernels rk = new RoutedKernels(dev, p, null, null);
            String kname = rk.forwardChoice(c.headDim()).name();
            long qOff = (long) (sk - sq) * c.qHeads() * c.headDim();
            try (DeviceBuffer q = rk.allocate(one.qSize(), "q");
                 DeviceBuffer k = rk.allocate(one.kvSize(), "k");
                 DeviceBuffer v = rk.allocate(one.kvSize(), "v");
                 DeviceBuffer o = rk.allocate(one.qSize(), "o");
                 DeviceBuffer lse = rk.allocate(one.lseSize(), "lse");
                 DeviceBuffer oc = rk.allocate(part.qSize(), "oChunk");
                 DeviceBuffer lsec = rk.allocate(part.lseSize(), "lseChunk");
                 SegmentTable.OnDevice seg = SegmentTable.of(Segments.bottomRight(part)).upload(dev)) {
                rk.fillNormal(q, one.qSize(), c.seed(), 1.0);
                rk.fillNormal(k, one.kvSize(), c.seed() + 1, 1.0);
                rk.fillNormal(v, one.kvSize(), c.seed() + 2, 1.0);
                dev.synchronize();
                try (DeviceBuffer qc = rk.upload(q.read(qOff, part.qSize(), rk.floats()), "qChunk")) {
                    for (String route : c.routes()) {
                        boolean[] z = BenchRoutes.mask(route, 1, sk, c.seed() + 3);
                        byte[] zc = BenchRoutes.bytes(Arrays.copyOfRange(z, sk - sq, sk));
                        try (DeviceBuffer zd = DeviceBuffer.of(dev, zc, "route");
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
                            BenchRow rc = new BenchRow(p.name(), sk, route, rho, "chunk", kname + "_seg", tc[0],
                                    tc[1], Double.NaN, ErrorMeasures.normwiseRelative(a, b),
                                    ErrorMeasures.maxAbs(la, lb));
                            BenchRow rr = new BenchRow(p.name(), sk, route, rho, "rows-1shot", kname, tr[0], tr[1],
                                    Double.NaN, Double.NaN, Double.NaN);
                            out.println(rc.format());
                            out.println(rr.format());
                            out.flush();
                            rows.add(rc);
                            rows.add(rr);
                            ratios.add(String.format(Locale.ROOT, "%-5s chunk %d at %d of %d, route %-7s chunk / "
                                    + "rows of the one-shot prefill = %.3f (target <= 1.2); outputs %s", p.name(), sq,
                                    sk - sq, sk, route, tc[0] / tr[0], same ? "equal bit for bit"
                                            : "DIFFER (errO vs the one-shot rows above)"));
                        }
                    }
                }
            }
        }
        out.println();
        ratios.forEach(out::println);
        return rows;
    }

    /** VARLEN: per total length, precision and route, a forward and a backward row of the packed call. */
    static List<BenchRow> varlen(Config c, List<Precision> precisions, CudaDevice dev, BenchTiming timing,
                                 java.nio.file.Path masks, PrintWriter out) throws IOException {
        List<BenchRow> rows = new ArrayList<>();
        for (int s : c.seqs()) {
            int[] cu = documents(s, c.window(), c.seed());
            out.printf(Locale.ROOT, "# varlen S=%d: %d documents, lengths %s%n", s, cu.length - 1,
                    lengths(cu));
            if (masks != null) {
                writeDocuments(masks, s, cu);
            }
            Shape sh = new Shape(1, s, c.qHeads(), c.kvHeads(), c.headDim());
            Segments table = Segments.packedSelf(sh, cu);
            double scale = sh.defaultScale();
            for (Precision p : fpOnly(precisions, "packed batches", out)) {
                RoutedKernels rk = new RoutedKernels(dev, p, null, null);
                String fname = rk.forwardChoice(c.headDim()).name() + "_seg";
                String bname = rk.backwardChoice(c.headDim())[1].name().replace("swi_bwd_dq_", "bwd_") + "_seg";
                try (BenchBuffers t = BenchBuffers.filled(rk, sh, c.seed());
                     SegmentTable.OnDevice seg = SegmentTable.of(table).upload(dev)) {
                    DeviceBuffer q = t.q(), k = t.k(), v = t.v(), dO = t.dO(), o = t.o(), lse = t.lse();
                    DeviceBuffer delta = t.delta(), dQ = t.dQ(), dK = t.dK(), dV = t.dV();
                    dev.synchronize();
                    for (String route : c.routes()) {
                        boolean[] z = BenchRoutes.mask(route, 1, s, c.seed() + 14);
                        if (masks != null && !route.equals("full") && !route.equals("window")) {
                            BenchRoutes.writeMask(masks, s, route, z);
                        }
                        double rho = fraction(z, 0, s);
                        try (DeviceBuffer zd = DeviceBuffer.of(dev, BenchRoutes.bytes(z), "route");
                             RouteCompaction.DeviceLists l = RouteCompaction.onDevice(dev, zd, seg, s)) {
                            Runnable fwd = () -> {
                                RouteCompaction.compactInto(dev, zd, l, seg);
                                rk.forward(sh, c.window(), scale, q, k, v, o, lse, l, seg);
                            };
                            o.fill((byte) 0xFF);  // poison: every row must be written
                            fwd.run();
                            dev.synchronize();
                            double[] err = c.checkRows() > 0 ? check(c, sh, table, z, q, k, v, o, lse, rk, scale)
                                    : new double[] {Double.NaN, Double.NaN};
                            double[] tf = timing.measure(fwd);
                            BenchRow rf = new BenchRow(p.name(), s, route, rho, "forward", fname, tf[0], tf[1],
                                    Double.NaN, err[0], err[1]);
                            BackwardOperands ops = BackwardOperands.routed(q, k, v, dO, l, lse, delta);
                            Runnable bwd = () -> {
                                rk.delta(sh, dO, o, null, delta);
                                rk.dKdV(sh, c.window(), scale, ops, dK, dV, seg);
                                rk.dQ(sh, c.window(), scale, ops, dQ, false, seg);
                            };
                            double[] tb = timing.measure(bwd);
                            BenchRow rb = new BenchRow(p.name(), s, route, rho, "backward", bname, tb[0], tb[1],
                                    Double.NaN, Double.NaN, Double.NaN);
                            for (BenchRow r : List.of(rf, rb)) {
                                out.println(r.format());
                                rows.add(r);
                            }
                            out.flush();
                        }
                    }
                }
            }
        }
        return rows;
    }

    static String lengths(int[] cu) {
        StringBuilder sb = new StringBuilder();
        for (int i = 1; i < cu.length; i++) {
            sb.append(i > 1 ? "," : "").append(cu[i] - cu[i - 1]);
        }
        return sb.toString();
    }

    /** The sampled-row errors of the packed forward (BenchCommand.sampledErrors over the host copies). */
    private static double[] check(Config c, Shape sh, Segments table, boolean[] z, DeviceBuffer q, DeviceBuffer k,
                                  DeviceBuffer v, DeviceBuffer o, DeviceBuffer lse, RoutedKernels rk, double scale) {
        boolean f = rk.floats();
        AttentionInputs in = AttentionInputs.builder(sh).q(q.readAll(sh.qSize(), f)).k(k.readAll(sh.kvSize(), f))
                .v(v.readAll(sh.kvSize(), f)).window(c.window()).scale(scale).route(Route.ofMask(1, sh.seqLen(), z))
                .estimator(Estimator.HARD).segments(table).build();
        return BenchCommand.sampledErrors(in, c.checkRows(), c.seed(), o, lse, f);
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
