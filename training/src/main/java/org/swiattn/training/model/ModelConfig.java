package org.swiattn.training.model;

import org.swiattn.spec.InvalidInputException;

/**
 * Sizes and constants of the small decoder.
 *
 * <pre>
 *   V vocab, C width, L layers, Hq / Hkv heads (Hq % Hkv == 0), D head dim (even, for rotary), F MLP hidden,
 *   w window of the local branch, rotary base theta (10000), RMSNorm epsilon (1e-6)
 *   hybrid: whether every layer carries a router (w_r [C], b_r) - a transferred checkpoint
 * </pre>
 */
public record ModelConfig(int vocab, int width, int layers, int qHeads, int kvHeads, int headDim, int mlpHidden,
                          int window, double ropeBase, double normEps, boolean hybrid) {

    public ModelConfig {
        InvalidInputException.require(vocab >= 2, "vocab", "must be >= 2, got " + vocab);
        InvalidInputException.require(width >= 1, "width", "must be >= 1, got " + width);
        InvalidInputException.require(layers >= 1, "layers", "must be >= 1, got " + layers);
        InvalidInputException.require(qHeads >= 1, "qHeads", "must be >= 1, got " + qHeads);
        InvalidInputException.require(kvHeads >= 1, "kvHeads", "must be >= 1, got " + kvHeads);
        InvalidInputException.require(qHeads % kvHeads == 0, "qHeads",
                "qHeads % kvHeads must be 0, got qHeads=" + qHeads + ", kvHeads=" + kvHeads);
        InvalidInputException.require(headDim >= 2 && headDim % 2 == 0, "headDim",
                "must be even and >= 2 (rotary pairs), got " + headDim);
        InvalidInputException.require(mlpHidden >= 1, "mlpHidden", "must be >= 1, got " + mlpHidden);
        InvalidInputException.require(window >= 1, "window", "must be >= 1, got " + window);
        InvalidInputException.require(Double.isFinite(ropeBase) && ropeBase > 1, "ropeBase",
                "must be finite and > 1, got " + ropeBase);
        InvalidInputException.require(Double.isFinite(normEps) && normEps > 0, "normEps",
                "must be finite and > 0, got " + normEps);
    }

    /** A full-attention (non-hybrid) config with rotary base 10000 and epsilon 1e-6. */
    public static ModelConfig of(int vocab, int width, int layers, int qHeads, int kvHeads, int headDim,
                                 int mlpHidden, int window) {
        return new ModelConfig(vocab, width, layers, qHeads, kvHeads, headDim, mlpHidden, window, 10000.0, 1e-6,
                false);
    }

    /** This config with or without routers. */
    public ModelConfig withHybrid(boolean h) {
        return new ModelConfig(vocab, width, layers, qHeads, kvHeads, headDim, mlpHidden, window, ropeBase, normEps,
                h);
    }

    /** This config with another window. */
    public ModelConfig withWindow(int w) {
        return new ModelConfig(vocab, width, layers, qHeads, kvHeads, headDim, mlpHidden, w, ropeBase, normEps,
                hybrid);
    }

    /** Hq * D, the width of Q and of the attention output. */
    public int qWidth() {
        return qHeads * headDim;
    }

    /** Hkv * D, the width of K and V. */
    public int kvWidth() {
        return kvHeads * headDim;
    }
}
