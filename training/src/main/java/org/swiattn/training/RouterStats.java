package org.swiattn.training;

import org.swiattn.spec.Route;

/**
 * Router statistics of one forward pass (hard decisions as routed, and the expected values the regularizer sees).
 *
 * <pre>
 *   tokenRatio    [L]    fraction of tokens with z = 1 (the "full ratio")
 *   costRatio     [L]    visiblePairs(route) / visiblePairs(all-full): attention work relative to full attention
 *   expectedToken [L]    mean p          expectedCost [L]  the COST measure with p
 *   positionFull  [L][S] fraction of sequences whose token i goes to the full branch
 *   meanLogit     [L]    mean router logit
 * </pre>
 */
public record RouterStats(double[] tokenRatio, double[] costRatio, double[] expectedToken, double[] expectedCost,
                          double[][] positionFull, double[] meanLogit) {

    /**
     * Statistics from the routes and router logits of every layer.
     *
     * @param routes [L] routes carrying logits; not modified
     */
    public static RouterStats of(Route[] routes, int window) {
        int layers = routes.length;
        double[] tok = new double[layers];
        double[] cost = new double[layers];
        double[] et = new double[layers];
        double[] ec = new double[layers];
        double[] ml = new double[layers];
        double[][] pos = new double[layers][];
        for (int l = 0; l < layers; l++) {
            Route r = routes[l];
            int b = r.batch();
            int s = r.seqLen();
            boolean[] z = r.mask();
            tok[l] = AdaptiveRegularizer.hardRatio(AdaptiveRegularizer.Measure.TOKEN, z, b, s, window);
            cost[l] = AdaptiveRegularizer.hardRatio(AdaptiveRegularizer.Measure.COST, z, b, s, window);
            pos[l] = new double[s];
            for (int n = 0; n < z.length; n++) {
                pos[l][n % s] += z[n] ? 1.0 / b : 0.0;
            }
            if (r.hasLogits()) {
                double[] a = r.logits();
                double[] p = Router.probabilities(a);
                et[l] = AdaptiveRegularizer.expectedRatio(AdaptiveRegularizer.Measure.TOKEN, p, b, s, window);
                ec[l] = AdaptiveRegularizer.expectedRatio(AdaptiveRegularizer.Measure.COST, p, b, s, window);
                double sum = 0;
                for (double v : a) {
                    sum += v;
                }
                ml[l] = sum / a.length;
            } else {
                et[l] = tok[l];
                ec[l] = cost[l];
                ml[l] = Double.NaN;
            }
        }
        return new RouterStats(tok, cost, et, ec, pos, ml);
    }

    /** Mean over layers of the full token ratio. */
    public double meanTokenRatio() {
        return mean(tokenRatio);
    }

    /** Mean over layers of the attention work relative to full attention. */
    public double meanCostRatio() {
        return mean(costRatio);
    }

    private static double mean(double[] x) {
        double s = 0;
        for (double v : x) {
            s += v;
        }
        return s / x.length;
    }
}
