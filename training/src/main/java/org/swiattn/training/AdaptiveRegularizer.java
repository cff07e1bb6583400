package org.swiattn.training;

import java.util.Arrays;
import org.swiattn.spec.InvalidInputException;
import org.swiattn.spec.Visibility;

/**
 * The adaptive regularizer (spec/SPEC.md section "Adaptive regularizer"): a Lagrangian penalty that pulls the
 * expected full-attention ratio R of the routers toward a target t, with multipliers found by gradient ascent.
 *
 * <p>Ratio of one layer l, from its router probabilities p [B,S] (cF_i = i + 1, cW_i = min(i + 1, w)):
 * <pre>
 *   COST  (default)  R_l = sum_{b,i} [p_bi cF_i + (1 - p_bi) cW_i] / (B * sum_i cF_i)     expected attention work
 *   TOKEN            R_l = (1 / (B S)) sum_{b,i} p_bi                                        expected token fraction
 * </pre>
 * With hard decisions (p in {0,1}) COST is exactly visiblePairs(route) / visiblePairs(all-full).
 *
 * <p>Budgets over K = 1 (GLOBAL, default) or K = L (PER_LAYER) ratios:
 * <pre>
 *   GLOBAL     R_1 = (1/L) sum_l R_l            L_reg = phi(R_1; lambda1_1, lambda2_1)
 *   PER_LAYER  R_l per layer                    L_reg = (1/L) sum_l phi(R_l; lambda1_l, lambda2_l)
 * </pre>
 * Penalty phi with gap u = R - t:
 * <pre>{@code
 *   TWO_SIDED (default)  phi = lambda1 u + lambda2 u^2                (Lagrangian of CoFi / Sheared-LLaMA)
 *   HINGE                phi = lambda1 h + lambda2 h^2,  h = max(0, u)  (only R > t is penalised; at u = 0 the
 *                                                                      derivative in R is taken as 0)
 * }</pre>
 * The model minimises L_reg; the multipliers ascend it: {@code lambda_k <- lambda_k + eta * dL_reg/dlambda_k} (plain
 * gradient ascent, lambdas start at 0). So in TWO_SIDED lambda1 rises while {@code R > t} and falls while
 * {@code R < t}, and lambda2 never falls; in HINGE both rise while {@code R > t} and stay put otherwise.
 *
 * <p>Not thread-safe: one instance belongs to one training run (it holds the multipliers).
 */
public final class AdaptiveRegularizer {

    /** How the expected full ratio of one layer is measured. */
    public enum Measure { COST, TOKEN }

    /** One global budget (ratio averaged over layers) or one budget per layer. */
    public enum Budget { GLOBAL, PER_LAYER }

    /** Two-sided Lagrangian or one-sided hinge. */
    public enum Penalty { TWO_SIDED, HINGE }

    /**
     * Settings.
     *
     * @param measure            COST (default) or TOKEN
     * @param budget             GLOBAL (default) or PER_LAYER
     * @param penalty            TWO_SIDED (default) or HINGE
     * @param lambdaLearningRate {@code eta > 0} of the multiplier ascent
     * @param schedule           target warm-up
     */
    public record Config(Measure measure, Budget budget, Penalty penalty, double lambdaLearningRate,
                         TargetSchedule schedule) {
        public Config {
            InvalidInputException.require(measure != null, "measure", "is null");
            InvalidInputException.require(budget != null, "budget", "is null");
            InvalidInputException.require(penalty != null, "penalty", "is null");
            InvalidInputException.require(Double.isFinite(lambdaLearningRate) && lambdaLearningRate > 0,
                    "lambdaLearningRate", "must be finite and > 0, got " + lambdaLearningRate);
            InvalidInputException.require(schedule != null, "schedule", "is null");
        }

        /** Defaults: COST, GLOBAL, TWO_SIDED, eta = 0.05, t from 1 to tFinal over warmup steps. */
        public static Config defaults(double tFinal, int warmup) {
            return new Config(Measure.COST, Budget.GLOBAL, Penalty.TWO_SIDED, 0.05,
                    TargetSchedule.fromFull(tFinal, warmup));
        }

        public Config withMeasure(Measure m) {
            return new Config(m, budget, penalty, lambdaLearningRate, schedule);
        }

        public Config withBudget(Budget b) {
            return new Config(measure, b, penalty, lambdaLearningRate, schedule);
        }

        public Config withPenalty(Penalty p) {
            return new Config(measure, budget, p, lambdaLearningRate, schedule);
        }

        public Config withLambdaLearningRate(double eta) {
            return new Config(measure, budget, penalty, eta, schedule);
        }
    }

    /**
     * One evaluation.
     *
     * <pre>
     *   target       t at this step
     *   layerRatios  [L]  R_l
     *   budgetRatios [K]  R_k (K = 1 global, K = L per layer)
     *   value        L_reg
     *   dLdp         [L][B*S]  dL_reg/dp (chain through the sigmoid with {@link Router#sigmoidBackward})
     *   dLdLambda1   [K], dLdLambda2 [K]   the ascent directions
     * </pre>
     */
    public record Result(double target, double[] layerRatios, double[] budgetRatios, double value, double[][] dLdp,
                         double[] dLdLambda1, double[] dLdLambda2) {
    }

    private final Config config;
    private final int layers;
    private final double[] lambda1;  // [K]
    private final double[] lambda2;  // [K]

    /** A regularizer for a model of {@code layers} hybrid layers; multipliers start at 0. */
    public AdaptiveRegularizer(Config config, int layers) {
        InvalidInputException.require(config != null, "config", "is null");
        InvalidInputException.require(layers >= 1, "layers", "must be >= 1, got " + layers);
        this.config = config;
        this.layers = layers;
        int k = config.budget() == Budget.GLOBAL ? 1 : layers;
        this.lambda1 = new double[k];
        this.lambda2 = new double[k];
    }

    public Config config() {
        return config;
    }

    public int layers() {
        return layers;
    }

    /** [K] copy of lambda1. */
    public double[] lambda1() {
        return lambda1.clone();
    }

    /** [K] copy of lambda2. */
    public double[] lambda2() {
        return lambda2.clone();
    }

    /**
     * Sets the multipliers (to resume a run or to build a test case).
     *
     * @param l1 [K]; not modified (copied)
     * @param l2 [K]; not modified (copied)
     */
    public void setLambdas(double[] l1, double[] l2) {
        InvalidInputException.require(l1 != null && l1.length == lambda1.length, "lambda1",
                "length must be K = " + lambda1.length);
        InvalidInputException.require(l2 != null && l2.length == lambda2.length, "lambda2",
                "length must be K = " + lambda2.length);
        for (int k = 0; k < l1.length; k++) {
            InvalidInputException.require(Double.isFinite(l1[k]), "lambda1", "non-finite at index " + k);
            InvalidInputException.require(Double.isFinite(l2[k]), "lambda2", "non-finite at index " + k);
        }
        System.arraycopy(l1, 0, lambda1, 0, l1.length);
        System.arraycopy(l2, 0, lambda2, 0, l2.length);
    }

    /**
     * Expected full ratio R of one layer.
     *
     * <pre>{@code  p [B,S] -> R scalar  }</pre>
     *
     * @param p [B,S] router probabilities in [0, 1]; not modified
     */
    public static double expectedRatio(Measure measure, double[] p, int batch, int seqLen, int window) {
        checkProbabilities(p, batch, seqLen, window);
        if (measure == Measure.TOKEN) {
            double s = 0;
            for (double v : p) {
                s += v;
            }
            return s / ((double) batch * seqLen);
        }
        // COST: pass 1 numerator sum_{b,i} [p cF + (1-p) cW]; pass 2 divide by B * sum_i cF
        double num = 0;
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < seqLen; i++) {
                double pr = p[b * seqLen + i];
                num += pr * Visibility.keyCount(i, true, window) + (1 - pr) * Visibility.keyCount(i, false, window);
            }
        }
        return num / (batch * fullPairs(seqLen));
    }

    /**
     * dR/dp of one layer (constant in p: both measures are linear).
     *
     * <pre>{@code  -> [B,S];  COST: (cF_i - cW_i) / (B sum cF);  TOKEN: 1 / (B S)  }</pre>
     */
    public static double[] ratioGradient(Measure measure, int batch, int seqLen, int window) {
        InvalidInputException.require(window >= 1, "window", "must be >= 1, got " + window);
        double[] g = new double[batch * seqLen];
        double denomCost = batch * fullPairs(seqLen);
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < seqLen; i++) {
                g[b * seqLen + i] = measure == Measure.TOKEN ? 1.0 / ((double) batch * seqLen)
                        : (Visibility.keyCount(i, true, window) - Visibility.keyCount(i, false, window)) / denomCost;
            }
        }
        return g;
    }

    /**
     * Realized ratio of a hard route: COST = visiblePairs(z) / visiblePairs(all-full), TOKEN = fraction of z = 1.
     *
     * @param z [B,S] hard route; not modified
     */
    public static double hardRatio(Measure measure, boolean[] z, int batch, int seqLen, int window) {
        InvalidInputException.require(z != null && z.length == batch * seqLen, "route",
                "length must be B*S = " + batch * seqLen);
        InvalidInputException.require(window >= 1, "window", "must be >= 1, got " + window);
        if (measure == Measure.TOKEN) {
            int n = 0;
            for (boolean f : z) {
                n += f ? 1 : 0;
            }
            return n / ((double) batch * seqLen);
        }
        long pairs = 0;
        for (int b = 0; b < batch; b++) {
            boolean[] row = Arrays.copyOfRange(z, b * seqLen, (b + 1) * seqLen);
            pairs += Visibility.visiblePairs(row, window);
        }
        return pairs / (batch * fullPairs(seqLen));
    }

    /** sum_i cF_i = S (S + 1) / 2, as a double. */
    static double fullPairs(int seqLen) {
        return seqLen * (seqLen + 1.0) / 2.0;
    }

    /**
     * Evaluates L_reg and its gradients at optimizer step s (multipliers are not changed; see {@link #ascend}).
     *
     * <pre>{@code  p [L][B*S] -> Result  }</pre>
     *
     * @param p [L][B*S] router probabilities of every layer; not modified
     */
    public Result evaluate(double[][] p, int batch, int seqLen, int window, long step) {
        InvalidInputException.require(p != null && p.length == layers, "p",
                "must have one row per layer, L = " + layers + ", got " + (p == null ? "null" : p.length));
        double t = config.schedule().target(step);
        Measure m = config.measure();
        // pass 1: the ratio of every layer
        double[] rl = new double[layers];
        for (int l = 0; l < layers; l++) {
            rl[l] = expectedRatio(m, p[l], batch, seqLen, window);
        }
        // pass 2: budgets, penalty value, dL/dR_k and the ascent directions
        int k = lambda1.length;
        double[] rk = new double[k];
        double[] dLdRk = new double[k];
        double[] dl1 = new double[k];
        double[] dl2 = new double[k];
        double value = 0;
        double weight = config.budget() == Budget.GLOBAL ? 1.0 : 1.0 / layers;   // PER_LAYER averages over layers
        for (int j = 0; j < k; j++) {
            if (config.budget() == Budget.GLOBAL) {
                double s = 0;
                for (double r : rl) {
                    s += r;
                }
                rk[j] = s / layers;
            } else {
                rk[j] = rl[j];
            }
            double u = rk[j] - t;
            double h = config.penalty() == Penalty.TWO_SIDED ? u : Math.max(0.0, u);
            boolean active = config.penalty() == Penalty.TWO_SIDED || u > 0;
            value += weight * (lambda1[j] * h + lambda2[j] * h * h);
            dLdRk[j] = active ? weight * (lambda1[j] + 2 * lambda2[j] * h) : 0.0;
            dl1[j] = weight * h;
            dl2[j] = weight * h * h;
        }
        // pass 3: chain to the probabilities, dL/dp_l = dL/dR_l * dR_l/dp_l
        double[] dRdp = ratioGradient(m, batch, seqLen, window);
        double[][] dLdp = new double[layers][batch * seqLen];
        for (int l = 0; l < layers; l++) {
            double dLdRl = config.budget() == Budget.GLOBAL ? dLdRk[0] / layers : dLdRk[l];
            for (int r = 0; r < dRdp.length; r++) {
                dLdp[l][r] = dLdRl * dRdp[r];
            }
        }
        return new Result(t, rl, rk, value, dLdp, dl1, dl2);
    }

    /**
     * Gradient ascent on the multipliers: lambda_k += eta * dL_reg/dlambda_k.
     *
     * @param r an evaluation of this regularizer; not modified
     */
    public void ascend(Result r) {
        InvalidInputException.require(r != null && r.dLdLambda1().length == lambda1.length, "result",
                "does not belong to this regularizer");
        double eta = config.lambdaLearningRate();
        for (int j = 0; j < lambda1.length; j++) {
            lambda1[j] += eta * r.dLdLambda1()[j];
            lambda2[j] += eta * r.dLdLambda2()[j];
        }
    }

    private static void checkProbabilities(double[] p, int batch, int seqLen, int window) {
        InvalidInputException.require(batch >= 1, "batch", "must be >= 1, got " + batch);
        InvalidInputException.require(seqLen >= 1, "seqLen", "must be >= 1, got " + seqLen);
        InvalidInputException.require(window >= 1, "window", "must be >= 1, got " + window);
        InvalidInputException.require(p != null && p.length == (long) batch * seqLen, "p",
                "length must be B*S = " + ((long) batch * seqLen) + ", got " + (p == null ? "null" : p.length));
        for (int r = 0; r < p.length; r++) {
            InvalidInputException.require(p[r] >= 0 && p[r] <= 1, "p",
                    "must be in [0, 1], got " + p[r] + " at index " + r);
        }
    }
}
