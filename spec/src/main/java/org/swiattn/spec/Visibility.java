package org.swiattn.spec;

/**
 * The normative visibility sets (SPEC.md section "Visibility").
 *
 * <pre>{@code
 *   a query at position p of a segment whose keys start at key row k0 (Segments):
 *     full branch   : key rows k0 + [0, p]
 *     window branch : key rows k0 + [max(0, p - w + 1), p]   (exactly w keys once p >= w - 1)
 *   self-attention prefill (spec 1.x): k0 = b*S, p = i, so query i sees keys j in [0, i] / [max(0, i-w+1), i]
 * }</pre>
 * Equivalent conventions: FlashAttention {@code causal=True, window_size=(w-1, 0)}; Hugging Face
 * {@code sliding_window=w}; the authors' TileLang kernel {@code lower = q - w + 1}. No row is ever empty.
 */
public final class Visibility {
    private Visibility() {
    }

    /**
     * min(w, S): a window of S or more keys sees exactly what the full branch sees, so the two give identical
     * visible sets for every query of a length-S sequence. Kernels use it so that index arithmetic such as
     * {@code j + w} cannot overflow for huge windows (w up to Integer.MAX_VALUE is valid input).
     */
    public static int effectiveWindow(int window, int seqLen) {
        return Math.min(window, seqLen);
    }

    /** First key position visible to a query at position i on the given branch. */
    public static int firstKey(int i, boolean fullBranch, int window) {
        return fullBranch ? 0 : Math.max(0, i - window + 1);
    }

    /** First key row visible to flat query row r on the given branch: k0 + firstKey(p). */
    public static int firstKeyRow(Segments segments, int r, boolean fullBranch, int window) {
        return segments.keyStart(r) + firstKey(segments.position(r), fullBranch, window);
    }

    /** Last key row visible to flat query row r (on both branches): k0 + p, the query's own position. */
    public static int lastKeyRow(Segments segments, int r) {
        return segments.keyStart(r) + segments.position(r);
    }

    /** Whether key j is visible to query i on the given branch. */
    public static boolean visible(int i, int j, boolean fullBranch, int window) {
        return j <= i && j >= firstKey(i, fullBranch, window);
    }

    /** Number of keys query i sees: cF_i = i + 1 on the full branch, cW_i = min(i + 1, w) on the window branch. */
    public static long keyCount(int i, boolean fullBranch, int window) {
        return fullBranch ? i + 1L : Math.min(i + 1L, window);
    }

    /** Visible (query, key) pairs of one (batch, head) for a route row z [S]: sum_i keyCount(i, z_i, w). */
    public static long visiblePairs(boolean[] fullRow, int window) {
        long n = 0;
        for (int i = 0; i < fullRow.length; i++) {
            n += keyCount(i, fullRow[i], window);
        }
        return n;
    }
}
