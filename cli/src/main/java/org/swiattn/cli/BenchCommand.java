package org.swiattn.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.swiattn.cuda.BackwardOperands;
import org.swiattn.cuda.DecodeKernels;
import org.swiattn.cuda.KernelPlan;
import org.swiattn.cuda.RouteCompaction;
import org.swiattn.cuda.RoutedKernels;
import org.swiattn.cuda.bf16.Bf16Attention;
import org.swiattn.cuda.bf16.Bf16Kernels;
import org.swiattn.cuda.driver.CudaDevice;
import org.swiattn.cuda.driver.CudaUnavailableException;
import org.swiattn.cuda.driver.DeviceBuffer;
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
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code swiattn bench}: times the CUDA routed attention on fresh random data generated on the GPU (never zeros),
 * by one timing method for ours and the peers ({@link BenchTiming}), reporting the median of the repeats in ms and
 * in useful TFLOP/s (4*D FLOPs per visible (query, key) pair per head: only the work the route asks for counts).
 * Routed times include the GPU route compaction. Every configuration is first checked against the fp64 reference
 * on sampled rows (forward), and the backward against the reference on sampled key rows at small S by the test
 * suite. With {@code --peers} the PyTorch peers run in the same invocation on the same route masks
 * ({@link PeerRun}), with the physical limits of the device (copy bandwidth, GEMM rates), and a ratio table follows.
 * The CHUNK and VARLEN modes ({@link SegmentBench}, bf16: {@link Bf16SegmentBench}) measure those limits in every run
 * (the peer script's {@code --limits-only}, or its VARLEN peers; {@code --no-limits} skips them) and print each of
 * our times as a fraction of them; their sampled rows are judged by the spec's tolerance (exit status 1 on failure).
 *
 * <pre>{@code
 *   routes   full (all tokens full = causal attention), window (all window), or a full fraction rho in [0,1]:
 *            each token full with probability rho (seeded; BenchRoutes)
 * }</pre>
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Benchmark the CUDA routed attention (fp64 / fp32 / bf16): ms and useful TFLOP/s, median of "
            + "repeats.", "Inputs are random N(0,1) generated on the GPU; rows are checked against the fp64 reference "
            + "first."})
public final class BenchCommand implements Callable<Integer> {
    /** What is timed. */
    enum Mode { PREFILL, DECODE, CHUNK, VARLEN }

    @Option(names = "--mode", defaultValue = "PREFILL", description = "PREFILL (self-attention, the default), DECODE "
            + "(one query per sequence against a KV cache of --cache keys, batches --batches), CHUNK (a --chunk-row "
            + "chunk at the end of a --cache key cache vs the same rows of the one-shot prefill) or VARLEN (packed "
            + "documents totalling each --seq, forward and backward); CHUNK and VARLEN run fp64, fp32 and bf16 and "
            + "measure the device limits in the same run")
    Mode mode;

    @Option(names = "--cache", defaultValue = "32768", description = "decode and chunk: the KV cache capacity and "
            + "length")
    int cache;

    @Option(names = "--chunk", defaultValue = "512", description = "chunk: the rows of the chunk (at offset cache - "
            + "chunk)")
    int chunk;

    @Option(names = "--batches", split = ",", defaultValue = "1,8,32,128", description = "decode: batch sizes B")
    List<Integer> batches;

    @Option(names = "--decode-versions", split = ",", defaultValue = "MMA",
            description = "decode, bf16: split-kernel versions to time: MMA (tensor cores, the default) and/or SIMT")
    List<DecodeKernels.Version> decodeVersions;

    @Option(names = "--decode-pieces", split = ",", defaultValue = "0",
            description = "decode: piece sizes in 64-key tiles to time (0: the planner's choice, the default)")
    List<Integer> decodePieces;

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

    @Option(names = "--timing", defaultValue = "FLUSHED", description = "FLUSHED (default: L2 cleared before each "
            + "repeat, repeats queued back to back) or SYNC (each repeat waited for, no flush); ours and the peers alike")
    BenchTiming.Method timingMethod;

    @Option(names = "--versions", split = ",", defaultValue = "default",
            description = "fp64/fp32 forward versions to time: default, V1, V2, V9")
    List<String> versions;

    @Option(names = "--backward-versions", split = ",", defaultValue = "default",
            description = "backward versions to time: fp64/fp32 default, V1, V2, V11 (V11: D in 16, 32, 64, 128; fp32 "
                    + "runs it on fp32 storage with fp64 tensor-core arithmetic); bf16 WGMMA (compute capability "
                    + "9.0), MMA, SIMT (SIMT at S <= 4096 only; bf16 default: WGMMA on 9.0, else MMA, and SIMT; "
                    + "the errO column of a bf16 version: its normwise difference from the first one timed)")
    List<String> backwardVersions;

    @Option(names = "--backward-streams", split = ",", defaultValue = "" + RoutedKernels.DEFAULT_BACKWARD_STREAMS,
            description = "backward: the dK/dV and dQ launches on 1 stream (in turn) or 2 (concurrently; the fp64/fp32 "
                    + "default); a list times each, e.g. 1,2 (bf16: the tensor-core versions)")
    List<Integer> backwardStreams;

    @Option(names = "--bf16-forward", split = ",", defaultValue = "default",
            description = "bf16 forward versions to time: default (the device's) or a version (1: mma.sync, 3: "
                    + "wgmma); the first also runs the backward's forward. VARLEN: the packed forward of each")
    List<String> bf16Forward;

    @Option(names = "--backward-seq", split = ",", defaultValue = "4096", paramLabel = "S|none",
            description = "sequence lengths at which the backward is timed (none: no backward timing)")
    List<String> backwardSeqArgs;

    /** --backward-seq as lengths (empty for none), set by {@link #validate}. */
    private List<Integer> backwardSeqs = List.of();

    @Option(names = "--backward-routes", split = ",", defaultValue = "full,window,0.25",
            description = "routes of the backward timings")
    List<String> backwardRoutes;

    @Option(names = "--check-rows", defaultValue = "12", description = "rows checked against the reference (0: none)")
    int checkRows;

    @Option(names = "--seed", defaultValue = "20261129")
    long seed;

    @Option(names = "--json", description = "write the results as JSON lines to this file")
    Path json;

    @Option(names = "--dtype", split = ",", description = "fp64, fp32 and/or bf16 (replaces --precision); bf16 runs "
            + "the tensor-core kernels of org.swiattn.cuda.bf16")
    List<String> dtypes;

    @Option(names = "--peers", description = "also run the PyTorch peers and the device limits in this invocation "
            + "(--python --peer-script), on the same route masks and by the same timing method, and print the ratios")
    boolean peers;

    @Option(names = "--no-limits", description = "CHUNK and VARLEN: do not measure the device limits (copy bandwidth, "
            + "GEMM rates: --python --peer-script --limits-only, in the same run) nor print our rows as fractions of "
            + "them")
    boolean noLimits;

    @Option(names = "--python", defaultValue = "python3", description = "interpreter for --peers")
    String python;

    @Option(names = "--peer-script", defaultValue = "bench/peers/peers.py", description = "peer script for --peers")
    String peerScript;

    @Option(names = "--mask-dir", description = "where the rho route masks are written for the peers (default: a "
            + "temporary directory)")
    Path maskDir;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    /** The values of --backward-seq: "none" alone (no backward timing), or sequence lengths. */
    static List<Integer> parseBackwardSeqs(List<String> values) {
        if (values.size() == 1 && values.get(0).trim().equals("none")) {
            return List.of();
        }
        List<Integer> out = new ArrayList<>();
        for (String v : values) {
            try {
                out.add(Integer.parseInt(v.trim()));
            } catch (NumberFormatException e) {
                throw new BadInputException("--backward-seq: must be sequence lengths or none, got '" + v + "'");
            }
        }
        return out;
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
        Args.require(!chosen.contains(Precision.BF16) || headDim == 64 || headDim == 128, "--head-dim",
                "64 or 128 with --dtype bf16 (the bf16 kernels' native sizes)", headDim);
        Args.range("--window", window, 1, Integer.MAX_VALUE);
        Args.range("--warmup", warmup, 0, 10_000);
        Args.range("--repeats", repeats, 1, 10_000);
        Args.range("--check-rows", checkRows, 0, 1 << 20);
        backwardSeqs = parseBackwardSeqs(backwardSeqArgs);
        List<Integer> all = new ArrayList<>(seqs);
        all.addAll(backwardSeqs);
        for (int s : all) {
            Args.range(seqs.contains(s) ? "--seq" : "--backward-seq", s, 1, Integer.MAX_VALUE);
            long elements = (long) batch * s * qHeads * headDim;
            Args.require(elements <= Integer.MAX_VALUE, "--seq", "such that B*S*Hq*D fits one buffer (2^31 - 1 "
                    + "elements)", s + " (B*S*Hq*D = " + elements + ")");
        }
        List<String> allRoutes = new ArrayList<>(routes);
        allRoutes.addAll(backwardRoutes);
        for (String r : allRoutes) {
            boolean ok = r.equals("full") || r.equals("window");
            if (!ok) {
                try {
                    double rho = Double.parseDouble(r);
                    ok = rho > 0 && rho < 1;
                } catch (NumberFormatException e) {
                    ok = false;
                }
            }
            Args.require(ok, routes.contains(r) ? "--routes" : "--backward-routes",
                    "full, window or a full fraction in (0, 1)", "'" + r + "'");
        }
        for (String v : versions) {
            requireVersion("--versions", v);
        }
        for (String v : backwardVersions) {
            boolean bf16 = Arrays.stream(Bf16Kernels.BackwardVersion.values()).anyMatch(b -> b.name().equals(v));
            if (!bf16) {
                requireVersion("--backward-versions", v, Arrays.toString(Bf16Kernels.BackwardVersion.values())
                        + " (bf16)");
            }
        }
        for (String f : bf16Forward) {
            Args.require(Bf16Bench.isForwardVersion(f), "--bf16-forward",
                    "default or one of " + Bf16Attention.forwardVersions(), "'" + f + "'");
        }
        for (int n : backwardStreams) {
            Args.require(n == 1 || n == 2, "--backward-streams", "1 or 2", n);
        }
        if (peers && mode == Mode.PREFILL) {
            Args.require(batch == 1, "--batch", "1 with --peers (the peers run B = 1)", batch);
        }
        if (mode == Mode.CHUNK) {
            Args.range("--cache", cache, 1, Integer.MAX_VALUE);
            Args.range("--chunk", chunk, 1, cache);
            long elements = (long) cache * Math.max(qHeads, kvHeads) * headDim;
            Args.require(elements <= Integer.MAX_VALUE, "--cache", "such that cache*Hq*D fits one buffer (2^31 - 1 "
                    + "elements)", cache + " (cache*Hq*D = " + elements + ")");
        }
        for (int t : decodePieces) {
            Args.range("--decode-pieces", t, 0, Integer.MAX_VALUE);
        }
        if (mode == Mode.DECODE) {
            Args.range("--cache", cache, 1, Integer.MAX_VALUE);
            for (int b : batches) {  // device buffers only: 64-bit sizes, the device's memory is the limit
                Args.range("--batches", b, 1, 65535);
            }
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
        Path masks = peers ? (maskDir != null ? maskDir : Files.createTempDirectory("swiattn-masks")) : maskDir;
        BenchTiming timing = new BenchTiming(dev, timingMethod, warmup, repeats);
        out.printf("device: %s, %d SMs, cc %d%n", dev.name(), dev.multiprocessors(), dev.computeCapability());
        out.println("timing: " + timing.describe());
        if (mode == Mode.DECODE) {
            return decode(chosen, masks, timing, out);
        }
        if (mode == Mode.CHUNK || mode == Mode.VARLEN) {
            return segments(chosen, dev, masks, timing, out);
        }
        List<BenchRow> rows = new ArrayList<>();
        for (Precision p : chosen) {
            if (p == Precision.BF16) {
                rows.addAll(Bf16Bench.run(new Bf16Bench.Config(batch, qHeads, kvHeads, headDim, window, seqs, routes,
                        backwardSeqs, backwardRoutes, bf16BackwardVersions(), checkRows, seed, masks, bf16Forward,
                        backwardStreams), timing, out));
                continue;
            }
            for (int s : seqs) {
                rows.addAll(forwardSweep(dev, timing, p, s, masks, out));
                if (backwardSeqs.contains(s)) {
                    rows.addAll(backwardRuns(dev, timing, p, s, masks, out));
                }
            }
        }
        out.println();
        out.println(BenchRow.header());
        rows.forEach(r -> out.println(r.format()));
        if (peers) {
            PeerRun.Result pr = runPeers(peerArgs(chosen, masks), out);
            out.println("ours vs PyTorch peers (" + timing.describe() + ", both sides; same route masks):");
            PeerRun.ratios(rows, pr).forEach(out::println);
        }
        writeJson(rows.stream().map(BenchRow::json).toList());
        out.flush();
        return 0;
    }

    /** The decode mode: DecodeBench, then with --peers the peers' decode and the ratio table. */
    private int decode(List<Precision> chosen, Path masks, BenchTiming timing, PrintWriter out) throws IOException {
        List<DecodeBench.Row> rows = DecodeBench.run(new DecodeBench.Config(qHeads, kvHeads, headDim, window, cache,
                batches, routes, checkRows > 0, seed, masks, decodeVersions, decodePieces), chosen, timing, out);
        out.println();
        out.println(DecodeBench.Row.header());
        rows.forEach(r -> out.println(r.format()));
        if (peers) {
            List<String> a = new ArrayList<>(List.of("--decode", "--dtypes", chosen.stream()
                    .map(p -> p.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining(",")), "--batches",
                    join(batches), "--cache", Integer.toString(cache), "--routes", String.join(",", routes),
                    "--mask-dir", masks.toString(), "--warmup", Integer.toString(warmup), "--repeats",
                    Integer.toString(repeats), "--timing", timingMethod.name().toLowerCase(Locale.ROOT)));
            PeerRun.Result pr = runPeers(a, out);
            out.println("decode vs memory floor and PyTorch peers (" + timing.describe() + ", both sides; same routes):");
            DecodeBench.ratios(rows, pr).forEach(out::println);
        }
        writeJson(rows.stream().map(DecodeBench.Row::json).toList());
        out.flush();
        return 0;
    }

    /**
     * The CHUNK and VARLEN modes: SegmentBench, then the device limits of the same run (with the VARLEN peers when
     * --peers) and our rows as fractions of them, then for VARLEN with --peers the ratios to the peers. Exit status
     * 1 when a sampled-row check failed.
     */
    private int segments(List<Precision> chosen, CudaDevice dev, Path masks, BenchTiming timing, PrintWriter out)
            throws IOException {
        SegmentBench.Config c = new SegmentBench.Config(qHeads, kvHeads, headDim, window, cache, chunk, seqs, routes,
                checkRows, seed, bf16Forward);
        List<String> failures = new ArrayList<>();
        List<SegmentBench.Timed> timed = mode == Mode.CHUNK ? SegmentBench.chunk(c, chosen, dev, timing, failures, out)
                : SegmentBench.varlen(c, chosen, dev, timing, masks, failures, out);
        List<BenchRow> rows = timed.stream().map(SegmentBench.Timed::row).toList();
        out.println();
        out.println(BenchRow.header());
        rows.forEach(r -> out.println(r.format()));
        List<String> json = new ArrayList<>(rows.stream().map(BenchRow::json).toList());
        writeJson(json);  // ours first: kept if the peers do not finish
        PeerRun.Result pr = new PeerRun.Result(List.of(), List.of());
        String timingArgs = "--warmup " + warmup + " --repeats " + repeats + " --timing "
                + timingMethod.name().toLowerCase(Locale.ROOT);
        if (peers && mode == Mode.VARLEN) {
            List<String> a = new ArrayList<>(List.of("--varlen", "--dtypes", chosen.stream()
                    .map(p -> p.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining(",")), "--sizes",
                    join(seqs), "--routes", String.join(",", routes), "--mask-dir", masks.toString()));
            a.addAll(List.of(timingArgs.split(" ")));
            if (noLimits) {
                a.add("--no-limits");
            }
            pr = runPeers(a, out);
        } else if (!noLimits) {
            List<String> a = new ArrayList<>(List.of("--limits-only"));
            a.addAll(List.of(timingArgs.split(" ")));
            try {
                pr = runPeers(a, out);
            } catch (IOException e) {  // no interpreter: the rows stand without the fractions
                out.println("limits: not measured (" + e.getMessage() + ")");
            }
        }
        if (!noLimits) {
            out.println();
            out.println("ours vs the limits of this run (TFLOP/s: 4*D FLOPs per visible (query, key) pair per head, "
                    + "backward 2.5x; of GEMM = TFLOP/s / the dense GEMM rate of the precision; floor = the bytes the "
                    + "call must move at least / copy_d2d; of copy = floor / ours):");
            SegmentBench.limitTable(timed, pr).forEach(out::println);
        }
        if (peers && mode == Mode.VARLEN) {
            out.println();
            out.println("varlen vs FlexAttention with a document mask and SDPA with the dense document mask ("
                    + timing.describe() + ", both sides; same documents and routes):");
            SegmentBench.ratios(rows, pr).forEach(out::println);
        }
        pr.limits().forEach(l -> json.add(String.format(Locale.ROOT, "{\"limit\":\"%s\",\"value\":%.1f,"
                + "\"unit\":\"%s\"}", l.name(), l.value(), l.unit())));
        writeJson(json);
        if (!failures.isEmpty()) {
            out.println();
            out.println("sampled-row checks FAILED (" + failures.size() + "):");
            failures.forEach(f -> out.println("  " + f));
        }
        out.flush();
        return failures.isEmpty() ? 0 : 1;
    }

    /** Runs the peer script with these arguments and prints the limits it measured in the same run. */
    private PeerRun.Result runPeers(List<String> args, PrintWriter out) throws IOException {
        PeerRun.Result pr;
        try {
            pr = PeerRun.run(python, peerScript, args, out);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running the peers", e);
        }
        out.println();
        out.println("limits measured in this run: " + pr.limits().stream()
                .map(l -> String.format(Locale.ROOT, "%s %.1f %s", l.name(), l.value(), l.unit()))
                .collect(Collectors.joining(", ")));
        return pr;
    }

    /** With --json, one JSON line per row. */
    private void writeJson(List<String> lines) throws IOException {
        if (json != null) {
            try (PrintWriter w = SafeFiles.textFile(json)) {
                lines.forEach(w::println);
            }
        }
    }

    /** The peer script's arguments: the same sizes, routes, masks and timing as ours. */
    private List<String> peerArgs(List<Precision> chosen, Path masks) {
        List<String> a = new ArrayList<>(List.of("--dtypes",
                chosen.stream().map(p -> p.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining(",")),
                "--sizes", join(seqs), "--routes", String.join(",", routes), "--backward-sizes", join(backwardSeqs),
                "--backward-routes", String.join(",", backwardRoutes), "--mask-dir", masks.toString(),
                "--warmup", Integer.toString(warmup), "--repeats", Integer.toString(repeats),
                "--timing", timingMethod.name().toLowerCase(Locale.ROOT)));
        return a;
    }

    private static String join(List<Integer> xs) {
        return xs.stream().map(String::valueOf).collect(Collectors.joining(","));
    }

    /** The mask of a route at S (written for the peers when it is a rho route and masks is set). */
    private boolean[] mask(String route, int s, Path masks) throws IOException {
        boolean[] z = BenchRoutes.mask(route, batch, s, BenchRoutes.maskSeed(seed, routes, backwardRoutes, route));
        if (masks != null && !route.equals("full") && !route.equals("window")) {
            BenchRoutes.writeMask(masks, s, route, z);
        }
        return z;
    }

    private static void requireVersion(String option, String v) {
        requireVersion(option, v, "");
    }

    private static void requireVersion(String option, String v, String alsoAccepted) {
        boolean ok = v.equalsIgnoreCase("default");
        for (KernelPlan.Version k : KernelPlan.Version.values()) {
            ok |= k.name().equals(v);
        }
        Args.require(ok, option, "default or one of " + Arrays.toString(KernelPlan.Version.values())
                + (alsoAccepted.isEmpty() ? "" : " or " + alsoAccepted), "'" + v + "'");
    }

    /** The bf16 backward versions named in --backward-versions, in order (none: the bf16 bench's default). */
    private List<Bf16Kernels.BackwardVersion> bf16BackwardVersions() {
        List<Bf16Kernels.BackwardVersion> out = new ArrayList<>();
        for (String v : backwardVersions) {
            for (Bf16Kernels.BackwardVersion b : Bf16Kernels.BackwardVersion.values()) {
                if (b.name().equals(v) && !out.contains(b)) {
                    out.add(b);
                }
            }
        }
        return out;
    }

    private List<BenchRow> forwardSweep(CudaDevice dev, BenchTiming timing, Precision p, int s, Path masks,
                                        PrintWriter out) throws IOException {
        List<BenchRow> rows = new ArrayList<>();
        Shape sh = new Shape(batch, s, qHeads, kvHeads, headDim);
        double scale = sh.defaultScale();
        for (String ver : versions) {
            KernelPlan.Version fv = ver.equalsIgnoreCase("default") ? null : KernelPlan.Version.valueOf(ver);
            if (fv == KernelPlan.Version.V9 && (p != Precision.FP64 || !KernelPlan.hasTensorCoreKernels(headDim))) {
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
                 DeviceBuffer lse = rk.allocate(sh.lseSize(), "lse")) {
                rk.fillNormal(q, sh.qSize(), seed, 1.0);
                rk.fillNormal(k, sh.kvSize(), seed + 1, 1.0);
                rk.fillNormal(v, sh.kvSize(), seed + 2, 1.0);
                dev.synchronize();
                double[][] host = checkRows > 0 ? new double[][] {q.readAll(sh.qSize(), rk.floats()),
                    k.readAll(sh.kvSize(), rk.floats()), v.readAll(sh.kvSize(), rk.floats())} : null;
                for (String route : routes) {
                    boolean[] z = mask(route, s, masks);
                    double flops = BenchRoutes.usefulFlops(z, batch, s, window, headDim, qHeads);
                    try (DeviceBuffer zd = DeviceBuffer.of(dev, BenchRoutes.bytes(z), "route");
                         RouteCompaction.DeviceLists l = RouteCompaction.onDevice(dev, zd, batch, s)) {
                        // timed: route compaction on the GPU + the routed forward (buffers allocated outside)
                        Runnable run = () -> {
                            RouteCompaction.compactInto(dev, zd, l, batch, s);
                            rk.forward(sh, window, scale, q, k, v, o, lse, l);
                        };
                        o.fill((byte) 0xFF);  // poison: every row must be written
                        run.run();
                        dev.synchronize();
                        double[] err = host == null ? new double[] {Double.NaN, Double.NaN}
                                : check(sh, host, z, o, lse, rk.floats(), scale);
                        double[] t = timing.measure(run);
                        BenchRow r = new BenchRow(p.name(), s, route, BenchRoutes.fraction(z), "forward", kname, t[0],
                                t[1], flops / t[0] / 1e9, err[0], err[1]);
                        out.println(r.format());
                        out.flush();
                        rows.add(r);
                    }
                }
            }
        }
        return rows;
    }

    /** Normwise relative error of O and max |LSE| error over sampled rows vs the fp64 reference (same inputs). */
    private double[] check(Shape sh, double[][] host, boolean[] z, DeviceBuffer o, DeviceBuffer lse, boolean floats,
                           double scale) {
        Route route = Route.ofMask(sh.batch(), sh.seqLen(), z);
        AttentionInputs in = AttentionInputs.builder(sh).q(host[0]).k(host[1]).v(host[2]).window(window).scale(scale)
                .route(route).estimator(Estimator.HARD).build();
        return sampledErrors(in, checkRows, seed, o, lse, floats);
    }

    /**
     * Normwise relative error of O and max |LSE| error at n sampled flat rows (the last one always: the longest)
     * against the fp64 reference of the same inputs.
     *
     * @param in the inputs the device computed; not modified.  o, lse: the device results; not modified
     */
    static double[] sampledErrors(AttentionInputs in, int n, long seed, DeviceBuffer o, DeviceBuffer lse,
                                  boolean floats) {
        Shape sh = in.shape();
        int[] rows = RowCheck.rows(in, n, seed);  // always the last row
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
     * Backward timing (HARD estimator, the selected branch): forward once, then time delta + dK/dV + dQ, for each
     * backward version and route.
     */
    private List<BenchRow> backwardRuns(CudaDevice dev, BenchTiming timing, Precision p, int s, Path masks,
                                        PrintWriter out) throws IOException {
        List<BenchRow> rows = new ArrayList<>();
        for (String ver : backwardVersions) {
            if (!ver.equalsIgnoreCase("default")
                    && Arrays.stream(KernelPlan.Version.values()).noneMatch(k -> k.name().equals(ver))) {
                continue;  // a bf16 version (Bf16Bench)
            }
            KernelPlan.Version bv = ver.equalsIgnoreCase("default") ? null : KernelPlan.Version.valueOf(ver);
            if (bv == KernelPlan.Version.V11 && !KernelPlan.hasTensorCoreKernels(headDim)) {
                continue;
            }
            for (int streams : backwardStreams) {
                rows.addAll(backwardRuns(dev, timing, p, s, masks,
                        new RoutedKernels(dev, p, null, bv).withBackwardStreams(streams), out));
            }
        }
        return rows;
    }

    private List<BenchRow> backwardRuns(CudaDevice dev, BenchTiming timing, Precision p, int s, Path masks,
                                        RoutedKernels rk, PrintWriter out) throws IOException {
        List<BenchRow> rows = new ArrayList<>();
        Shape sh = new Shape(batch, s, qHeads, kvHeads, headDim);
        double scale = sh.defaultScale();
        String kname = rk.backwardChoice(headDim)[1].name().replace("swi_bwd_dq_", "bwd_")
                + BenchRow.streams(rk.backwardStreams(), RoutedKernels.DEFAULT_BACKWARD_STREAMS);
        try (BenchBuffers bb = BenchBuffers.filled(rk, sh, seed)) {
            DeviceBuffer q = bb.q(), k = bb.k(), v = bb.v(), dO = bb.dO(), o = bb.o(), lse = bb.lse();
            DeviceBuffer delta = bb.delta(), dQ = bb.dQ(), dK = bb.dK(), dV = bb.dV();
            for (String route : backwardRoutes) {
                boolean[] z = mask(route, s, masks);
                double flops = BenchRoutes.usefulFlops(z, batch, s, window, headDim, qHeads) * 2.5;  // 5 products of 2
                try (DeviceBuffer zd = DeviceBuffer.of(dev, BenchRoutes.bytes(z), "route");
                     RouteCompaction.DeviceLists l = RouteCompaction.onDevice(dev, zd, batch, s)) {
                    rk.forward(sh, window, scale, q, k, v, o, lse, l);
                    BackwardOperands ops = BackwardOperands.routed(q, k, v, dO, l, lse, delta);
                    Runnable run = () -> {
                        rk.delta(sh, dO, o, null, delta);
                        rk.gradients(() -> rk.dKdV(sh, window, scale, ops, dK, dV),
                                () -> rk.dQ(sh, window, scale, ops, dQ, false));
                    };
                    double[] t = timing.measure(run);
                    BenchRow r = new BenchRow(p.name(), s, route, BenchRoutes.fraction(z), "backward", kname, t[0],
                            t[1], flops / t[0] / 1e9, Double.NaN, Double.NaN);
                    out.println(r.format());
                    out.flush();
                    rows.add(r);
                }
            }
        }
        return rows;
    }

    /** Runs the command alone (the CLI registers it as {@code swiattn bench}). */
    public static void main(String[] args) {
        System.exit(new picocli.CommandLine(new BenchCommand()).execute(args));
    }
}
