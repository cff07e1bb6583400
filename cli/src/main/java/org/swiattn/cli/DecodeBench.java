package org.swiattn.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.swiattn.cuda.DecodeKernels;
import org.swiattn.cuda.DecodePlan;
import org.swiattn.cuda.DeviceTensors;
import org.swiattn.cuda.driver.CudaDevice;
import org.swiattn.cuda.driver.DeviceBuffer;
import org.swiattn.reference.PlainAttention;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.ErrorMeasures;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.Precision;
import org.swiattn.spec.Route;
import org.swiattn.spec.Segments;
import org.swiattn.spec.Shape;

/**
 * {@code swiattn bench --mode decode}: one routed decode step (Sq = 1) of B sequences against a KV cache of
 * capacity and length {@code --cache}, fresh random data generated on the GPU, by the bench's timing method.
 *
 * <pre>{@code
 *   routes     full, window, or rho: exactly round(rho * B) full rows, spread evenly (row b full iff
 *              floor((b+1) nF / B) > floor(b nF / B)); window rows read their last w keys
 *   timed      the one launch of the split kernel over the plan's items, merging in the same launch (the plan
 *              is made on the host and uploaded before, as FlashInfer and FlashDecoding plan ahead of the launch)
 *   floor      bytes the routed batch must move: K and V of every visible key (per kv head), Q and O; over the
 *              device-to-device copy bandwidth measured in the same run (--peers): the memory floor
 *   check      before timing, one row per route (alternately full and window) against PlainAttention on that
 *              row's spec 2.0 kvCache inputs (errO normwise, errLSE max abs)
 * }</pre>
 */
final class DecodeBench {
    private DecodeBench() {
    }

    /** What to run. maskDir: where the route masks are written for the peers, or null. */
    record Config(int qHeads, int kvHeads, int headDim, int window, int cache, List<Integer> batches,
                  List<String> routes, boolean checkRows, long seed, Path maskDir,
                  List<DecodeKernels.Version> bf16Versions, List<Integer> pieceTiles) {
    }

    /** One measured decode step. floorBytes: the K, V, Q, O bytes the routed batch must move. */
    record Row(String precision, int batch, int cache, String route, double fullFraction, String kernel, double ms,
               double msMin, double floorBytes, double errO, double errLse) {
        static String header() {
            return String.format(Locale.ROOT, "%-5s %4s %6s %-7s %6s %-22s %9s %9s %9s %9s %9s", "prec", "B", "cache",
                    "route", "rho", "kernel", "ms(med)", "ms(min)", "GB/s", "errO", "errLSE");
        }

        String format() {
            return String.format(Locale.ROOT, "%-5s %4d %6d %-7s %6.3f %-22s %9.4f %9.4f %9.1f %9s %9s", precision,
                    batch, cache, route, fullFraction, kernel, ms, msMin, floorBytes / ms / 1e6, BenchRow.num(errO),
                    BenchRow.num(errLse));
        }

        String json() {
            return String.format(Locale.ROOT, "{\"precision\":\"%s\",\"op\":\"decode\",\"B\":%d,\"cache\":%d,"
                    + "\"route\":\"%s\",\"full_fraction\":%.4f,\"kernel\":\"%s\",\"ms\":%.5f,\"ms_min\":%.5f,"
                    + "\"floor_bytes\":%.0f,\"err_o\":%s,\"err_lse\":%s}", precision, batch, cache, route,
                    fullFraction, kernel, ms, msMin, floorBytes, BenchRow.num(errO), BenchRow.num(errLse));
        }
    }

    /** The route of B decode rows: exactly round(rho * B) full rows, spread evenly (full, window: all or none). */
    static boolean[] route(String route, int batch) {
        int nFull = route.equals("full") ? batch : route.equals("window") ? 0
                : (int) Math.round(BenchRoutes.rho(route) * batch);
        boolean[] z = new boolean[batch];
        for (int b = 0; b < batch; b++) {
            z[b] = (long) (b + 1) * nFull / batch > (long) b * nFull / batch;
        }
        return z;
    }

    /** The mask file of a decode route for the peers. */
    static Path maskFile(Path dir, int batch, String route) {
        return dir.resolve("decode_mask_B" + batch + "_rho" + route + ".u8");
    }

    /** Runs every (precision, B, route). @param out one line per result as it is measured */
    static List<Row> run(Config cfg, List<Precision> precisions, BenchTiming timing, PrintWriter out)
            throws IOException {
        CudaDevice dev = CudaDevice.get();
        List<Row> rows = new ArrayList<>();
        int d = cfg.headDim();
        int sk = cfg.cache();
        for (Precision p : precisions) {
            List<DecodeKernels.Version> vers = p == Precision.BF16 ? cfg.bf16Versions()
                    : List.of(DecodeKernels.Version.SIMT);
            for (DecodeKernels.Version ver : vers) {
                DecodeKernels.checkHeadDim(ver, p, d);
            }
            DecodeKernels kn = new DecodeKernels(dev, p);
            int es = DeviceTensors.storageBytes(p);
            int cb = DeviceTensors.computeBytes(p);
            for (int batch : cfg.batches()) {
                long qElems = (long) batch * cfg.qHeads() * d;
                long kvElems = (long) batch * sk * cfg.kvHeads() * d;
                try (DeviceBuffer q = DeviceBuffer.allocate(dev, qElems * es, "q");
                     DeviceBuffer k = DeviceBuffer.allocate(dev, kvElems * es, "k cache");
                     DeviceBuffer v = DeviceBuffer.allocate(dev, kvElems * es, "v cache");
                     DeviceBuffer o = DeviceBuffer.allocate(dev, qElems * es, "o");
                     DeviceBuffer lse = DeviceBuffer.allocate(dev, (long) batch * cfg.qHeads() * cb, "lse")) {
                    DeviceTensors.fillNormal(dev, q, p, qElems, cfg.seed(), 1.0);
                    DeviceTensors.fillNormal(dev, k, p, kvElems, cfg.seed() + 1, 1.0);
                    DeviceTensors.fillNormal(dev, v, p, kvElems, cfg.seed() + 2, 1.0);
                    dev.synchronize();
                    int n = 0;
                    for (String route : cfg.routes()) {
                        boolean[] z = route(route, batch);
                        if (cfg.maskDir() != null && p == precisions.get(0)) {
                            Files.createDirectories(cfg.maskDir());
                            Files.write(maskFile(cfg.maskDir(), batch, route), BenchRoutes.bytes(z));
                        }
                        int w = Math.min(cfg.window(), sk);
                        int[] first = new int[batch];
                        int[] end = new int[batch];
                        double keys = 0;
                        for (int b = 0; b < batch; b++) {
                            first[b] = z[b] ? 0 : sk - w;
                            end[b] = sk;
                            keys += end[b] - first[b];
                        }
                        double floor = (keys * cfg.kvHeads() * d * 2 + 2.0 * qElems) * es;
                        for (DecodeKernels.Version ver : vers) {
                            for (int tiles : cfg.pieceTiles()) {
                                DecodePlan plan = tiles == 0 ? DecodePlan.of(first, end, cfg.kvHeads(), kn.slots(ver, d))
                                        : DecodePlan.withPieceSize(first, end, cfg.kvHeads(), tiles);
                                String kname = ver.name().toLowerCase(Locale.ROOT) + "_" + p.name().toLowerCase(Locale.ROOT)
                                        + "_d" + d + (tiles == 0 ? "" : "/P" + tiles);
                                rows.add(measure(cfg, p, kn, ver, plan, kname, batch, route, z, floor, n, q, k, v, o,
                                        lse, timing, out));
                            }
                        }
                        n++;
                    }
                }
            }
        }
        return rows;
    }

    /** One (version, plan) of one (B, route): checked on one row, then timed. */
    private static Row measure(Config cfg, Precision p, DecodeKernels kn, DecodeKernels.Version ver, DecodePlan plan,
                               String kname, int batch, String route, boolean[] z, double floor, int n, DeviceBuffer q,
                               DeviceBuffer k, DeviceBuffer v, DeviceBuffer o, DeviceBuffer lse, BenchTiming timing,
                               PrintWriter out) {
        CudaDevice dev = CudaDevice.get();
        int d = cfg.headDim();
        int sk = cfg.cache();
        long parts = DecodeKernels.partialElems(plan, cfg.qHeads(), cfg.kvHeads(), d);
        int cb = DeviceTensors.computeBytes(p);
        try (DecodeKernels.DevicePlan dp = kn.upload(plan);
             DeviceBuffer oPart = DeviceBuffer.allocate(dev, parts * cb, "oPart");
             DeviceBuffer lsePart = DeviceBuffer.allocate(dev, parts / d * cb, "lsePart")) {
            Runnable step = () -> kn.forward(ver, sk, cfg.qHeads(), cfg.kvHeads(), d, 1 / Math.sqrt(d), q, k, v, dp,
                    oPart, lsePart, o, lse);
            o.fill((byte) 0xFF);
            step.run();
            dev.synchronize();
            double[] err = {Double.NaN, Double.NaN};
            if (cfg.checkRows()) {
                int b = firstRow(z, n % 2 == 0);
                err = check(cfg, p, b, z[b], q, k, v, o, lse);
            }
            double[] t = timing.measure(step);
            Row r = new Row(p.name(), batch, sk, route, BenchRoutes.fraction(z), kname, t[0], t[1], floor, err[0],
                    err[1]);
            out.println(r.format());
            out.flush();
            return r;
        }
    }

    /** The first full (or window) row, else row 0. */
    private static int firstRow(boolean[] z, boolean full) {
        for (int b = 0; b < z.length; b++) {
            if (z[b] == full) {
                return b;
            }
        }
        return 0;
    }

    /** Row b against PlainAttention on its own kvCache inputs (B = 1, Sq = 1, the whole cache). */
    private static double[] check(Config cfg, Precision p, int b, boolean full, DeviceBuffer q, DeviceBuffer k,
                                  DeviceBuffer v, DeviceBuffer o, DeviceBuffer lse) {
        int d = cfg.headDim();
        int sk = cfg.cache();
        Shape sh = new Shape(1, 1, cfg.qHeads(), cfg.kvHeads(), d, sk);
        double[] qr = DeviceTensors.readVectors(q, p, (long) b * cfg.qHeads(), cfg.qHeads(), d);
        double[] kr = DeviceTensors.readVectors(k, p, (long) b * sk * cfg.kvHeads(), sk * cfg.kvHeads(), d);
        double[] vr = DeviceTensors.readVectors(v, p, (long) b * sk * cfg.kvHeads(), sk * cfg.kvHeads(), d);
        AttentionInputs in = AttentionInputs.builder(sh).q(qr).k(kr).v(vr).window(cfg.window())
                .route(full ? Route.allFull(1, 1) : Route.allWindow(1, 1))
                .segments(Segments.kvCache(sh, new int[] {sk})).build();
        ForwardResult ref = new PlainAttention().forward(in);
        double[] got = DeviceTensors.readVectors(o, p, (long) b * cfg.qHeads(), cfg.qHeads(), d);
        double[] gotLse = lse.read((long) b * cfg.qHeads(), cfg.qHeads(), p != Precision.FP64);
        return new double[] {ErrorMeasures.normwiseRelative(got, ref.o()), ErrorMeasures.maxAbs(gotLse, ref.lse())};
    }

    /**
     * The decode table: each row's memory floor (bytes over the copy bandwidth of the run), ours / floor, the peers
     * on the same routes (ratio = peer ms / ours), and the linearity in rho at each (precision, B): ours against
     * rho * all-full + (1 - rho) * all-window.
     *
     * @param ours  not modified
     * @param peers not modified
     */
    static List<String> ratios(List<Row> ours, PeerRun.Result peers) {
        List<String> out = new ArrayList<>();
        double bw = peers.limit("copy_d2d");
        out.add(String.format(Locale.ROOT, "%-5s %4s %-7s %6s %-24s %9s %9s %8s %7s  %s", "prec", "B", "route",
                "rho", "kernel", "ours ms", "floor ms", "ours/flr", "linear",
                "peer ms and ratio peer/ours (> 1: ours faster)"));
        Map<String, Row> byKey = new LinkedHashMap<>();
        ours.forEach(r -> byKey.put(r.precision() + "/" + r.kernel() + "/" + r.batch() + "/" + r.route(), r));
        for (Row r : ours) {
            double floorMs = r.floorBytes() / bw / 1e6;
            Row full = byKey.get(r.precision() + "/" + r.kernel() + "/" + r.batch() + "/full");
            Row win = byKey.get(r.precision() + "/" + r.kernel() + "/" + r.batch() + "/window");
            String lin = "-";
            if (full != null && win != null) {
                double pred = r.fullFraction() * full.ms() + (1 - r.fullFraction()) * win.ms();
                lin = String.format(Locale.ROOT, "%+.1f%%", 100 * (r.ms() / pred - 1));
            }
            StringBuilder sb = new StringBuilder();
            String dtype = r.precision().toLowerCase(Locale.ROOT);
            double best = Double.NaN;
            java.util.Set<String> seen = new java.util.HashSet<>();
            for (PeerRun.Peer p : peers.peers()) {
                // the same (B, rho) is the same route: routes that draw it (window, 0.1 at B = 1) share one timing
                if (p.dtype().equals(dtype) && p.op().equals("decode") && p.s() == r.batch()
                        && Math.abs(p.rho() - r.fullFraction()) < 1e-9 && seen.add(p.kernel())) {
                    if (Double.isNaN(p.ms())) {
                        sb.append(String.format(Locale.ROOT, "  %s: %s", p.kernel(), p.note()));
                    } else {
                        sb.append(String.format(Locale.ROOT, "  %s %.4f -> %.2f", p.kernel(), p.ms(), p.ms() / r.ms()));
                        best = Double.isNaN(best) ? p.ms() : Math.min(best, p.ms());
                    }
                }
            }
            if (!Double.isNaN(best)) {
                sb.append(String.format(Locale.ROOT, "  best peer -> %.2f", best / r.ms()));
            }
            out.add(String.format(Locale.ROOT, "%-5s %4d %-7s %6.3f %-24s %9.4f %9s %8s %7s %s", r.precision(),
                    r.batch(), r.route(), r.fullFraction(), r.kernel(), r.ms(), Double.isNaN(bw) ? "-" : String.format(Locale.ROOT, "%.4f",
                            floorMs), Double.isNaN(bw) ? "-" : String.format(Locale.ROOT, "%.3f", r.ms() / floorMs),
                    lin, sb));
        }
        return out;
    }
}
