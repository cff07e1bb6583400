package org.swiattn.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.swiattn.cuda.driver.CudaDevice;
import org.swiattn.cuda.driver.CudaTimer;
import org.swiattn.cuda.driver.DeviceBuffer;
import org.swiattn.cuda.bf16.Bf16Attention;
import org.swiattn.cuda.bf16.Bf16Kernels;
import org.swiattn.reference.ReferenceAttention;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.ErrorMeasures;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.Route;
import org.swiattn.spec.RowsResult;
import org.swiattn.spec.Shape;
import org.swiattn.spec.Visibility;

/**
 * The bf16 half of {@code swiattn bench} ({@code --dtype bf16}): times the bf16 kernels on fresh random bf16 data
 * generated on the GPU, with CUDA events after warm-up, median of the repeats (the method of the fp64/fp32 bench),
 * and optionally runs the PyTorch peers in the same invocation ({@code --peers}) and prints the ratios.
 *
 * <pre>
 *   forward    route compaction + (wgmma: V^T transpose) + the default variant, for every route; checked first on
 *              sampled rows against the fp64 reference (errO normwise, errLSE max abs)
 *   backward   delta + dK/dV + dQ of the HARD estimator (the selected branch; forward outside the timing), routes
 *              full, window and rho = 0.25 at the backward sequence lengths; tensor-core version (MMA), and at
 *              S &lt;= 4096 also the SIMT version, whose outputs the MMA ones are compared with (normwise)
 *   FLOPs      useful only: 4*D per visible (query, key) pair per head (forward), 2.5x that (backward: 5 products)
 *   peers      python3 bench/peers/peer_side_by_side.py --peers-only --backward (do_bench medians, L2 flushed);
 *              ratios peer/ours per op and mask
 * </pre>
 */
public final class Bf16Bench {
    private Bf16Bench() {
    }

    /** What to run (the BenchCommand options). */
    public record Config(int batch, int qHeads, int kvHeads, int headDim, int window, int warmup, int repeats,
                         List<Integer> seqs, List<String> routes, List<Integer> backwardSeqs, int checkRows,
                         long seed) {
    }

    /** One measured configuration (the fields of BenchCommand's table). */
    public record Result(int s, String route, double fullFraction, String op, String kernel, double ms, double msMin,
                         double tflops, double errO, double errLse) {
    }

    /** The hard mask [B,S] of a route name: full, window, or a full fraction rho (seeded Bernoulli). */
    static boolean[] mask(String route, int batch, int s, long seed) {
        boolean[] z = new boolean[batch * s];
        if (route.equals("full")) {
            Arrays.fill(z, true);
        } else if (!route.equals("window")) {
            double rho = Double.parseDouble(route);
            SplittableRandom rnd = new SplittableRandom(seed);
            for (int r = 0; r < z.length; r++) {
                z[r] = rnd.nextDouble() < rho;
            }
        }
        return z;
    }

    /** Useful forward FLOPs: 4*D per visible pair per query head. @param z [B*S] not modified */
    static double usefulFlops(boolean[] z, int batch, int s, int window, int headDim, int qHeads) {
        double pairs = 0;
        for (int b = 0; b < batch; b++) {
            pairs += Visibility.visiblePairs(Arrays.copyOfRange(z, b * s, (b + 1) * s), window);
        }
        return 4.0 * headDim * qHeads * pairs;
    }

    private static byte[] bytes(boolean[] z) {
        byte[] b = new byte[z.length];
        for (int n = 0; n < z.length; n++) {
            b[n] = (byte) (z[n] ? 1 : 0);
        }
        return b;
    }

    /** {median, min} of the repeats in ms, after warm-up. */
    static double[] time(CudaDevice dev, CudaTimer timer, Runnable run, int warmup, int repeats) {
        for (int i = 0; i < warmup; i++) {
            run.run();
        }
        dev.synchronize();
        double[] ms = new double[repeats];
        for (int i = 0; i < repeats; i++) {
            timer.start();
            run.run();
            ms[i] = timer.stop();
        }
        Arrays.sort(ms);
        return new double[] {ms[repeats / 2], ms[0]};
    }

    /**
     * Runs the sweep: for each S, the forward of every route, then (S in backwardSeqs) the backward.
     *
     * @param out receives one line per result as it is measured (formatted by {@code line})
     */
    public static List<Result> run(Config cfg, PrintWriter out, java.util.function.Function<Result, String> line) {
        CudaDevice dev = CudaDevice.get();
        Bf16Attention att = Bf16Attention.create();
        Bf16Kernels kn = att.kernels();
        Bf16Attention.Variant var = att.variantFor(cfg.headDim());
        if (var.headDim() != cfg.headDim()) {
            throw new org.swiattn.spec.InvalidInputException("headDim", "the bf16 bench runs D = 64 or 128 (the "
                    + "kernels' native sizes), got " + cfg.headDim());
        }
        List<Result> results = new ArrayList<>();
        for (int s : cfg.seqs()) {
            Shape sh = new Shape(cfg.batch(), s, cfg.qHeads(), cfg.kvHeads(), cfg.headDim());
            Bf16Kernels.Dims d = new Bf16Kernels.Dims(cfg.batch(), s, cfg.qHeads(), cfg.kvHeads(), var.headDim());
            double scale = sh.defaultScale();
            int w = cfg.window();
            try (DeviceBuffer q = DeviceBuffer.allocate(dev, 2 * d.qElems(), "q(bf16)");
                 DeviceBuffer k = DeviceBuffer.allocate(dev, 2 * d.kvElems(), "k(bf16)");
                 DeviceBuffer v = DeviceBuffer.allocate(dev, 2 * d.kvElems(), "v(bf16)");
                 DeviceBuffer dO = DeviceBuffer.allocate(dev, 2 * d.qElems(), "dO(bf16)");
                 DeviceBuffer o = DeviceBuffer.allocate(dev, 2 * d.qElems(), "o(bf16)");
                 DeviceBuffer lse = DeviceBuffer.allocate(dev, 4 * d.lseElems(), "lse");
                 DeviceBuffer delta = DeviceBuffer.allocate(dev, 4 * d.lseElems(), "delta");
                 DeviceBuffer dQ = DeviceBuffer.allocate(dev, 2 * d.qElems(), "dQ(bf16)");
                 DeviceBuffer dK = DeviceBuffer.allocate(dev, 2 * d.kvElems(), "dK(bf16)");
                 DeviceBuffer dV = DeviceBuffer.allocate(dev, 2 * d.kvElems(), "dV(bf16)");
                 DeviceBuffer order = DeviceBuffer.allocate(dev, 4L * d.rows(), "order");
                 DeviceBuffer nfull = DeviceBuffer.allocate(dev, 4L * d.batch(), "nfull");
                 DeviceBuffer vt = DeviceBuffer.allocate(dev, 2L * d.batch() * d.kvHeads() * d.dp() * d.paddedSeq(),
                         "vt");
                 CudaTimer timer = new CudaTimer(dev)) {
                // random N(0,1) bf16 inputs on the GPU (D = dp: no padding)
                kn.fillNormal(q, d.qElems(), cfg.seed(), 1.0);
                kn.fillNormal(k, d.kvElems(), cfg.seed() + 1, 1.0);
                kn.fillNormal(v, d.kvElems(), cfg.seed() + 2, 1.0);
                kn.fillNormal(dO, d.qElems(), cfg.seed() + 3, 1.0);
                dev.synchronize();
                double[][] host = cfg.checkRows() > 0 ? new double[][] {
                    Bf16Attention.unpackBf16(q.toInts((int) (d.qElems() / 2)), sh.rows() * sh.qHeads(), d.dp(), d.dp()),
                    Bf16Attention.unpackBf16(k.toInts((int) (d.kvElems() / 2)), sh.rows() * sh.kvHeads(), d.dp(), d.dp()),
                    Bf16Attention.unpackBf16(v.toInts((int) (d.kvElems() / 2)), sh.rows() * sh.kvHeads(), d.dp(), d.dp())}
                        : null;
                int n = 0;
                // 1. forward, every route
                for (String route : cfg.routes()) {
                    boolean[] z = mask(route, cfg.batch(), s, cfg.seed() + 100 + n++);
                    double flops = usefulFlops(z, cfg.batch(), s, w, cfg.headDim(), cfg.qHeads());
                    try (DeviceBuffer zd = DeviceBuffer.of(dev, bytes(z), "route")) {
                        Runnable run = () -> {
                            kn.compact(d, zd, order, nfull);
                            kn.forward(var, d, w, scale, q, k, v, vt, o, lse, order, nfull);
                        };
                        o.fill((byte) 0xFF);
                        run.run();
                        dev.synchronize();
                        double[] err = host == null ? new double[] {Double.NaN, Double.NaN}
                                : checkRows(cfg, sh, host, z, o, lse, d, scale);
                        double[] t = time(dev, timer, run, cfg.warmup(), cfg.repeats());
                        Result r = new Result(s, route, fraction(z), "forward", var.kernel().replace("swiattn_bf16_", ""),
                                t[0], t[1], flops / t[0] / 1e9, err[0], err[1]);
                        out.println(line.apply(r));
                        out.flush();
                        results.add(r);
                    }
                }
                // 2. backward (HARD: the selected branch), full / window / 0.25
                if (cfg.backwardSeqs().contains(s)) {
                    for (String route : new String[] {"full", "window", "0.25"}) {
                        boolean[] z = mask(route, cfg.batch(), s, cfg.seed() + 200 + n++);
                        double flops = 2.5 * usefulFlops(z, cfg.batch(), s, w, cfg.headDim(), cfg.qHeads());
                        results.addAll(backwardRuns(cfg, dev, kn, var, d, s, route, z, flops, scale, q, k, v, dO, o,
                                lse, delta, dQ, dK, dV, order, nfull, vt, timer, out, line));
                    }
                }
            }
        }
        return results;
    }

    private static double fraction(boolean[] z) {
        int f = 0;
        for (boolean x : z) {
            f += x ? 1 : 0;
        }
        return f / (double) z.length;
    }

    /** Timed backward of one route: MMA always; at S &lt;= 4096 also SIMT and the MMA-vs-SIMT difference. */
    private static List<Result> backwardRuns(Config cfg, CudaDevice dev, Bf16Kernels kn, Bf16Attention.Variant var,
                                             Bf16Kernels.Dims d, int s, String route, boolean[] z, double flops,
                                             double scale, DeviceBuffer q, DeviceBuffer k, DeviceBuffer v,
                                             DeviceBuffer dO, DeviceBuffer o, DeviceBuffer lse, DeviceBuffer delta,
                                             DeviceBuffer dQ, DeviceBuffer dK, DeviceBuffer dV, DeviceBuffer order,
                                             DeviceBuffer nfull, DeviceBuffer vt, CudaTimer timer, PrintWriter out,
                                             java.util.function.Function<Result, String> line) {
        List<Result> res = new ArrayList<>();
        int w = cfg.window();
        try (DeviceBuffer zd = DeviceBuffer.of(dev, bytes(z), "route")) {
            kn.compact(d, zd, order, nfull);
            kn.forward(var, d, w, scale, q, k, v, vt, o, lse, order, nfull);
            Runnable mma = () -> {
                kn.delta(d, dO, o, null, delta);
                kn.dKdVmma(d, w, scale, q, k, v, dO, order, nfull, lse, lse, delta, delta, null, null, dK, dV);
                kn.dQmma(d, w, scale, q, k, v, dO, order, nfull, lse, lse, delta, delta, null, null, dQ);
            };
            double[] t = time(dev, timer, mma, cfg.warmup(), cfg.repeats());
            Result r = new Result(s, route, fraction(z), "backward", "bwd_mma_d" + d.dp(), t[0], t[1],
                    flops / t[0] / 1e9, Double.NaN, Double.NaN);
            out.println(line.apply(r));
            out.flush();
            res.add(r);
            if (s > 4096) {
                return res;
            }
            // the SIMT version on the same inputs: timing, and the normwise difference of the outputs
            int nq = (int) (d.qElems() / 2);
            int nkv = (int) (d.kvElems() / 2);
            double[][] a = {unpack(dQ, nq), unpack(dK, nkv), unpack(dV, nkv)};
            try (org.swiattn.cuda.RouteCompaction.DeviceLists l =
                         org.swiattn.cuda.RouteCompaction.onDevice(dev, zd, d.batch(), d.seqLen());
                 DeviceBuffer dQacc = DeviceBuffer.allocate(dev, 4 * d.qElems(), "dQ(fp32)")) {
                Runnable simt = () -> {
                    kn.delta(d, dO, o, null, delta);
                    kn.dKdVsimt(d, w, scale, q, k, v, dO, l.listF, l.nF, l.listW, l.nW, lse, lse, delta, delta, null,
                            null, dK, dV);
                    kn.dQsimt(d, w, scale, q, k, v, dO, l.listF, l.nF, l.listW, l.nW, lse, lse, delta, delta, null,
                            null, dQacc, false);
                    kn.toBf16(dQacc, dQ, d.qElems());
                };
                double[] ts = time(dev, timer, simt, Math.min(cfg.warmup(), 1), Math.min(cfg.repeats(), 3));
                dev.synchronize();
                double[][] b = {unpack(dQ, nq), unpack(dK, nkv), unpack(dV, nkv)};
                double diff = 0;
                for (int t2 = 0; t2 < 3; t2++) {
                    diff = Math.max(diff, ErrorMeasures.normwiseRelative(a[t2], b[t2]));
                }
                // errO column: the largest normwise MMA-vs-SIMT difference of dQ, dK, dV
                Result rs = new Result(s, route, fraction(z), "backward", "bwd_simt_d" + d.dp(), ts[0], ts[1],
                        flops / ts[0] / 1e9, diff, Double.NaN);
                out.println(line.apply(rs));
                out.flush();
                res.add(rs);
            }
        }
        return res;
    }

    private static double[] unpack(DeviceBuffer x, int words) {
        int[] p = x.toInts(words);
        double[] out = new double[2 * words];
        for (int n = 0; n < out.length; n++) {
            int wd = p[n >> 1];
            out[n] = org.swiattn.spec.Bf16.value((short) ((n & 1) == 0 ? wd : wd >>> 16));
        }
        return out;
    }

    /** errO (normwise) and max |LSE error| on sampled rows vs the fp64 reference (always the last row). */
    private static double[] checkRows(Config cfg, Shape sh, double[][] host, boolean[] z, DeviceBuffer o,
                                      DeviceBuffer lse, Bf16Kernels.Dims d, double scale) {
        Route route = Route.ofMask(sh.batch(), sh.seqLen(), z);
        AttentionInputs in = AttentionInputs.builder(sh).q(host[0]).k(host[1]).v(host[2]).window(cfg.window())
                .scale(scale).route(route).estimator(Estimator.HARD).build();
        int[] rows = new int[cfg.checkRows()];
        SplittableRandom rnd = new SplittableRandom(cfg.seed() + 7);
        for (int i = 0; i < rows.length; i++) {
            rows[i] = i == 0 ? sh.rows() - 1 : rnd.nextInt(sh.rows());
        }
        RowsResult ref = new ReferenceAttention(true).forwardRows(in, rows);
        double[] gotO = Bf16Attention.unpackBf16(o.toInts((int) (d.qElems() / 2)), sh.rows() * sh.qHeads(), d.dp(),
                d.dp());
        float[] gotL = lse.toFloats((int) d.lseElems());
        int hd = sh.qHeads() * sh.headDim();
        double[] mo = new double[rows.length * hd];
        double[] ml = new double[rows.length * sh.qHeads()];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(gotO, rows[i] * hd, mo, i * hd, hd);
            for (int h = 0; h < sh.qHeads(); h++) {
                ml[i * sh.qHeads() + h] = gotL[rows[i] * sh.qHeads() + h];
            }
        }
        return new double[] {ErrorMeasures.normwiseRelative(mo, ref.o()), ErrorMeasures.maxAbs(ml, ref.lse())};
    }

    // ------------------------------------------------------------------------------------------------------------
    // peers

    /** One peer timing: S, kernel (sdpa_full, flex_full, flex_window, flex_routed_compact), op, ms, rho. */
    public record Peer(int s, String kernel, String op, double ms, double rho) {
    }

    /**
     * Parses the peer script's machine-readable lines ("PEER\tS\tkernel\top\tms\trho"); other lines are ignored.
     *
     * @param lines not modified
     */
    public static List<Peer> parsePeers(List<String> lines) {
        List<Peer> peers = new ArrayList<>();
        for (String l : lines) {
            if (!l.startsWith("PEER\t")) {
                continue;
            }
            String[] f = l.split("\t");
            if (f.length != 6) {
                throw new IllegalArgumentException("peer line: expected 6 tab-separated fields, got " + f.length
                        + ": " + l);
            }
            peers.add(new Peer(Integer.parseInt(f[1]), f[2], f[3], Double.parseDouble(f[4]), Double.parseDouble(f[5])));
        }
        return peers;
    }

    /**
     * Runs the peer script ({@code python -u script --peers-only --backward --sizes S...}) in this process's working
     * directory, echoing its output to log (may be null), and returns its timings.
     */
    public static List<Peer> runPeers(String python, String script, List<Integer> sizes, PrintWriter log)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(python, "-u", script, "--peers-only", "--backward", "--sizes"));
        sizes.forEach(s -> cmd.add(Integer.toString(s)));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("PYTHONUNBUFFERED", "1");
        Process p = pb.start();
        List<String> lines = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String l = r.readLine(); l != null; l = r.readLine()) {
                lines.add(l);
                if (log != null) {
                    log.println("  [peers] " + l);
                    log.flush();
                }
            }
        }
        int rc = p.waitFor();
        if (rc != 0) {
            throw new IOException("peer script " + String.join(" ", cmd) + " exited with status " + rc);
        }
        return parsePeers(lines);
    }

    /**
     * The ratio table: for each S and op, each of our masks against the peers computing the same mask (ratio =
     * peer ms / our ms, above 1 = ours faster), and the routed run against the ideal rho*SDPA + (1-rho)*FlexWindow
     * (ours / ideal, goal &lt;= 1.1). Our routed rho and the peers' differ slightly (independent draws); the
     * ideal uses the peers' rho.
     *
     * @param ours  not modified
     * @param peers not modified
     */
    public static List<String> ratios(List<Result> ours, List<Peer> peers) {
        List<String> out = new ArrayList<>();
        out.add(String.format(Locale.ROOT, "%6s %-8s %-7s %10s  %s", "S", "op", "mask", "ours ms", "peer ms and ratio "
                + "peer/ours (> 1: ours faster)"));
        for (Result r : ours) {
            if (r.kernel().startsWith("bwd_simt")) {
                continue;
            }
            Map<String, Double> pm = new LinkedHashMap<>();
            double rho = 0.25;
            for (Peer p : peers) {
                if (p.s() == r.s() && p.op().equals(r.op())) {
                    pm.put(p.kernel(), p.ms());
                    if (p.kernel().equals("flex_routed_compact")) {
                        rho = p.rho();
                    }
                }
            }
            if (pm.isEmpty()) {
                continue;
            }
            String mask = r.route().equals("full") ? "full" : r.route().equals("window") ? "window" : "routed";
            StringBuilder sb = new StringBuilder();
            List<String> same = switch (mask) {
                case "full" -> List.of("sdpa_full", "flex_full");
                case "window" -> List.of("flex_window");
                default -> List.of("flex_routed_compact");
            };
            for (String kname : same) {
                Double ms = pm.get(kname);
                if (ms != null) {
                    sb.append(String.format(Locale.ROOT, "  %s %.3f -> %.3f", kname, ms, ms / r.ms()));
                }
            }
            if (mask.equals("routed") && pm.containsKey("sdpa_full") && pm.containsKey("flex_window")) {
                double ideal = rho * pm.get("sdpa_full") + (1 - rho) * pm.get("flex_window");
                sb.append(String.format(Locale.ROOT, "  ideal %.3f -> ours/ideal %.3f", ideal, r.ms() / ideal));
            }
            out.add(String.format(Locale.ROOT, "%6d %-8s %-7s %10.3f %s", r.s(), r.op(), mask, r.ms(), sb));
        }
        return out;
    }
}
