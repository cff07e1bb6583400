package org.swiattn.spec;

/**
 * How the router receives gradients (SPEC.md section "Training estimators"). HARD, STRAIGHT_THROUGH and
 * SELECTED_BRANCH share the forward value of the hard route {@code o = z*oF + (1-z)*oW}; SOFT mixes
 * {@code o = p*oF + (1-p)*oW}. The estimators are our documented choice: the paper does not publish its own.
 */
public enum Estimator {
    /** Inference: hard route, no gradient to the router (dL/da = 0). Router logits optional. */
    HARD(false),
    /** m = z + p - stopgrad(p); {@code dL/da_i = p_i(1-p_i) * sum_h <dO_ih, oF_ih - oW_ih>}. Needs logits. */
    STRAIGHT_THROUGH(true),
    /** o = oZ * pZ / stopgrad(pZ); {@code dL/da_i = (z_i - p_i) * sum_h <dO_ih, oZ_ih>}. Needs logits. */
    SELECTED_BRANCH(true),
    /** o = p*oF + (1-p)*oW; {@code dL/da_i = p_i(1-p_i) * sum_h <dO_ih, oF_ih - oW_ih>}. Needs logits. */
    SOFT(true);

    private final boolean needsLogits;

    Estimator(boolean needsLogits) {
        this.needsLogits = needsLogits;
    }

    /** Whether this estimator needs the router logits a (HARD can run from a bare route mask). */
    public boolean needsLogits() {
        return needsLogits;
    }
}
