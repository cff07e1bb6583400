package org.swiattn.training;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.InvalidInputException;
import org.swiattn.spec.Route;
import org.swiattn.training.model.AdamW;
import org.swiattn.training.model.Checkpoint;
import org.swiattn.training.model.Decoder;
import org.swiattn.training.model.LmLoss;

/**
 * Optimizer steps of the decoder: continual pretraining of a hybrid checkpoint (mode ROUTED, with the adaptive
 * regularizer) and, with the same code, plain training in FULL or WINDOW mode (no router, no regularizer).
 *
 * <p>One step s (s = optimizer steps done before it, the step of the target schedule):
 * <pre>
 *   1. forward (mode, estimator)                 logits [N,V], router logits a_l [N]
 *   2. L_lm = cross entropy on the target positions;  L_kd = KL(teacher || model) if a teacher is set
 *   3. p_l = sigmoid(a_l);  L_reg, dL_reg/dp = regularizer.evaluate(p, step s)   dL_reg/da = dL_reg/dp p(1-p)
 *   4. grad = backward(dL_lm/dlogits + beta dL_kd/dlogits, dL_reg/da)
 *      (dL/da of the attention comes from the estimator; the two add)
 *   5. optional global-norm clipping: grad *= min(1, clip / ||grad||)
 *   6. AdamW update of every parameter (routers with their learning-rate factor)
 *   7. lambda ascent with the evaluation of 3 (the multipliers see the same R as the loss)
 *   8. router statistics of the forward of 1
 * </pre>
 * Batches are split into a fixed number of shards of consecutive sequences, run in parallel; shard gradients are
 * added in shard order, so a run is reproducible bit for bit whatever the number of threads.
 */
public final class ContinualPretraining implements AutoCloseable {

    /**
     * Step settings.
     *
     * @param mode          FULL, WINDOW or ROUTED
     * @param estimator     router estimator of ROUTED mode
     * @param distillWeight {@code beta >= 0} (0: no teacher needed)
     * @param clipNorm      {@code > 0} global-norm clip, or 0 for none
     * @param shards        {@code >= 1} number of batch shards (fixes the summation order)
     * @param threads       {@code >= 1} worker threads
     */
    public record Settings(Decoder.Mode mode, Estimator estimator, double distillWeight, double clipNorm, int shards,
                           int threads) {
        public Settings {
            InvalidInputException.require(mode != null, "mode", "is null");
            InvalidInputException.require(estimator != null, "estimator", "is null");
            InvalidInputException.require(distillWeight >= 0 && Double.isFinite(distillWeight), "distillWeight",
                    "must be finite and >= 0, got " + distillWeight);
            InvalidInputException.require(clipNorm >= 0 && Double.isFinite(clipNorm), "clipNorm",
                    "must be finite and >= 0, got " + clipNorm);
            InvalidInputException.require(shards >= 1, "shards", "must be >= 1, got " + shards);
            InvalidInputException.require(threads >= 1, "threads", "must be >= 1, got " + threads);
        }

        /** One shard, one thread, no clipping, no distillation. */
        public static Settings simple(Decoder.Mode mode, Estimator estimator) {
            return new Settings(mode, estimator, 0.0, 0.0, 1, 1);
        }
    }

    /**
     * What one step did.
     *
     * <pre>
     *   lmLoss, distillLoss, regLoss, totalLoss = lmLoss + beta distillLoss + regLoss  (before the update)
     *   accuracy        argmax accuracy on the target positions (before the update)
     *   regularizer     the evaluation of step 3 (null outside ROUTED mode)
     *   lambda1, lambda2 [K] after the ascent (empty outside ROUTED mode)
     *   stats           router statistics (null outside ROUTED mode)
     *   grad            [P] the gradient applied (after clipping);  gradNorm its norm before clipping
     * </pre>
     */
    public record StepResult(long step, double lmLoss, double distillLoss, double regLoss, double totalLoss,
                             double accuracy, AdaptiveRegularizer.Result regularizer, double[] lambda1,
                             double[] lambda2, RouterStats stats, double[] grad, double gradNorm) {
    }

    private final Decoder decoder;
    private final Checkpoint model;
    private final AdamW optimizer;
    private final AdaptiveRegularizer regularizer;
    private final Checkpoint teacher;
    private final Settings settings;
    private final ExecutorService pool;

    /**
     * @param model       trained in place (its weight vector is updated)
     * @param regularizer required in ROUTED mode, ignored otherwise
     * @param teacher     frozen FULL-mode teacher, required iff {@code distillWeight > 0}; not modified
     */
    public ContinualPretraining(Decoder decoder, Checkpoint model, AdamW optimizer, AdaptiveRegularizer regularizer,
                                Checkpoint teacher, Settings settings) {
        InvalidInputException.require(decoder != null, "decoder", "is null");
        InvalidInputException.require(model != null, "model", "is null");
        InvalidInputException.require(optimizer != null, "optimizer", "is null");
        InvalidInputException.require(settings != null, "settings", "is null");
        InvalidInputException.require(settings.mode() != Decoder.Mode.ROUTED || regularizer != null, "regularizer",
                "is required in ROUTED mode");
        InvalidInputException.require(settings.mode() != Decoder.Mode.ROUTED || model.config().hybrid(), "model",
                "ROUTED mode needs a hybrid checkpoint (Transfer.toHybrid)");
        InvalidInputException.require(regularizer == null || regularizer.layers() == model.config().layers(),
                "regularizer", "has " + (regularizer == null ? 0 : regularizer.layers()) + " layers, the model "
                        + model.config().layers());
        InvalidInputException.require((settings.distillWeight() > 0) == (teacher != null), "teacher",
                "must be given exactly when distillWeight > 0");
        this.decoder = decoder;
        this.model = model;
        this.optimizer = optimizer;
        this.regularizer = regularizer;
        this.teacher = teacher;
        this.settings = settings;
        this.pool = settings.threads() > 1 ? Executors.newFixedThreadPool(settings.threads(), r -> {
            Thread t = new Thread(r, "swiattn-train");
            t.setDaemon(true);
            return t;
        }) : null;
    }

    public Checkpoint model() {
        return model;
    }

    public AdaptiveRegularizer regularizer() {
        return regularizer;
    }

    /**
     * One optimizer step on a batch.
     *
     * @param tokens  [B,S]; not modified
     * @param targets [B,S] target token per position, -1 = none; not modified
     * @param lr      learning rate of this step
     */
    public StepResult step(int[] tokens, int[] targets, int batch, int seqLen, double lr) {
        InvalidInputException.require(tokens != null && tokens.length == batch * seqLen, "tokens",
                "length must be B*S = " + batch * seqLen);
        InvalidInputException.require(targets != null && targets.length == batch * seqLen, "targets",
                "length must be B*S = " + batch * seqLen);
        InvalidInputException.require(settings.shards() <= batch, "shards",
                "must be <= B = " + batch + ", got " + settings.shards());
        long s = optimizer.stepCount();
        int shards = settings.shards();
        int v = model.config().vocab();
        int m = LmLoss.count(targets);
        InvalidInputException.require(m >= 1, "targets", "no position carries a target (all -1)");
        // 1. forward per shard
        int[][] range = new int[shards][];
        for (int k = 0; k < shards; k++) {
            range[k] = new int[]{k * batch / shards, (k + 1) * batch / shards};
        }
        Decoder.Trace[] tr = new Decoder.Trace[shards];
        double[][] teacherLogits = new double[shards][];
        runShards(k -> {
            int b0 = range[k][0];
            int nb = range[k][1] - b0;
            int[] tok = java.util.Arrays.copyOfRange(tokens, b0 * seqLen, (b0 + nb) * seqLen);
            tr[k] = decoder.forward(model, tok, nb, seqLen, settings.mode(), settings.estimator());
            if (teacher != null) {
                teacherLogits[k] = decoder.forward(teacher, tok, nb, seqLen, Decoder.Mode.FULL, Estimator.HARD).logits;
            }
        });
        // 2. losses per shard (normalised by the batch's M)
        double lm = 0;
        double kd = 0;
        int correct = 0;
        double[][] dLogits = new double[shards][];
        for (int k = 0; k < shards; k++) {
            int[] tg = java.util.Arrays.copyOfRange(targets, range[k][0] * seqLen, range[k][1] * seqLen);
            LmLoss.Result ce = LmLoss.crossEntropy(tr[k].logits, tg, v, m);
            lm += ce.value();
            correct += ce.correct();
            dLogits[k] = ce.dLogits();
            if (teacher != null) {
                LmLoss.Result d = LmLoss.distillation(tr[k].logits, teacherLogits[k], tg, v, m);
                kd += d.value();
                for (int t = 0; t < dLogits[k].length; t++) {
                    dLogits[k][t] += settings.distillWeight() * d.dLogits()[t];
                }
            }
        }
        // 3. regularizer on the whole batch's router probabilities
        int layers = model.config().layers();
        AdaptiveRegularizer.Result reg = null;
        double[][][] dA = new double[shards][][];
        Route[] routes = null;
        if (settings.mode() == Decoder.Mode.ROUTED) {
            double[][] a = new double[layers][batch * seqLen];
            routes = new Route[layers];
            for (int l = 0; l < layers; l++) {
                for (int k = 0; k < shards; k++) {
                    double[] al = tr[k].routerLogits[l];
                    System.arraycopy(al, 0, a[l], range[k][0] * seqLen, al.length);
                }
                routes[l] = Route.ofLogits(batch, seqLen, a[l]);
            }
            double[][] p = new double[layers][];
            for (int l = 0; l < layers; l++) {
                p[l] = Router.probabilities(a[l]);
            }
            reg = regularizer.evaluate(p, batch, seqLen, model.config().window(), s);
            for (int k = 0; k < shards; k++) {
                dA[k] = new double[layers][];
                for (int l = 0; l < layers; l++) {
                    double[] full = Router.sigmoidBackward(reg.dLdp()[l], p[l]);
                    dA[k][l] = java.util.Arrays.copyOfRange(full, range[k][0] * seqLen, range[k][1] * seqLen);
                }
            }
        }
        // 4. backward per shard, gradients added in shard order
        double[][] g = new double[shards][];
        runShards(k -> g[k] = decoder.backward(model, tr[k], dLogits[k], dA[k]));
        double[] grad = g[0];
        for (int k = 1; k < shards; k++) {
            for (int t = 0; t < grad.length; t++) {
                grad[t] += g[k][t];
            }
        }
        // 5. clipping
        double norm = 0;
        for (double x : grad) {
            norm += x * x;
        }
        norm = Math.sqrt(norm);
        if (settings.clipNorm() > 0 && norm > settings.clipNorm()) {
            double f = settings.clipNorm() / norm;
            for (int t = 0; t < grad.length; t++) {
                grad[t] *= f;
            }
        }
        // 6. AdamW
        optimizer.step(model.weights(), grad, lr);
        // 7. lambda ascent, 8. router statistics
        double regValue = 0;
        double[] l1 = new double[0];
        double[] l2 = new double[0];
        RouterStats stats = null;
        if (reg != null) {
            regularizer.ascend(reg);
            regValue = reg.value();
            l1 = regularizer.lambda1();
            l2 = regularizer.lambda2();
            stats = RouterStats.of(routes, model.config().window());
        }
        double total = lm + settings.distillWeight() * kd + regValue;
        return new StepResult(s, lm, kd, regValue, total, (double) correct / m, reg, l1, l2, stats, grad, norm);
    }

    private interface ShardTask {
        void run(int k);
    }

    private void runShards(ShardTask task) {
        int shards = settings.shards();
        if (pool == null) {
            for (int k = 0; k < shards; k++) {
                task.run(k);
            }
            return;
        }
        List<Future<?>> fs = new ArrayList<>();
        for (int k = 0; k < shards; k++) {
            final int kk = k;
            fs.add(pool.submit(() -> task.run(kk)));
        }
        for (Future<?> f : fs) {
            try {
                f.get();
            } catch (java.util.concurrent.ExecutionException e) {
                Throwable c = e.getCause();
                if (c instanceof RuntimeException re) {
                    throw re;
                }
                throw new IllegalStateException(c);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdownNow();
        }
    }
}
