package org.swiattn.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.swiattn.cuda.driver.CudaDevice;
import org.swiattn.cuda.driver.CudaTimer;
import org.swiattn.cuda.driver.CudaUnavailableException;
import org.swiattn.cuda.driver.DeviceBuffer;
import org.swiattn.cuda.KernelPlan;
import org.swiattn.cuda.RouteCompaction;
import org.swiattn.cuda.RoutedKernels;
import org.swiattn.golden.BadInputException;
import org.swiattn.golden.SafeFiles;
import org.swiattn.reference.ReferenceAttention;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.ErrorMeasures;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.Precision;
import org.swiattn.spec.Route;
import org.swiattn.spec.RowsResult;
import org.swiattn.spec.Shape;
import org.swiattn.spec.Visibility;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code swiattn bench}: times the CUDA routed attention on fresh random data generated on the GPU (never zeros),
 * with CUDA events, after warm-up, reporting the median of the repeats in ms and in useful TFLOP/s (4*D FLOPs per
 * visible (query, key) pair per head: only the work the route asks for counts). Routed times include the GPU route
 * compaction. Every configuration is first checked against the fp64 reference on sampled rows (forward), and the
 * backward against the reference on sampled key rows at small S by the test suite.
 *
 * <pre>
 *   routes   full (all tokens full = causal attention), window (all window), or a full fraction rho in (0,1):
 *            each token full with probability rho (seeded)
 * </pre>
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Benchmark the CUDA routed attention (fp64 / fp32): ms and useful TFLOP/s, median of repeats.",
            "Inputs are random N(0,1) generated on the GPU; rows are checked against the fp64 reference first."})
public final class BenchCommand implements Callable<Integer> {
    @Option(names = "--precision", split = ",", defaultValue = "FP64,FP32", description = "FP64 and/or FP32")
    List<Precision> precisions;

    @Option(names = "--seq", split = ",", defaultValue = "4096,32768", description = "sequence lengths S")
    List<Integer> seqs;

    @Option(names = "--routes", split = ",", defaultValue = "full,window,0.1,0.25,0.5",
            description = "full, window, or full fractions rho")
    List<String> routes;

    @Option(names = "--batch", defaultValue = "1")
    int batch;

    @Option(names = "--q-heads", defaultValue = "32")
    int qHeads;

    @Option(names = "--kv-heads", defaultValue = "8")
    int kvHeads;

    @Option(names = "--head-dim", defaultValue = "128")
    int headDim;

    @Option(names = "--window", defaultValue = "1024")
    int window;

    @Option(names = "--warmup", defaultValue = "2", description = "untimed runs before timing")
    int warmup;

    @Option(names = "--repeats", defaultValue = "7", description = "timed runs; the median is reported")
    int repeats;

    @Option(names = "--versions", split = ",", defaultValue = "default",
            description = "forward versions to time: default, V1, V2, V9")
    List<String> versions;

    @Option(names = "--backward-seq", split = ",", defaultValue = "4096",
            description = "sequence lengths at which the backward is timed (none: empty)")
    List<Integer> backwardSeqs;

    @Option(names = "--check-rows", defaultValue = "12", description = "rows checked against the reference (0: none)")
    int checkRows;

    @Option(names = "--seed", defaultValue = "20261129")
    long seed;

    @Option(names = "--json", description = "write the results as JSON lines to this file")
    Path json;

    @Option(names = "--dtype", split = ",", description = "fp64, fp32 and/or bf16 (replaces --precision); bf16 runs "
            + "the tensor-core kernels of org.swiattn.cuda.bf16 (Bf16Bench)")
    List<String> dtypes;

    @Option(names = "--peers", description = "bf16: also run the PyTorch peers in this invocation (--python "
            + "--peer-script, forward and backward) and print the ratios")
    boolean peers;

    @Option(names = "--python", defaultValue = "python3", description = "interpreter for --peers")
    String python;

    @Option(names = "--peer-script", defaultValue = "bench/peers/peer_side_by_side.py",
            description = "peer script for --peers")
    String peerScript;

    /** Lines printed after the table (bf16 --peers ratios). */
    private final List<String> trailer = new ArrayList<>();

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    /** One measured configuration. */
    record Row(String precision, int s, String route, double fullFraction, String op, String kernel, double ms,
               double msMin, double tflops, double errO, double errLse) {
        String json() {
            return String.format(Locale.ROOT, "{\"precision\":\"%s\",\"S\":%d,\"route\":\"%s\",\"full_fraction\":%.4f,"
                    + "\"op\":\"%s\",\"kernel\":\"%s\",\"ms\":%.4f,\"ms_min\":%.4f,\"tflops\":%.3f,"
                    + "\"err_o\":%s,\"err_lse\":%s}", precision, s, route, fullFraction, op, kernel, ms, msMin,
                    tflops, num(errO), num(errLse));
        }

        static String num(double x) {
            return Double.isNaN(x) ? "null" : String.format(Locale.ROOT, "%.3e", x);
        }
    }

    /**
     * Every option checked before the device is touched (a bad value is one line naming it, with or without a GPU).
     *
     * @return the precisions to run
     */
    List<Precision> validate() {
        List<Precision> chosen = new ArrayList<>();
        if (dtypes == null) {
            chosen.addAll(precisions);
        } else {
            for (String x : dtypes) {
                String t = x.trim().toLowerCase(Locale.ROOT);
                Args.require(t.equals("fp64") || t.equals("fp32") || t.equals("bf16"), "--dtype",
                        "fp64, fp32 or bf16", "'" + x + "'");
                chosen.add(Precision.valueOf(t.toUpperCase(Locale.ROOT)));
            }
        }
        Args.range("--batch", batch, 1, 1024);
        Args.range("--q-heads", qHeads, 1, 1024);
        Args.range("--kv-heads", kvHeads, 1, qHeads);
        Args.require(qHeads % kvHeads == 0, "--kv-heads", "a divisor of --q-heads = " + qHeads, kvHeads);
        Args.range("--head-dim", headDim, 1, 1024);
        Args.range("--window", window, 1, Integer.MAX_VALUE);
        Args.range("--warmup", warmup, 0, 10_000);
        Args.range("--repeats", repeats, 1, 10_000);
        Args.range("--check-rows", checkRows, 0, 1 << 20);
        List<Integer> all = new ArrayList<>(seqs);
        all.addAll(backwardSeqs);
        for (int s : all) {
            Args.range(seqs.contains(s) ? "--seq" : "--backward-seq", s, 1, Integer.MAX_VALUE);
            long elements = (long) batch * s * qHeads * headDim;
            Args.require(elements <= Integer.MAX_VALUE, "--seq", "such that B*S*Hq*D fits one buffer (2^31 - 1 "
                    + "elements)", s + " (B*S*Hq*D = " + elements + ")");
        }
        for (String r : routes) {
            boolean ok = r.equals("full") || r.equals("window");
            if (!ok) {
                try {
                    double rho = Double.parseDouble(r);
                    ok = rho > 0 && rho < 1;
                } catch (NumberFormatException e) {
                    ok = false;
                }
            }
            Args.require(ok, "--routes", "full, window or a full fraction in (0, 1)", "'" + r + "'");
        }
        for (String v : versions) {
            boolean ok = v.equalsIgnoreCase("default");
            for (KernelPlan.Version k : KernelPlan.Version.values()) {
                ok |= k.name().equals(v);
            }
            Args.require(ok, "--versions", "default or one of " + Arrays.toString(KernelPlan.Version.values()),
                    "'" + v + "'");
        }
        if (json != null) {
            SafeFiles.writableFile(json, "--json");
        }
        return chosen;
    }

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        List<Precision> chosen = validate();
        CudaDevice dev;
        try {
            dev = CudaDevice.get();
            dev.module(KernelPlan.FORWARD_MODULE);
        } catch (CudaUnavailableException e) {
            throw new BadInputException("bench needs a CUDA device: " + e.getMessage());
        }
        out.printf("device: %s, %d SMs, cc %d%n", dev.name(), dev.multiprocessors(), dev.computeCapability());
        List<Row> rows = new ArrayList<>();
        for (Precision p : chosen) {
            if (p == Precision.BF16) {
                rows.addAll(bf16(out));
                continue;
            }
            for (int s : seqs) {
                rows.addAll(forwardSweep(dev, p, s, out));
                if (backwardSeqs.contains(s)) {
                    rows.addAll(backwardRuns(dev, p, s, out));
                }
            }
        }
        out.println();
        out.println(header());
        rows.forEach(r -> out.println(format(r)));
        trailer.forEach(out::println);
        if (json != null) {
            try (PrintWriter w = SafeFiles.textFile(json)) {
                rows.forEach(r -> w.println(r.json()));
            }
        }
        out.flush();
        return 0;
    }

    static String header() {
        return String.format(Locale.ROOT, "%-5s %6s %-7s %6s %-9s %-26s %10s %10s %8s %9s %9s", "prec", "S", "route",
                "rho", "op", "kernel", "ms(med)", "ms(min)", "TFLOP/s", "errO", "errLSE");
    }

    static String format(Row r) {
        return String.format(Locale.ROOT, "%-5s %6d %-7s %6.3f %-9s %-26s %10.3f %10.3f %8.2f %9s %9s", r.precision(),
                r.s(), r.route(), r.fullFraction(), r.op(), r.kernel(), r.ms(), r.msMin(), r.tflops(),
                Row.num(r.errO()), Row.num(r.errLse()));
    }

    /** The hard mask [B,S] of a route name. */
    boolean[] mask(String route, int s, long seedFor) {
        boolean[] z = new boolean[batch * s];
        if (route.equals("full")) {
            Arrays.fill(z, true);
        } else if (!route.equals("window")) {
            double rho = Double.parseDouble(route);
            SplittableRandom rnd = new SplittableRandom(seedFor);
            for (int r = 0; r < z.length; r++) {
                z[r] = rnd.nextDouble() < rho;
            }
        }
        return z;
    }

    /** Useful FLOPs: 4*D per visible pair per query head. */
    double usefulFlops(boolean[] z, int s) {
        double pairs = 0;
        for (int b = 0; b < batch; b++) {
            pairs += Visibility.visiblePairs(Arrays.copyOfRange(z, b * s, (b + 1) * s), window);
        }
        return 4.0 * headDim * qHeads * pairs;
    }

    private List<Row> forwardSweep(CudaDevice dev, Precision p, int s, PrintWriter out) {
        List<Row> rows = new ArrayList<>();
        Shape sh = new Shape(batch, s, qHeads, kvHeads, headDim);
        double scale = sh.defaultScale();
        for (String ver : versions) {
            KernelPlan.Version fv = ver.equalsIgnoreCase("default") ? null : KernelPlan.Version.valueOf(ver);
            if (fv == KernelPlan.Version.V9 && (p != Precision.FP64 || !KernelPlan.hasTensorCoreForward(headDim))) {
                continue;
            }
            RoutedKernels rk = new RoutedKernels(dev, p, fv, null);
            String kname = rk.forwardChoice(headDim).name();
            out.printf("# %s: %d threads/block, %d blocks/SM%n", kname, KernelPlan.threads(rk.forwardChoice(headDim)),
                    rk.forwardBlocksPerMultiprocessor(headDim));
            try (DeviceBuffer q = rk.allocate(sh.qSize(), "q");
                 DeviceBuffer k = rk.allocate(sh.kvSize(), "k");
                 DeviceBuffer v = rk.allocate(sh.kvSize(), "v");
                 DeviceBuffer o = rk.allocate(sh.qSize(), "o");
                 DeviceBuffer lse = rk.allocate(sh.lseSize(), "lse");
                 CudaTimer timer = new CudaTimer(dev)) {
                rk.fillNormal(q, sh.qSize(), seed, 1.0);
                rk.fillNormal(k, sh.kvSize(), seed + 1, 1.0);
                rk.fillNormal(v, sh.kvSize(), seed + 2, 1.0);
                dev.synchronize();
                double[][] host = checkRows > 0 ? new double[][] {q.readAll(sh.qSize(), rk.floats()),
                    k.readAll(sh.kvSize(), rk.floats()), v.readAll(sh.kvSize(), rk.floats())} : null;
                int n = 0;
                for (String route : routes) {
                    boolean[] z = mask(route, s, seed + 100 + n++);
                    double flops = usefulFlops(z, s);
                    byte[] zb = RouteCompaction.maskBytes(Route.ofMask(batch, s, z));
                    try (DeviceBuffer zd = DeviceBuffer.of(dev, zb, "route");
                         RouteCompaction.DeviceLists l = RouteCompaction.onDevice(dev, zd, batch, s)) {
                        // timed: route compaction on the GPU + the routed forward (buffers allocated outside)
                        Runnable run = () -> {
                            RouteCompaction.compactInto(dev, zd, l, batch, s);
                            rk.forward(sh, window, scale, q, k, v, o, lse, l.listF, l.nF, l.listW, l.nW);
                        };
                        o.fill((byte) 0xFF);  // poison: every row must be written
                        run.run();
                        dev.synchronize();
                        double[] err = host == null ? new double[] {Double.NaN, Double.NaN}
                                : check(sh, host, z, o, lse, rk.floats(), scale);
                        double[] t = time(dev, timer, run);
                        double frac = Route.ofMask(batch, s, z).fullCount() / (double) z.length;
                        Row r = new Row(p.name(), s, route, frac, "forward", kname, t[0], t[1], flops / t[0] / 1e9,
                                err[0], err[1]);
                        out.println(format(r));
                        out.flush();
                        rows.add(r);
                    }
                }
            }
        }
        return rows;
    }

    /** {median, min} of the repeats, after warm-up. */
    private double[] time(CudaDevice dev, CudaTimer timer, Runnable run) {
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

    /** Normwise relative error of O and max |LSE| error over sampled rows vs the fp64 reference (same inputs). */
    private double[] check(Shape sh, double[][] host, boolean[] z, DeviceBuffer o, DeviceBuffer lse, boolean floats,
                           double scale) {
        Route route = Route.ofMask(sh.batch(), sh.seqLen(), z);
        AttentionInputs in = AttentionInputs.builder(sh).q(host[0]).k(host[1]).v(host[2]).window(window).scale(scale)
                .route(route).estimator(Estimator.HARD).build();
        int[] rows = new int[checkRows];
        SplittableRandom rnd = new SplittableRandom(seed + 7);
        for (int i = 0; i < rows.length; i++) {
            rows[i] = i == 0 ? sh.rows() - 1 : rnd.nextInt(sh.rows());  // always the last (longest) row
        }
        RowsResult ref = new ReferenceAttention(true).forwardRows(in, rows);
        int hd = sh.qHeads() * sh.headDim();
        double[] got = new double[rows.length * hd];
        double[] gotLse = new double[rows.length * sh.qHeads()];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(o.read((long) rows[i] * hd, hd, floats), 0, got, i * hd, hd);
            System.arraycopy(lse.read((long) rows[i] * sh.qHeads(), sh.qHeads(), floats), 0, gotLse,
                    i * sh.qHeads(), sh.qHeads());
        }
        return new double[] {ErrorMeasures.normwiseRelative(got, ref.o()), ErrorMeasures.maxAbs(gotLse, ref.lse())};
    }

    /**
     * Backward timing (HARD estimator, the selected branch): forward once, then time delta + dK/dV + dQ, for the
     * full causal route and the rho = 0.25 route.
     */
    private List<Row> backwardRuns(CudaDevice dev, Precision p, int s, PrintWriter out) {
        List<Row> rows = new ArrayList<>();
        Shape sh = new Shape(batch, s, qHeads, kvHeads, headDim);
        double scale = sh.defaultScale();
        RoutedKernels rk = new RoutedKernels(dev, p, null, null);
        String kname = rk.backwardChoice(headDim)[0].name().replace("swi_bwd_dkdv_", "bwd_");
        try (DeviceBuffer q = rk.allocate(sh.qSize(), "q");
             DeviceBuffer k = rk.allocate(sh.kvSize(), "k");
             DeviceBuffer v = rk.allocate(sh.kvSize(), "v");
             DeviceBuffer dO = rk.allocate(sh.qSize(), "dO");
             DeviceBuffer o = rk.allocate(sh.qSize(), "o");
             DeviceBuffer lse = rk.allocate(sh.lseSize(), "lse");
             DeviceBuffer delta = rk.allocate(sh.lseSize(), "delta");
             DeviceBuffer dQ = rk.allocate(sh.qSize(), "dQ");
             DeviceBuffer dK = rk.allocate(sh.kvSize(), "dK");
             DeviceBuffer dV = rk.allocate(sh.kvSize(), "dV");
             CudaTimer timer = new CudaTimer(dev)) {
            rk.fillNormal(q, sh.qSize(), seed + 10, 1.0);
            rk.fillNormal(k, sh.kvSize(), seed + 11, 1.0);
            rk.fillNormal(v, sh.kvSize(), seed + 12, 1.0);
            rk.fillNormal(dO, sh.qSize(), seed + 13, 1.0);
            int n = 0;
            for (String route : new String[] {"full", "0.25"}) {
                boolean[] z = mask(route, s, seed + 200 + n++);
                double flops = usefulFlops(z, s) * 2.5;  // backward: 5 products of the 2 in the forward
                try (DeviceBuffer zd = DeviceBuffer.of(dev, RouteCompaction.maskBytes(Route.ofMask(batch, s, z)),
                        "route");
                     RouteCompaction.DeviceLists l = RouteCompaction.onDevice(dev, zd, batch, s)) {
                    rk.forward(sh, window, scale, q, k, v, o, lse, l.listF, l.nF, l.listW, l.nW);
                    Runnable run = () -> {
                        rk.delta(sh, dO, o, null, delta);
                        rk.dKdV(sh, window, scale, q, k, v, dO, l.listF, l.nF, l.listW, l.nW, lse, lse, delta, delta,
                                null, null, dK, dV);
                        rk.dQ(sh, window, scale, q, k, v, dO, l.listF, l.nF, l.listW, l.nW, lse, lse, delta, delta,
                                null, null, dQ, false);
                    };
                    double[] t = time(dev, timer, run);
                    double frac = Route.ofMask(batch, s, z).fullCount() / (double) z.length;
                    Row r = new Row(p.name(), s, route, frac, "backward", kname, t[0], t[1], flops / t[0] / 1e9,
                            Double.NaN, Double.NaN);
                    out.println(format(r));
                    out.flush();
                    rows.add(r);
                }
            }
        }
        return rows;
    }

    /** bf16: the sweep of {@link Bf16Bench}, and with --peers the peers and the ratios. */
    private List<Row> bf16(PrintWriter out) throws IOException {
        Bf16Bench.Config cfg = new Bf16Bench.Config(batch, qHeads,
                kvHeads, headDim, window, warmup, repeats, seqs, routes, backwardSeqs, checkRows, seed);
        List<Bf16Bench.Result> res =
                Bf16Bench.run(cfg, out, r -> format(bf16Row(r)));
        if (peers) {
            try {
                trailer.add("");
                trailer.add("bf16 vs PyTorch peers (peers: triton do_bench median; ours: CUDA events median):");
                trailer.addAll(Bf16Bench.ratios(res,
                        Bf16Bench.runPeers(python, peerScript, seqs, out)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while running the peers", e);
            }
        }
        return res.stream().map(BenchCommand::bf16Row).toList();
    }

    private static Row bf16Row(Bf16Bench.Result r) {
        return new Row("BF16", r.s(), r.route(), r.fullFraction(), r.op(), r.kernel(), r.ms(), r.msMin(), r.tflops(),
                r.errO(), r.errLse());
    }

    /** Runs the command alone (the CLI registers it as {@code swiattn bench}). */
    public static void main(String[] args) {
        System.exit(new picocli.CommandLine(new BenchCommand()).execute(args));
    }
}
