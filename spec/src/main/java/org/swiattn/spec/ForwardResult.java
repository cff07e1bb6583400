package org.swiattn.spec;

/**
 * Forward outputs of one call.
 *
 * <pre>
 *   o   [B,S,Hq,D]  routed output: z*oF + (1-z)*oW (SOFT: p*oF + (1-p)*oW)
 *   lse [B,S,Hq]    natural-log log-sum-exp of the scaled scores over the keys of the branch the token is routed
 *                   to (the hard route z, for every estimator); log2 form = lse / ln 2
 * </pre>
 */
public record ForwardResult(Shape shape, double[] o, double[] lse) {
    public ForwardResult {
        if (o.length != shape.qSize() || lse.length != shape.lseSize()) {
            throw new IllegalArgumentException("ForwardResult sizes disagree with " + shape);
        }
    }
}
