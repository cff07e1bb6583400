package org.swiattn.spec;

/**
 * Gradients of a scalar loss L with respect to the inputs, given dO = dL/dO.
 *
 * <pre>
 *   dq           [B,S,Hq,D]
 *   dk, dv       [B,S,Hkv,D]   summed over the G query heads that share a key/value head
 *   dRouterLogit [B,S]         dL/da; all zeros for HARD
 * </pre>
 */
public record BackwardResult(Shape shape, double[] dq, double[] dk, double[] dv, double[] dRouterLogit) {
    public BackwardResult {
        if (dq.length != shape.qSize() || dk.length != shape.kvSize() || dv.length != shape.kvSize()
                || dRouterLogit.length != shape.rows()) {
            throw new IllegalArgumentException("BackwardResult sizes disagree with " + shape);
        }
    }
}
