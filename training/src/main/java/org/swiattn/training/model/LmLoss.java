package org.swiattn.training.model;

import org.swiattn.spec.InvalidInputException;

/**
 * Language-model losses on the positions that carry a target.
 *
 * <pre>{@code
 *   targets [N], -1 = no target at this position;  M = number of positions with a target (>= 1)
 *   cross entropy   L_lm = (1/M) sum_{r: t_r >= 0} -log softmax(logits_r)[t_r]
 *                   dL/dlogits_r = (softmax(logits_r) - onehot(t_r)) / M
 *   distillation    L_kd = (1/M) sum_{r: t_r >= 0} KL(softmax(teacher_r) || softmax(logits_r))
 *                   dL/dlogits_r = (softmax(logits_r) - softmax(teacher_r)) / M
 * }</pre>
 */
public final class LmLoss {
    private LmLoss() {
    }

    /**
     * Value, gradient and accuracy of a loss.
     *
     * @param value    the loss
     * @param dLogits  [N,V] dL/dlogits
     * @param correct  number of target positions whose argmax equals the target (cross entropy; 0 for KD)
     * @param count    M
     */
    public record Result(double value, double[] dLogits, int correct, int count) {
        /** correct / count. */
        public double accuracy() {
            return count == 0 ? 0 : (double) correct / count;
        }
    }

    /**
     * Cross entropy.
     *
     * @param logits  [N,V]; not modified
     * @param targets [N]; not modified
     */
    public static Result crossEntropy(double[] logits, int[] targets, int vocab) {
        int n = checkTargets(logits, targets, vocab);
        InvalidInputException.require(n >= 1, "targets", "no position carries a target (all -1)");
        return crossEntropy(logits, targets, vocab, n);
    }

    /**
     * Cross entropy normalised by a given M (a shard of a batch uses the whole batch's M, so shard gradients add up
     * to the batch gradient).
     *
     * @param logits  [N,V]; not modified
     * @param targets [N]; not modified
     * @param n       {@code M >= 1}, the normaliser
     */
    public static Result crossEntropy(double[] logits, int[] targets, int vocab, int n) {
        checkTargets(logits, targets, vocab);
        InvalidInputException.require(n >= 1, "count", "must be >= 1, got " + n);
        double[] d = new double[logits.length];
        double[] ls = new double[vocab];
        double sum = 0;
        int correct = 0;
        // pass 1: per position log-softmax, loss, argmax, gradient
        for (int r = 0; r < targets.length; r++) {
            int t = targets[r];
            if (t < 0) {
                continue;
            }
            Ops.logSoftmax(logits, r * vocab, vocab, ls);
            sum -= ls[t];
            int arg = 0;
            for (int c = 0; c < vocab; c++) {
                if (logits[r * vocab + c] > logits[r * vocab + arg]) {
                    arg = c;
                }
                d[r * vocab + c] = Math.exp(ls[c]) / n;
            }
            d[r * vocab + t] -= 1.0 / n;
            correct += arg == t ? 1 : 0;
        }
        return new Result(sum / n, d, correct, n);
    }

    /**
     * Distillation toward a frozen teacher.
     *
     * @param logits  [N,V] student; not modified
     * @param teacher [N,V] teacher; not modified
     * @param targets [N] only the positions with {@code t >= 0} count; not modified
     */
    public static Result distillation(double[] logits, double[] teacher, int[] targets, int vocab) {
        int n = checkTargets(logits, targets, vocab);
        InvalidInputException.require(n >= 1, "targets", "no position carries a target (all -1)");
        return distillation(logits, teacher, targets, vocab, n);
    }

    /** Distillation normalised by a given M (see the cross-entropy overload). */
    public static Result distillation(double[] logits, double[] teacher, int[] targets, int vocab, int n) {
        checkTargets(logits, targets, vocab);
        InvalidInputException.require(n >= 1, "count", "must be >= 1, got " + n);
        InvalidInputException.require(teacher != null && teacher.length == logits.length, "teacher",
                "length must be N*V = " + logits.length);
        double[] d = new double[logits.length];
        double[] ls = new double[vocab];
        double[] lt = new double[vocab];
        double sum = 0;
        for (int r = 0; r < targets.length; r++) {
            if (targets[r] < 0) {
                continue;
            }
            Ops.logSoftmax(logits, r * vocab, vocab, ls);
            Ops.logSoftmax(teacher, r * vocab, vocab, lt);
            for (int c = 0; c < vocab; c++) {
                double pt = Math.exp(lt[c]);
                sum += pt * (lt[c] - ls[c]);
                d[r * vocab + c] = (Math.exp(ls[c]) - pt) / n;
            }
        }
        return new Result(sum / n, d, 0, n);
    }

    /** M, the number of positions with a target. */
    public static int count(int[] targets) {
        int n = 0;
        for (int t : targets) {
            n += t >= 0 ? 1 : 0;
        }
        return n;
    }

    private static int checkTargets(double[] logits, int[] targets, int vocab) {
        InvalidInputException.require(targets != null, "targets", "is null");
        InvalidInputException.require(logits != null && logits.length == (long) targets.length * vocab, "logits",
                "length must be N*V = " + ((long) targets.length * vocab));
        int n = 0;
        for (int r = 0; r < targets.length; r++) {
            InvalidInputException.require(targets[r] >= -1 && targets[r] < vocab, "targets",
                    "target " + targets[r] + " at index " + r + " is outside [-1, V) = [-1, " + vocab + ")");
            n += targets[r] >= 0 ? 1 : 0;
        }
        return n;
    }
}
