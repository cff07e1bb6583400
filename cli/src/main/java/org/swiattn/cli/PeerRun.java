package org.swiattn.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The PyTorch peers of {@code swiattn bench --peers}, run in the same invocation ({@code bench/peers/peers.py}),
 * timed by the same method ({@link BenchTiming}, mirrored by {@code bench/peers/timing.py}) on the same route masks
 * (written by the bench), and the physical limits measured in the same run; then the ratio table.
 *
 * <pre>{@code
 *   PEER  <dtype> <S> <kernel> <op> <rho> <ms> [note]     one peer timing (ms "nan" when it could not run: note)
 *   LIMIT <name> <value> <unit>                            copy_d2d GB/s (bytes read + written); gemm_bf16,
 *                                                          gemm_fp32, gemm_fp64 TFLOP/s (8192^3, random data)
 * }</pre>
 */
public final class PeerRun {
    private PeerRun() {
    }

    /** One peer timing. */
    public record Peer(String dtype, int s, String kernel, String op, double rho, double ms, String note) {
    }

    /** One limit measured in the same run. */
    public record Limit(String name, double value, String unit) {
    }

    /** What the peer script printed. */
    public record Result(List<Peer> peers, List<Limit> limits) {
        /** The limit of this name, or NaN. */
        public double limit(String name) {
            return limits.stream().filter(l -> l.name().equals(name)).mapToDouble(Limit::value).findFirst()
                    .orElse(Double.NaN);
        }
    }

    /**
     * Parses the machine-readable lines; other lines are ignored.
     *
     * @param lines not modified
     */
    public static Result parse(List<String> lines) {
        List<Peer> peers = new ArrayList<>();
        List<Limit> limits = new ArrayList<>();
        for (String l : lines) {
            String[] f = l.split("\t");
            if (l.startsWith("PEER\t")) {
                if (f.length != 7 && f.length != 8) {
                    throw new IllegalArgumentException("peer line: expected 7 or 8 tab-separated fields, got "
                            + f.length + ": " + l);
                }
                peers.add(new Peer(f[1], Integer.parseInt(f[2]), f[3], f[4], Double.parseDouble(f[5]),
                        f[6].equalsIgnoreCase("nan") ? Double.NaN : Double.parseDouble(f[6]), f.length == 8 ? f[7] : ""));
            } else if (l.startsWith("LIMIT\t")) {
                if (f.length != 4) {
                    throw new IllegalArgumentException("limit line: expected 4 tab-separated fields, got " + f.length
                            + ": " + l);
                }
                limits.add(new Limit(f[1], Double.parseDouble(f[2]), f[3]));
            }
        }
        return new Result(peers, limits);
    }

    /**
     * Runs {@code python -u script args...} in this process's working directory, echoing its output to log (may be
     * null), and parses its lines; a script that fails part-way gives what it printed before (and a line in log).
     */
    public static Result run(String python, String script, List<String> args, PrintWriter log)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(python, "-u", script));
        cmd.addAll(args);
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
        if (rc != 0 && log != null) {  // what it measured before failing is kept (the limits come first)
            log.println("  [peers] peer script " + String.join(" ", cmd) + " exited with status " + rc
                    + ": the ratios below cover what it measured before");
        }
        return parse(lines);
    }

    /** The peers computing the same mask as a row of ours (same dtype, S, op; routed: the same rho). */
    static List<String> sameMask(String mask) {
        return switch (mask) {
            case "full" -> List.of("sdpa_full", "flex_full");
            case "window" -> List.of("flex_window");
            default -> List.of("flex_routed_compact", "sdpa_dense_mask", "flex_routed");
        };
    }

    /** The GEMM limit of a precision name (BF16, FP32, FP64). */
    static String gemmLimit(String precision) {
        return "gemm_" + precision.toLowerCase(Locale.ROOT);
    }

    /**
     * The ratio table: for each of our rows, the peers computing the same mask on the same route (ratio = peer ms /
     * our ms, above 1 = ours faster), for routed bf16 rows the ideal rho * SDPA + (1 - rho) * FlexWindow (ours /
     * ideal), and our useful TFLOP/s as a fraction of the same run's GEMM limit of the precision.
     *
     * @param ours  not modified
     * @param peers not modified
     */
    public static List<String> ratios(List<BenchRow> ours, Result peers) {
        List<String> out = new ArrayList<>();
        out.add(String.format(Locale.ROOT, "%-5s %6s %-8s %-7s %6s %-26s %10s %8s  %s", "prec", "S", "op", "mask",
                "rho", "kernel", "ours ms", "of GEMM", "peer ms and ratio peer/ours (> 1: ours faster)"));
        for (BenchRow r : ours) {
            if (r.kernel().contains("simt")) {
                continue;
            }
            String dtype = r.precision().toLowerCase(Locale.ROOT);
            Map<String, Peer> pm = new LinkedHashMap<>();
            for (Peer p : peers.peers()) {
                boolean sameRho = !r.mask().equals("routed") || Math.abs(p.rho() - r.fullFraction()) < 1e-9
                        || p.kernel().equals("sdpa_full") || p.kernel().equals("flex_window");
                if (p.dtype().equals(dtype) && p.s() == r.s() && p.op().equals(r.op()) && sameRho) {
                    pm.put(p.kernel(), p);
                }
            }
            StringBuilder sb = new StringBuilder();
            for (String k : sameMask(r.mask())) {
                Peer p = pm.get(k);
                if (p != null) {
                    sb.append(Double.isNaN(p.ms()) ? String.format(Locale.ROOT, "  %s: %s", k, p.note())
                            : String.format(Locale.ROOT, "  %s %.3f -> %.3f", k, p.ms(), p.ms() / r.ms()));
                }
            }
            if (r.mask().equals("routed") && pm.containsKey("sdpa_full") && pm.containsKey("flex_window")) {
                double rho = r.fullFraction();
                double ideal = rho * pm.get("sdpa_full").ms() + (1 - rho) * pm.get("flex_window").ms();
                if (!Double.isNaN(ideal)) {
                    sb.append(String.format(Locale.ROOT, "  ideal %.3f -> ours/ideal %.3f", ideal, r.ms() / ideal));
                }
            }
            double gemm = peers.limit(gemmLimit(r.precision()));
            out.add(String.format(Locale.ROOT, "%-5s %6d %-8s %-7s %6.3f %-26s %10.3f %8s %s", r.precision(), r.s(),
                    r.op(), r.mask(), r.fullFraction(), r.kernel(), r.ms(), Double.isNaN(gemm) ? "-"
                            : String.format(Locale.ROOT, "%.3f", r.tflops() / gemm), sb));
        }
        return out;
    }
}
