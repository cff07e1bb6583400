package org.swiattn.training.model;

import org.swiattn.spec.InvalidInputException;

/**
 * AdamW (Loshchilov and Hutter), in the exact update order of PyTorch's {@code torch.optim.AdamW}
 * (single-tensor, non-amsgrad), so a PyTorch replay of a golden step matches to rounding:
 *
 * <pre>
 *   t += 1
 *   theta *= 1 - lr_k * wd_k                                  decoupled weight decay (matrices only by default)
 *   m = beta1 m + (1 - beta1) g                               (PyTorch: m.lerp_(g, 1 - beta1))
 *   v = beta2 v + (1 - beta2) g^2
 *   theta -= (lr_k / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * </pre>
 * lr_k = lr * lrScale[k] (the routers may learn faster), wd_k = wd * decay[k] (decay[k] = 0: no weight decay).
 */
public final class AdamW {
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final double[] m;
    private final double[] v;
    private final double[] lrScale;   // [P]
    private final double[] decay;     // [P]
    private long step;

    /**
     * @param lrScale [P] per-parameter learning-rate factor; not modified (copied)
     * @param decay   [P] per-parameter weight-decay factor (0 = none, 1 = wd); not modified (copied)
     */
    public AdamW(double beta1, double beta2, double eps, double weightDecay, double[] lrScale, double[] decay) {
        InvalidInputException.require(beta1 >= 0 && beta1 < 1, "beta1", "must be in [0, 1), got " + beta1);
        InvalidInputException.require(beta2 >= 0 && beta2 < 1, "beta2", "must be in [0, 1), got " + beta2);
        InvalidInputException.require(eps > 0 && Double.isFinite(eps), "eps", "must be finite and > 0, got " + eps);
        InvalidInputException.require(weightDecay >= 0 && Double.isFinite(weightDecay), "weightDecay",
                "must be finite and >= 0, got " + weightDecay);
        InvalidInputException.require(lrScale != null && decay != null && lrScale.length == decay.length, "lrScale",
                "and decay must have the same length P");
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.m = new double[lrScale.length];
        this.v = new double[lrScale.length];
        this.lrScale = lrScale.clone();
        this.decay = decay.clone();
    }

    /**
     * Default groups for a layout: decay on matrices, none on norm gains and router biases; routers learn
     * {@code routerLrScale} times faster; router weights w_r decay with factor {@code routerDecayScale}.
     */
    public static AdamW forLayout(ParamLayout lay, double beta1, double beta2, double eps, double weightDecay,
                                  double routerLrScale, double routerDecayScale) {
        InvalidInputException.require(routerLrScale >= 0 && Double.isFinite(routerLrScale), "routerLrScale",
                "must be finite and >= 0, got " + routerLrScale);
        InvalidInputException.require(routerDecayScale >= 0 && Double.isFinite(routerDecayScale), "routerDecayScale",
                "must be finite and >= 0, got " + routerDecayScale);
        double[] s = new double[lay.size()];
        double[] d = new double[lay.size()];
        for (ParamLayout.Entry e : lay.entries()) {
            boolean router = e.name().contains("router_");
            for (int k = e.offset(); k < e.offset() + e.size(); k++) {
                s[k] = router ? routerLrScale : 1.0;
                d[k] = e.name().endsWith("router_w") ? routerDecayScale : e.shape().length == 2 ? 1.0 : 0.0;
            }
        }
        return new AdamW(beta1, beta2, eps, weightDecay, s, d);
    }

    /** Steps done so far. */
    public long stepCount() {
        return step;
    }

    /**
     * One update.
     *
     * @param theta [P] parameters; modified
     * @param g     [P] gradient; not modified
     * @param lr    learning rate {@code >= 0}
     */
    public void step(double[] theta, double[] g, double lr) {
        InvalidInputException.require(theta.length == m.length && g.length == m.length, "theta",
                "and g must have length P = " + m.length);
        InvalidInputException.require(lr >= 0 && Double.isFinite(lr), "lr", "must be finite and >= 0, got " + lr);
        step++;
        double bc1 = 1 - Math.pow(beta1, step);
        double bc2 = 1 - Math.pow(beta2, step);
        double sqrtBc2 = Math.sqrt(bc2);
        for (int k = 0; k < theta.length; k++) {
            double lrk = lr * lrScale[k];
            if (decay[k] != 0) {
                theta[k] *= 1 - lrk * weightDecay * decay[k];
            }
            m[k] += (g[k] - m[k]) * (1 - beta1);
            v[k] = beta2 * v[k] + (1 - beta2) * g[k] * g[k];
            double denom = Math.sqrt(v[k]) / sqrtBc2 + eps;
            theta[k] -= (lrk / bc1) * m[k] / denom;
        }
    }

    /** [P] copies of the moments (for golden files). */
    public double[] firstMoment() {
        return m.clone();
    }

    public double[] secondMoment() {
        return v.clone();
    }
}
