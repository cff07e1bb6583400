package org.swiattn.training.model;

import org.swiattn.spec.InvalidInputException;
import org.swiattn.training.SplitMix64;

/**
 * A decoder's config plus its flat parameter vector [P] (layout: {@link ParamLayout}). The vector is owned by the
 * checkpoint and is modified in place by the optimizer.
 */
public final class Checkpoint {
    private final ModelConfig config;
    private final ParamLayout layout;
    private final double[] weights;

    /**
     * @param weights [P]; not copied (the checkpoint owns it from now on)
     */
    public Checkpoint(ModelConfig config, double[] weights) {
        this.config = config;
        this.layout = new ParamLayout(config);
        InvalidInputException.require(weights != null && weights.length == layout.size(), "weights",
                "length must be P = " + layout.size() + " for " + config + ", got "
                        + (weights == null ? "null" : weights.length));
        for (int n = 0; n < weights.length; n++) {
            InvalidInputException.require(Double.isFinite(weights[n]), "weights",
                    "non-finite value " + weights[n] + " at index " + n);
        }
        this.weights = weights;
    }

    /**
     * Seeded random initialisation. Matrices ~ N(0, 1/fan_in), output projections (wo, w2) additionally scaled by
     * 1/sqrt(2L), embedding rows ~ N(0, 1), norm gains = 1; routers (hybrid config) w_r = 0, b_r = 0.
     */
    public static Checkpoint init(ModelConfig config, long seed) {
        ParamLayout lay = new ParamLayout(config);
        double[] w = new double[lay.size()];
        SplitMix64 rng = new SplitMix64(seed);
        double outScale = 1.0 / Math.sqrt(2.0 * config.layers());
        for (ParamLayout.Entry e : lay.entries()) {
            String base = e.name().substring(e.name().indexOf('.') + 1);
            if (e.shape().length == 1) {
                double v = base.endsWith("norm") ? 1.0 : 0.0;
                for (int n = 0; n < e.size(); n++) {
                    w[e.offset() + n] = v;
                }
                continue;
            }
            double std = e.name().equals("tok_emb") ? 1.0 : 1.0 / Math.sqrt(e.shape()[0]);
            if (base.equals("wo") || base.equals("w2")) {
                std *= outScale;
            }
            for (int n = 0; n < e.size(); n++) {
                w[e.offset() + n] = std * rng.nextGaussian();
            }
        }
        return new Checkpoint(config, w);
    }

    public ModelConfig config() {
        return config;
    }

    public ParamLayout layout() {
        return layout;
    }

    /** [P], not a copy: the optimizer updates it in place. */
    public double[] weights() {
        return weights;
    }

    /** A deep copy. */
    public Checkpoint copy() {
        return new Checkpoint(config, weights.clone());
    }

    /** A copy of one named tensor. */
    public double[] tensor(String name) {
        ParamLayout.Entry e = layout.entry(name);
        double[] t = new double[e.size()];
        System.arraycopy(weights, e.offset(), t, 0, e.size());
        return t;
    }
}
