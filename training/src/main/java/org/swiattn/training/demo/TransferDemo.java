package org.swiattn.training.demo;

import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.swiattn.golden.SafeFiles;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.Route;
import org.swiattn.reference.ReferenceAttention;
import org.swiattn.spec.SwitchAttention;
import org.swiattn.training.AdaptiveRegularizer;
import org.swiattn.training.ContinualPretraining;
import org.swiattn.training.RouterStats;
import org.swiattn.training.SplitMix64;
import org.swiattn.training.TargetSchedule;
import org.swiattn.training.Transfer;
import org.swiattn.training.model.AdamW;
import org.swiattn.training.model.Checkpoint;
import org.swiattn.training.model.Decoder;
import org.swiattn.training.model.LmLoss;
import org.swiattn.training.model.ModelConfig;

/**
 * End-to-end demonstration of the transfer procedure on a task a window cannot solve ({@link RecallTask}):
 *
 * <pre>{@code
 *   1. pretrain a small full-attention decoder                                   (mode FULL)
 *   2. window-only baseline: the same checkpoint, trained on as many steps        (mode WINDOW)
 *      with every token on the window branch
 *   3. SwiAttn: transfer the checkpoint (routers w_r = 0, b_r = logit(p0)), continue pretraining with the adaptive
 *      regularizer toward a target full ratio t <= 0.2                            (mode ROUTED)
 *   4. evaluate the three on one held-out set (hard routes), print the table, write CSV and a PNG plot
 * }</pre>
 * Seeded (SplitMix64) and reproducible bit for bit: the batch is cut into a fixed number of shards whatever the
 * number of threads.
 */
public final class TransferDemo {

    /**
     * Every knob of the demo, with the defaults of {@code swiattn demo transfer}. The demo's regularizer uses the
     * one-sided HINGE (the target is an upper bound, {@code full ratio <= t}) and decays the router weights w_r with
     * weight decay 100 * 0.01 = 1 so no router logit saturates; see training/README.md for the measured
     * alternatives (TWO_SIDED: lower accuracy at the end of the run; no router decay: a filler token stuck on full).
     */
    public record Options(long seed, int pretrainSteps, int cptSteps, int batch, int evalSequences, double lr,
                          double cptLr, double routerLrScale, double routerDecay, double target, int warmup,
                          AdaptiveRegularizer.Measure measure, AdaptiveRegularizer.Penalty penalty, double lambdaLr,
                          Estimator estimator, double p0, int width, int layers, int qHeads, int kvHeads,
                          int headDim, int mlpHidden, int window, RecallTask task, int threads, int logEvery) {

        public static Options defaults() {
            return new Options(1234L, 400, 600, 32, 512, 3e-3, 1e-3, 10.0, 100.0, 0.2, 100,
                    AdaptiveRegularizer.Measure.TOKEN, AdaptiveRegularizer.Penalty.HINGE, 0.2,
                    Estimator.STRAIGHT_THROUGH, Transfer.DEFAULT_P0, 32, 2, 4, 2, 8, 64, 4,
                    new RecallTask(8, 8, 8, 32, 6, 6), 2, 10);
        }

        public ModelConfig modelConfig() {
            return ModelConfig.of(task.vocab(), width, layers, qHeads, kvHeads, headDim, mlpHidden, window);
        }
    }

    /** Held-out metrics of one model. */
    public record Eval(String name, double loss, double accuracy, double[] tokenRatio, double[] costRatio,
                       double[][] positionFull) {
        public double meanTokenRatio() {
            return mean(tokenRatio);
        }

        public double meanCostRatio() {
            return mean(costRatio);
        }
    }

    /** One logged training step. */
    public record LogRow(String phase, int step, double loss, double accuracy, double target, double[] ratio,
                         double lambda1, double lambda2, double regLoss) {
    }

    /** Everything the demo produced. */
    public record Report(Options options, Eval full, Eval windowZeroShot, Eval window, Eval atTransfer,
                         Eval swiattn, List<LogRow> log, double seconds) {
    }

    private static final int SHARDS = 4;

    private TransferDemo() {
    }

    /** Runs the demo; progress lines go to out. */
    public static Report run(Options o, PrintStream out) {
        long t0 = System.nanoTime();
        RecallTask task = o.task();
        ModelConfig cfg = o.modelConfig();
        if (!task.beyondWindows(cfg.layers(), cfg.window())) {
            throw new IllegalArgumentException("task: the memory is within reach of " + cfg.layers()
                    + " windows of size " + cfg.window() + " (gap " + task.gap() + "); the demo would prove nothing");
        }
        SwitchAttention att = new ReferenceAttention(false);
        Decoder dec = new Decoder(att);
        SplitMix64 root = new SplitMix64(o.seed());
        SplitMix64 initRng = root.split();
        SplitMix64 evalRng = root.split();
        SplitMix64 pretrainRng = root.split();
        long cptSeed = root.nextLong();
        int s = task.seqLen();
        int[] evalTok = new int[o.evalSequences() * s];
        int[] evalTgt = new int[o.evalSequences() * s];
        task.sample(evalRng, o.evalSequences(), evalTok, evalTgt);
        List<LogRow> log = new ArrayList<>();
        out.printf(Locale.ROOT, "swiattn demo transfer: V=%d C=%d L=%d Hq=%d Hkv=%d D=%d F=%d w=%d S=%d, "
                        + "memory gap %d > L(w-1) = %d, seed %d, attention %s%n", cfg.vocab(), cfg.width(),
                cfg.layers(), cfg.qHeads(), cfg.kvHeads(), cfg.headDim(), cfg.mlpHidden(), cfg.window(), s,
                task.gap(), cfg.layers() * (cfg.window() - 1), o.seed(), att.name());

        // 1. pretrain the full model
        Checkpoint full = Checkpoint.init(cfg, initRng.nextLong());
        train("full", dec, full, null, Decoder.Mode.FULL, o, o.pretrainSteps(), o.lr(), pretrainRng, log, out);
        Eval evFull = evaluate("full attention", dec, full, Decoder.Mode.FULL, evalTok, evalTgt, o);
        Eval evWin0 = evaluate("window only (zero-shot)", dec, full, Decoder.Mode.WINDOW, evalTok, evalTgt, o);

        // 2. window-only baseline from the same checkpoint, same data stream as the CPT
        Checkpoint win = full.copy();
        train("window", dec, win, null, Decoder.Mode.WINDOW, o, o.cptSteps(), o.cptLr(), new SplitMix64(cptSeed),
                log, out);
        Eval evWin = evaluate("window only (trained)", dec, win, Decoder.Mode.WINDOW, evalTok, evalTgt, o);

        // 3. transfer + continual pretraining with the adaptive regularizer
        Checkpoint hybrid = Transfer.toHybrid(full, o.p0());
        Eval atTransfer = evaluate("hybrid at transfer", dec, hybrid, Decoder.Mode.ROUTED, evalTok, evalTgt, o);
        out.printf(Locale.ROOT, "transfer check: hybrid at step 0 loss %.6f acc %.4f full ratio %.3f "
                        + "(full model: loss %.6f acc %.4f)%n", atTransfer.loss(), atTransfer.accuracy(),
                atTransfer.meanTokenRatio(), evFull.loss(), evFull.accuracy());
        var regCfg = new AdaptiveRegularizer.Config(o.measure(), AdaptiveRegularizer.Budget.GLOBAL, o.penalty(),
                o.lambdaLr(), TargetSchedule.fromFull(o.target(), o.warmup()));
        AdaptiveRegularizer reg = new AdaptiveRegularizer(regCfg, cfg.layers());
        train("swiattn", dec, hybrid, reg, Decoder.Mode.ROUTED, o, o.cptSteps(), o.cptLr(), new SplitMix64(cptSeed),
                log, out);
        Eval evSw = evaluate("SwiAttn (transfer + CPT)", dec, hybrid, Decoder.Mode.ROUTED, evalTok, evalTgt, o);
        double secs = (System.nanoTime() - t0) / 1e9;
        return new Report(o, evFull, evWin0, evWin, atTransfer, evSw, log, secs);
    }

    private static void train(String phase, Decoder dec, Checkpoint ck, AdaptiveRegularizer reg, Decoder.Mode mode,
                              Options o, int steps, double baseLr, SplitMix64 rng, List<LogRow> log,
                              PrintStream out) {
        AdamW opt = AdamW.forLayout(ck.layout(), 0.9, 0.95, 1e-8, 0.01, o.routerLrScale(), o.routerDecay());
        var settings = new ContinualPretraining.Settings(mode, o.estimator(), 0.0, 1.0, SHARDS, o.threads());
        int s = o.task().seqLen();
        int[] tok = new int[o.batch() * s];
        int[] tgt = new int[o.batch() * s];
        try (ContinualPretraining cpt = new ContinualPretraining(dec, ck, opt, reg, null, settings)) {
            for (int step = 0; step < steps; step++) {
                o.task().sample(rng, o.batch(), tok, tgt);
                double lr = baseLr * Math.min(1.0, (step + 1) / 20.0);   // short linear warm-up of the lr
                ContinualPretraining.StepResult r = cpt.step(tok, tgt, o.batch(), s, lr);
                if (step % o.logEvery() == 0 || step == steps - 1) {
                    double[] ratio = r.stats() == null ? new double[0] : r.stats().tokenRatio();
                    double target = r.regularizer() == null ? Double.NaN : r.regularizer().target();
                    double l1 = r.lambda1().length > 0 ? r.lambda1()[0] : Double.NaN;
                    double l2 = r.lambda2().length > 0 ? r.lambda2()[0] : Double.NaN;
                    log.add(new LogRow(phase, step, r.lmLoss(), r.accuracy(), target, ratio, l1, l2, r.regLoss()));
                    if (step % (o.logEvery() * 10) == 0 || step == steps - 1) {
                        out.printf(Locale.ROOT, "  %-8s step %4d  loss %.4f  acc %.3f%s%n", phase, step, r.lmLoss(),
                                r.accuracy(), r.stats() == null ? "" : String.format(Locale.ROOT,
                                        "  t %.3f  R %.3f  full ratio/layer %s  lambda1 %.3f", target,
                                        r.regularizer().budgetRatios()[0], fmt(ratio), l1));
                    }
                }
            }
        }
    }

    /** Held-out loss and accuracy with hard routes (HARD estimator), and router statistics in ROUTED mode. */
    static Eval evaluate(String name, Decoder dec, Checkpoint ck, Decoder.Mode mode, int[] tok, int[] tgt,
                         Options o) {
        int s = o.task().seqLen();
        int n = tok.length / s;
        int chunk = 64;
        double lossSum = 0;
        int correct = 0;
        int count = 0;
        int layers = ck.config().layers();
        List<Route[]> routes = new ArrayList<>();
        for (int b0 = 0; b0 < n; b0 += chunk) {
            int nb = Math.min(chunk, n - b0);
            int[] t = java.util.Arrays.copyOfRange(tok, b0 * s, (b0 + nb) * s);
            int[] g = java.util.Arrays.copyOfRange(tgt, b0 * s, (b0 + nb) * s);
            Decoder.Trace tr = dec.forward(ck, t, nb, s, mode, Estimator.HARD);
            LmLoss.Result r = LmLoss.crossEntropy(tr.logits, g, ck.config().vocab());
            lossSum += r.value() * r.count();
            correct += r.correct();
            count += r.count();
            Route[] rr = new Route[layers];
            for (int l = 0; l < layers; l++) {
                rr[l] = tr.route(l);
            }
            routes.add(rr);
        }
        // router statistics over the whole set: concatenate the chunks' routes per layer
        Route[] all = new Route[layers];
        for (int l = 0; l < layers; l++) {
            boolean[] z = new boolean[n * s];
            int at = 0;
            for (Route[] rr : routes) {
                boolean[] m = rr[l].mask();
                System.arraycopy(m, 0, z, at, m.length);
                at += m.length;
            }
            all[l] = Route.ofMask(n, s, z);
        }
        RouterStats st = RouterStats.of(all, ck.config().window());
        return new Eval(name, lossSum / count, (double) correct / count, st.tokenRatio(), st.costRatio(),
                st.positionFull());
    }

    /** The summary table. */
    public static String table(Report r) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%-28s %8s %9s %-22s %s%n", "model", "loss", "accuracy",
                "full ratio per layer", "attention compute vs full"));
        for (Eval e : new Eval[]{r.full(), r.windowZeroShot(), r.window(), r.swiattn()}) {
            sb.append(String.format(Locale.ROOT, "%-28s %8.4f %9.4f %-22s %.3f%n", e.name(), e.loss(),
                    e.accuracy(), fmt(e.tokenRatio()), e.meanCostRatio()));
        }
        return sb.toString();
    }

    /** Query positions the router sends to the full branch, per layer (fraction of held-out sequences). */
    public static String positions(Report r) {
        StringBuilder sb = new StringBuilder();
        double[][] pf = r.swiattn().positionFull();
        int q0 = r.options().task().firstQuery();
        int p = r.options().task().pairs();
        for (int l = 0; l < pf.length; l++) {
            double[] mean = new double[3];   // memory, filler, query
            int[] n = new int[3];
            StringBuilder list = new StringBuilder();
            for (int i = 0; i < pf[l].length; i++) {
                int kind = i < p ? 0 : i >= q0 ? 2 : 1;
                mean[kind] += pf[l][i];
                n[kind]++;
                if (pf[l][i] >= 0.05) {
                    list.append(String.format(Locale.ROOT, " %d=%.2f", i, pf[l][i]));
                }
            }
            sb.append(String.format(Locale.ROOT, "  layer %d: mean fraction on full: memory %.2f, filler %.2f, "
                            + "query %.2f; positions >= 0.05:%s%n", l, mean[0] / Math.max(1, n[0]),
                    mean[1] / Math.max(1, n[1]), mean[2] / Math.max(1, n[2]), list));
        }
        return sb.toString();
    }

    /**
     * Writes results.csv (the table), positions.csv (per-layer per-position full fraction), training_log.csv and
     * transfer_demo.png into dir, each atomically ({@link SafeFiles}: a special file at a target is refused).
     */
    public static void write(Report r, Path dir) throws IOException {
        Files.createDirectories(dir);
        try (PrintWriter w = SafeFiles.textFile(dir.resolve("results.csv"))) {
            int layers = r.swiattn().tokenRatio().length;
            StringBuilder h = new StringBuilder("model,loss,accuracy");
            for (int l = 0; l < layers; l++) {
                h.append(",full_ratio_layer").append(l);
            }
            h.append(",full_ratio_mean,compute_vs_full");
            w.println(h);
            for (Eval e : new Eval[]{r.full(), r.windowZeroShot(), r.window(), r.swiattn()}) {
                StringBuilder sb = new StringBuilder();
                sb.append(e.name()).append(',').append(d(e.loss())).append(',').append(d(e.accuracy()));
                for (double v : e.tokenRatio()) {
                    sb.append(',').append(d(v));
                }
                sb.append(',').append(d(e.meanTokenRatio())).append(',').append(d(e.meanCostRatio()));
                w.println(sb);
            }
            w.println("# seconds," + d(r.seconds()));
        }
        try (PrintWriter w = SafeFiles.textFile(dir.resolve("positions.csv"))) {
            double[][] pf = r.swiattn().positionFull();
            StringBuilder h = new StringBuilder("position,kind");
            for (int l = 0; l < pf.length; l++) {
                h.append(",full_fraction_layer").append(l);
            }
            w.println(h);
            RecallTask t = r.options().task();
            for (int i = 0; i < t.seqLen(); i++) {
                StringBuilder sb = new StringBuilder().append(i).append(',')
                        .append(i < t.pairs() ? "memory" : i >= t.firstQuery() ? "query" : "filler");
                for (double[] row : pf) {
                    sb.append(',').append(d(row[i]));
                }
                w.println(sb);
            }
        }
        try (PrintWriter w = SafeFiles.textFile(dir.resolve("training_log.csv"))) {
            int layers = r.swiattn().tokenRatio().length;
            StringBuilder h = new StringBuilder("phase,step,loss,accuracy,target");
            for (int l = 0; l < layers; l++) {
                h.append(",full_ratio_layer").append(l);
            }
            h.append(",lambda1,lambda2,reg_loss");
            w.println(h);
            for (LogRow row : r.log()) {
                StringBuilder sb = new StringBuilder().append(row.phase()).append(',').append(row.step()).append(',')
                        .append(d(row.loss())).append(',').append(d(row.accuracy())).append(',')
                        .append(d(row.target()));
                for (int l = 0; l < layers; l++) {
                    sb.append(',').append(row.ratio().length > l ? d(row.ratio()[l]) : "");
                }
                sb.append(',').append(d(row.lambda1())).append(',').append(d(row.lambda2())).append(',')
                        .append(d(row.regLoss()));
                w.println(sb);
            }
        }
        DemoPlot.write(r, dir.resolve("transfer_demo.png"));
    }

    private static String d(double v) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.6g", v);
    }

    static String fmt(double[] v) {
        StringBuilder sb = new StringBuilder("[");
        for (int k = 0; k < v.length; k++) {
            sb.append(k > 0 ? " " : "").append(String.format(Locale.ROOT, "%.3f", v[k]));
        }
        return sb.append(']').toString();
    }

    static double mean(double[] x) {
        double s = 0;
        for (double v : x) {
            s += v;
        }
        return x.length == 0 ? Double.NaN : s / x.length;
    }
}
