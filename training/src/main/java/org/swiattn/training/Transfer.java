package org.swiattn.training;

import org.swiattn.spec.InvalidInputException;
import org.swiattn.training.model.Checkpoint;
import org.swiattn.training.model.ModelConfig;
import org.swiattn.training.model.ParamLayout;

/**
 * The transfer procedure (spec/SPEC.md section "Transfer"): a full-attention checkpoint becomes a hybrid one.
 *
 * <pre>{@code
 *   every tensor of the full checkpoint is copied unchanged; in particular each hybrid layer's full and window
 *   branches share the full layer's Wq, Wk, Wv, Wo (one KV cache)                         (paper)
 *   each layer gets a router  w_r = 0 [C],  b_r = logit(p0),  p0 = 0.99 by default      (init values: our choice)
 *   => a_i = logit(p0) > 0 for every token, z_i = 1: at step 0 every token is on the full branch and the hybrid
 *      model computes bit for bit what the full model computes (o = 1*oF + 0*oW = oF).
 * }</pre>
 * p0 must lie in (0.5, 1): {@code p0 <= 0.5} would give {@code a_i <= 0} and route every token to the window branch.
 */
public final class Transfer {
    /** The default initial full probability p0. */
    public static final double DEFAULT_P0 = 0.99;

    private Transfer() {
    }

    /** {@link #toHybrid(Checkpoint, double)} with p0 = 0.99. */
    public static Checkpoint toHybrid(Checkpoint full) {
        return toHybrid(full, DEFAULT_P0);
    }

    /**
     * Builds the hybrid checkpoint.
     *
     * <pre>{@code  full [P_full] -> hybrid [P_full + L*(C+1)]  }</pre>
     *
     * @param full a non-hybrid checkpoint; not modified
     * @param p0   initial full probability, in (0.5, 1)
     * @return a new hybrid checkpoint (its own weight vector)
     */
    public static Checkpoint toHybrid(Checkpoint full, double p0) {
        InvalidInputException.require(full != null, "full", "is null");
        InvalidInputException.require(!full.config().hybrid(), "full",
                "is already a hybrid checkpoint (it carries routers)");
        InvalidInputException.require(p0 > 0.5 && p0 < 1.0, "p0",
                "must be in (0.5, 1) so that every token starts on the full branch, got " + p0);
        ModelConfig hc = full.config().withHybrid(true);
        ParamLayout src = full.layout();
        ParamLayout dst = new ParamLayout(hc);
        double[] w = new double[dst.size()];
        // pass 1: copy every tensor of the full checkpoint by name
        for (ParamLayout.Entry e : src.entries()) {
            System.arraycopy(full.weights(), e.offset(), w, dst.entry(e.name()).offset(), e.size());
        }
        // pass 2: routers, w_r = 0 (already zero), b_r = logit(p0)
        double b = Router.logit(p0);
        for (int l = 0; l < hc.layers(); l++) {
            w[dst.layer(l).routerB()] = b;
        }
        return new Checkpoint(hc, w);
    }
}
