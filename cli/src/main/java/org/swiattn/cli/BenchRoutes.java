package org.swiattn.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.swiattn.spec.InvalidInputException;
import org.swiattn.spec.Segments;
import org.swiattn.spec.Visibility;

/**
 * The routes of {@code swiattn bench}, one place for every precision and for the peers:
 *
 * <pre>{@code
 *   full     every token full (causal attention)        window   every token windowed
 *   rho      each token full with probability rho, drawn with SplittableRandom(seed + 100 + index of the route in
 *            the forward route list) (a backward-only route: seed + 200 + its index in the backward list)
 *   masks    written as S*B bytes (1 = full) to <dir>/mask_S<S>_rho<route>.u8 for the peers, which then time
 *            exactly the routes we time
 * }</pre>
 */
public final class BenchRoutes {
    private BenchRoutes() {
    }

    /**
     * The hard mask [B*S] of a route name.
     *
     * @throws InvalidInputException when the route is neither full, window nor a fraction in [0, 1]
     */
    public static boolean[] mask(String route, int batch, int s, long seed) {
        boolean[] z = new boolean[batch * s];
        if (route.equals("full")) {
            Arrays.fill(z, true);
        } else if (!route.equals("window")) {
            double rho = rho(route);
            SplittableRandom rnd = new SplittableRandom(seed);
            for (int r = 0; r < z.length; r++) {
                z[r] = rnd.nextDouble() < rho;
            }
        }
        return z;
    }

    /** The full fraction of a rho route name, checked. */
    static double rho(String route) {
        double rho;
        try {
            rho = Double.parseDouble(route);
        } catch (NumberFormatException e) {
            throw new InvalidInputException("routes", "a route is full, window or a full fraction in [0, 1], got '"
                    + route + "'");
        }
        if (!(rho >= 0 && rho <= 1)) {
            throw new InvalidInputException("routes", "a full fraction must be in [0, 1], got " + route);
        }
        return rho;
    }

    /** The seed of a route's mask: forward routes by their index, backward-only routes after them. */
    public static long maskSeed(long seed, List<String> forwardRoutes, List<String> backwardRoutes, String route) {
        int f = forwardRoutes.indexOf(route);
        return f >= 0 ? seed + 100 + f : seed + 200 + backwardRoutes.indexOf(route);
    }

    /** Useful forward FLOPs: 4*D per visible pair per query head. @param z [B*S] not modified */
    public static double usefulFlops(boolean[] z, int batch, int s, int window, int headDim, int qHeads) {
        double pairs = 0;
        for (int b = 0; b < batch; b++) {
            pairs += Visibility.visiblePairs(Arrays.copyOfRange(z, b * s, (b + 1) * s), window);
        }
        return flops(pairs, headDim, qHeads);
    }

    /** Useful forward FLOPs of a segment table (the same count). @param z [B*Sq] not modified */
    public static double usefulFlops(Segments t, boolean[] z, int window, int headDim, int qHeads) {
        return flops(visible(t, z, window)[0], headDim, qHeads);
    }

    /** 4*D FLOPs per visible pair per query head: the two products of D multiply-adds each. */
    private static double flops(double pairs, int headDim, int qHeads) {
        return 4.0 * headDim * qHeads * pairs;
    }

    /**
     * Per head, the visible (query, key) pairs of a segment table under route z, and the key rows that some query
     * sees (in a segment the queries' positions are consecutive and the last sees the segment's last key, so these
     * rows are one run: from the smallest first key to the end).
     *
     * @param z [B*Sq] route of the query rows; not modified
     * @return {pairs, keyRows}
     */
    public static long[] visible(Segments t, boolean[] z, int window) {
        long pairs = 0;
        long keys = 0;
        for (int s = 0; s < t.count(); s++) {
            int first = Integer.MAX_VALUE;
            for (int r = t.qStart(s); r < t.qStart(s) + t.qLen(s); r++) {
                int p = t.position(r);
                pairs += Visibility.keyCount(p, z[r], window);
                first = Math.min(first, Visibility.firstKey(p, z[r], window));
            }
            keys += t.qLen(s) > 0 ? t.kLen(s) - first : 0;
        }
        return new long[] {pairs, keys};
    }

    /** The realised full fraction. @param z not modified */
    public static double fraction(boolean[] z) {
        int f = 0;
        for (boolean x : z) {
            f += x ? 1 : 0;
        }
        return f / (double) z.length;
    }

    /** The mask as bytes (1 = full). @param z not modified */
    public static byte[] bytes(boolean[] z) {
        byte[] b = new byte[z.length];
        for (int n = 0; n < z.length; n++) {
            b[n] = (byte) (z[n] ? 1 : 0);
        }
        return b;
    }

    /** The file of a rho route's mask for the peers. */
    public static Path maskFile(Path dir, int s, String route) {
        return dir.resolve("mask_S" + s + "_rho" + route + ".u8");
    }

    /** Writes a rho route's mask for the peers. @param z not modified */
    public static void writeMask(Path dir, int s, String route, boolean[] z) throws IOException {
        Files.createDirectories(dir);
        Files.write(maskFile(dir, s, route), bytes(z));
    }
}
