package org.swiattn.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.swiattn.cuda.BackwardOperands;
import org.swiattn.cuda.RouteCompaction;
import org.swiattn.cuda.bf16.Bf16Attention;
import org.swiattn.cuda.bf16.Bf16Kernels;
import org.swiattn.cuda.driver.CudaDevice;
import org.swiattn.cuda.driver.DeviceBuffer;
import org.swiattn.reference.ReferenceAttention;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.Bf16;
import org.swiattn.spec.ErrorMeasures;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.InvalidInputException;
import org.swiattn.spec.Route;
import org.swiattn.spec.RowsResult;
import org.swiattn.spec.Shape;

/**
 * The bf16 half of {@code swiattn bench} ({@code --dtype bf16}): times the bf16 kernels on fresh random bf16 data
 * generated on the GPU, by the bench's one timing method ({@link BenchTiming}).
 *
 * <pre>{@code
 *   forward    route compaction + the variant of each --bf16-forward entry (the default instance's unless told),
 *              for every route; checked first on sampled rows against the fp64 reference (errO normwise, errLSE
 *              max abs)
 *   backward   delta + dK/dV + dQ of the HARD estimator (the selected branch; forward outside the timing), for
 *              the backward routes at the backward sequence lengths; the versions of --backward-versions in order
 *              (default: the device's default tensor-core version, and at S <= 4096 the SIMT version; SIMT never
 *              above 4096),
 *              each later one compared with the first (normwise, errO column; MMA on 2 streams vs 1: 0, bit for
 *              bit)
 *   FLOPs      useful only: 4*D per visible (query, key) pair per head (forward), 2.5x that (backward: 5 products)
 * }</pre>
 */
final class Bf16Bench {
    private Bf16Bench() {
    }

    /**
     * What to run (the BenchCommand options). backwardVersions: the backward versions to time, in order (empty: the
     * device's default tensor-core version and SIMT); maskDir: where rho masks are written for the peers, or null.
     */
    record Config(int batch, int qHeads, int kvHeads, int headDim, int window, List<Integer> seqs,
                  List<String> routes, List<Integer> backwardSeqs, List<String> backwardRoutes,
                  List<Bf16Kernels.BackwardVersion> backwardVersions, int checkRows, long seed, Path maskDir,
                  List<String> forwardVersions, List<Integer> backwardStreams) {
        /**
         * The backward versions timed at S (SIMT at S <= 4096 only); tensorCores: the device's default tensor-core
         * version ({@link Bf16Attention#defaultBackward}).
         */
        List<Bf16Kernels.BackwardVersion> backwardVersionsAt(int s, Bf16Kernels.BackwardVersion tensorCores) {
            List<Bf16Kernels.BackwardVersion> vs = backwardVersions.isEmpty()
                    ? List.of(tensorCores, Bf16Kernels.BackwardVersion.SIMT) : backwardVersions;
            return vs.stream().filter(v -> v != Bf16Kernels.BackwardVersion.SIMT || s <= 4096).toList();
        }

        /** The kernel column of a backward version's rows. */
        static String backwardKernel(Bf16Kernels.BackwardVersion v, int dp) {
            return v.tensorCores() ? "bwd_" + v.tag() + "_bf16_d" + dp : "bwd_v2_bf16_d" + dp + " (simt)";
        }
    }

    /**
     * The instance of a {@code --bf16-forward} entry: "default" ({@link Bf16Attention#create}) or a forward version
     * ({@link Bf16Attention#forwardVersions}, {@link Bf16Attention#ofVersion}).
     */
    static Bf16Attention instance(String version) {
        return version.equals("default") ? Bf16Attention.create() : Bf16Attention.ofVersion(Integer.parseInt(version));
    }

    /** Checks a {@code --bf16-forward} entry without a GPU: "default" or the kind of a forward variant. */
    static boolean isForwardVersion(String version) {
        return version.equals("default")
                || Bf16Attention.forwardVersions().stream().anyMatch(k -> Integer.toString(k).equals(version));
    }

    /**
     * Runs the sweep: for each S, the forward of every route, then (S in backwardSeqs) the backward.
     *
     * @param out receives one line per result as it is measured
     */
    static List<BenchRow> run(Config cfg, BenchTiming timing, PrintWriter out) throws IOException {
        CudaDevice dev = CudaDevice.get();
        // the first --bf16-forward entry also runs the backward's forward
        List<Bf16Attention.Variant> vars = new ArrayList<>();
        for (String fv : cfg.forwardVersions()) {
            vars.add(instance(fv).variantFor(cfg.headDim()));
        }
        Bf16Attention.Variant var = vars.get(0);
        Bf16Kernels kn = Bf16Attention.create().kernels();
        for (Bf16Kernels.BackwardVersion b : cfg.backwardVersions()) {
            Bf16Attention.checkBackward(b, dev);
        }
        if (var.headDim() != cfg.headDim()) {
            throw new InvalidInputException("headDim", "the bf16 bench runs D = 64 or 128 (the kernels' native "
                    + "sizes), got " + cfg.headDim());
        }
        List<BenchRow> results = new ArrayList<>();
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
                 DeviceBuffer dV = DeviceBuffer.allocate(dev, 2 * d.kvElems(), "dV(bf16)")) {
                // random N(0,1) bf16 inputs on the GPU (D = dp: no padding)
                kn.fillNormal(q, d.qElems(), cfg.seed(), 1.0);
                kn.fillNormal(k, d.kvElems(), cfg.seed() + 1, 1.0);
                kn.fillNormal(v, d.kvElems(), cfg.seed() + 2, 1.0);
                kn.fillNormal(dO, d.qElems(), cfg.seed() + 3, 1.0);
                dev.synchronize();
                double[][] host = cfg.checkRows() > 0 ? new double[][] {unpack(q, d.qElems()), unpack(k, d.kvElems()),
                    unpack(v, d.kvElems())} : null;
                // 1. forward, every route and variant
                for (String route : cfg.routes()) {
                    boolean[] z = mask(cfg, s, route);
                    double flops = BenchRoutes.usefulFlops(z, cfg.batch(), s, w, cfg.headDim(), cfg.qHeads());
                    try (DeviceBuffer zd = DeviceBuffer.of(dev, BenchRoutes.bytes(z), "route");
                         RouteCompaction.DeviceLists l = RouteCompaction.onDevice(dev, zd, d.batch(), s)) {
                        for (Bf16Attention.Variant fv : vars) {
                            Runnable run = () -> {
                                kn.compact(d, zd, l);
                                kn.forward(fv, d, w, scale, q, k, v, o, lse, l);
                            };
                            o.fill((byte) 0xFF);
                            run.run();
                            dev.synchronize();
                            double[] err = host == null ? new double[] {Double.NaN, Double.NaN}
                                    : checkRows(cfg, sh, host, z, o, lse, d, scale);
                            double[] t = timing.measure(run);
                            BenchRow r = new BenchRow("BF16", s, route, BenchRoutes.fraction(z), "forward",
                                    fv.kernel().replace("swi_", ""), t[0], t[1], flops / t[0] / 1e9, err[0], err[1]);
                            out.println(r.format());
                            out.flush();
                            results.add(r);
                        }
                    }
                }
                // 2. backward (HARD: the selected branch)
                if (cfg.backwardSeqs().contains(s)) {
                    for (String route : cfg.backwardRoutes()) {
                        boolean[] z = mask(cfg, s, route);
                        double flops = 2.5 * BenchRoutes.usefulFlops(z, cfg.batch(), s, w, cfg.headDim(), cfg.qHeads());
                        results.addAll(backwardRuns(cfg, timing, dev, kn, var, d, s, route, z, flops, scale,
                                new DeviceBuffer[] {q, k, v, dO, o, lse, delta, dQ, dK, dV}, out));
                    }
                }
            }
        }
        return results;
    }

    /** The mask of a route at S, written for the peers when it is a rho route. */
    private static boolean[] mask(Config cfg, int s, String route) throws IOException {
        boolean[] z = BenchRoutes.mask(route, cfg.batch(), s,
                BenchRoutes.maskSeed(cfg.seed(), cfg.routes(), cfg.backwardRoutes(), route));
        if (cfg.maskDir() != null && !route.equals("full") && !route.equals("window")) {
            BenchRoutes.writeMask(cfg.maskDir(), s, route, z);
        }
        return z;
    }

    /**
     * Timed backward of one route, each version of {@link Config#backwardVersionsAt} on the same inputs; the errO
     * column of every version after the first: the largest normwise difference of its dQ, dK, dV from the first's.
     *
     * @param t {q, k, v, dO, o, lse, delta, dQ, dK, dV}: inputs not modified, the others overwritten
     */
    private static List<BenchRow> backwardRuns(Config cfg, BenchTiming timing, CudaDevice dev, Bf16Kernels kn,
                                               Bf16Attention.Variant var, Bf16Kernels.Dims d, int s, String route,
                                               boolean[] z, double flops, double scale, DeviceBuffer[] t,
                                               PrintWriter out) {
        DeviceBuffer q = t[0], k = t[1], v = t[2], dO = t[3], o = t[4], lse = t[5], delta = t[6], dQ = t[7],
                dK = t[8], dV = t[9];
        List<BenchRow> res = new ArrayList<>();
        int w = cfg.window();
        double frac = BenchRoutes.fraction(z);
        List<Bf16Kernels.BackwardVersion> versions = cfg.backwardVersionsAt(s, Bf16Attention.defaultBackward(dev));
        try (DeviceBuffer zd = DeviceBuffer.of(dev, BenchRoutes.bytes(z), "route");
             RouteCompaction.DeviceLists l = RouteCompaction.onDevice(dev, zd, d.batch(), d.seqLen());
             DeviceBuffer dQacc = versions.contains(Bf16Kernels.BackwardVersion.SIMT)
                     ? DeviceBuffer.allocate(dev, 4 * d.qElems(), "dQ(fp32)") : null) {
            kn.forward(var, d, w, scale, q, k, v, o, lse, l);
            BackwardOperands ops = BackwardOperands.routed(q, k, v, dO, l, lse, delta);
            double[][] first = null;
            // every version on each --backward-streams count (SIMT: one stream)
            record Run(Bf16Kernels.BackwardVersion ver, int streams) {
            }
            List<Run> runs = new ArrayList<>();
            for (Bf16Kernels.BackwardVersion ver : versions) {
                for (int streams : ver == Bf16Kernels.BackwardVersion.SIMT ? List.of(1) : cfg.backwardStreams()) {
                    runs.add(new Run(ver, streams));
                }
            }
            for (Run x : runs) {
                Bf16Kernels.BackwardVersion ver = x.ver();
                int streams = x.streams();
                Runnable run = ver.tensorCores() ? () -> {  // dK/dV and dQ on 1 or 2 streams (CudaDevice.onStreams)
                    kn.delta(d, dO, o, null, delta);
                    dev.onStreams(streams, () -> kn.dKdVmma(ver, d, w, scale, ops, dK, dV, null),
                            () -> kn.dQmma(ver, d, w, scale, ops, false, dQ, null));
                } : () -> {
                    kn.delta(d, dO, o, null, delta);
                    kn.dKdVsimt(d, w, scale, ops, dK, dV);
                    kn.dQsimt(d, w, scale, ops, dQacc, false);
                    kn.toBf16(dQacc, dQ, d.qElems());
                };
                double[] tm = timing.measure(run);
                double diff = Double.NaN;
                if (runs.size() > 1) {
                    dev.synchronize();
                    double[][] got = {unpack(dQ, d.qElems()), unpack(dK, d.kvElems()), unpack(dV, d.kvElems())};
                    if (first == null) {
                        first = got;
                    } else {
                        diff = 0;
                        for (int n = 0; n < 3; n++) {
                            diff = Math.max(diff, ErrorMeasures.normwiseRelative(got[n], first[n]));
                        }
                    }
                }
                String kname = Config.backwardKernel(ver, d.dp())
                        + BenchRow.streams(streams, Bf16Attention.DEFAULT_BACKWARD_STREAMS);
                BenchRow r = new BenchRow("BF16", s, route, frac, "backward", kname, tm[0], tm[1],
                        flops / tm[0] / 1e9, diff, Double.NaN);
                out.println(r.format());
                out.flush();
                res.add(r);
            }
        }
        return res;
    }

    /** A bf16 device tensor of n elements as doubles. */
    static double[] unpack(DeviceBuffer x, long n) {
        int[] p = x.toInts((int) (n / 2));
        double[] out = new double[2 * p.length];
        for (int i = 0; i < out.length; i++) {
            int wd = p[i >> 1];
            out[i] = Bf16.value((short) ((i & 1) == 0 ? wd : wd >>> 16));
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
        double[] gotO = unpack(o, d.qElems());
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
}
