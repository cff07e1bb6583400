package org.swiattn.cli;

import java.util.Locale;

/**
 * One measured configuration of {@code swiattn bench}: precision, S, route (full, window or a full fraction rho),
 * the realised full fraction, the operation (forward, backward), the kernel, the median and minimum ms, useful
 * TFLOP/s (4*D FLOPs per visible pair per head; 2.5x that for the backward) and the errors checked before timing
 * (errO normwise, errLSE max abs; NaN when not checked).
 */
public record BenchRow(String precision, int s, String route, double fullFraction, String op, String kernel,
                       double ms, double msMin, double tflops, double errO, double errLse) {

    /** The table header matching {@link #format()}. */
    public static String header() {
        return String.format(Locale.ROOT, "%-5s %6s %-7s %6s %-9s %-34s %10s %10s %8s %9s %9s", "prec", "S",
                "route", "rho", "op", "kernel", "ms(med)", "ms(min)", "TFLOP/s", "errO", "errLSE");
    }

    /** One table line. */
    public String format() {
        return String.format(Locale.ROOT, "%-5s %6d %-7s %6.3f %-9s %-34s %10.3f %10.3f %8.2f %9s %9s", precision, s,
                route, fullFraction, op, kernel, ms, msMin, tflops, num(errO), num(errLse));
    }

    /** One JSON line. */
    public String json() {
        return String.format(Locale.ROOT, "{\"precision\":\"%s\",\"S\":%d,\"route\":\"%s\",\"full_fraction\":%.4f,"
                + "\"op\":\"%s\",\"kernel\":\"%s\",\"ms\":%.4f,\"ms_min\":%.4f,\"tflops\":%.3f,"
                + "\"err_o\":%s,\"err_lse\":%s}", precision, s, route, fullFraction, op, kernel, ms, msMin,
                tflops, num(errO), num(errLse));
    }

    /** The mask kind of the route: full, window or routed. */
    public String mask() {
        return route.equals("full") ? "full" : route.equals("window") ? "window" : "routed";
    }

    /**
     * The kernel-column suffix of a backward timed on a stream count other than its family's default: "" or
     * " (1 stream)", " (2 streams)".
     */
    static String streams(int streams, int byDefault) {
        return streams == byDefault ? "" : streams == 1 ? " (1 stream)" : " (" + streams + " streams)";
    }

    static String num(double x) {
        return Double.isNaN(x) ? "null" : String.format(Locale.ROOT, "%.3e", x);
    }
}
