package org.swiattn.spec;

/**
 * The normative visibility sets (SPEC.md section "Visibility").
 *
 * <pre>
 *   full branch   : query i sees keys j in [0, i]
 *   window branch : query i sees keys j in [max(0, i - w + 1), i]   (exactly w keys once i &gt;= w - 1)
 * </pre>
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

    /** First key visible to query i on the given branch. */
    public static int firstKey(int i, boolean fullBranch, int window) {
        return fullBranch ? 0 : Math.max(0, i - window + 1);
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
