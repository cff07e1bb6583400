package org.swiattn.training.golden;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.swiattn.golden.Dtype;
import org.swiattn.golden.GoldenFolder;
import org.swiattn.golden.Manifest;
import org.swiattn.golden.SafeTensorsWriter;
import org.swiattn.golden.SplitMix64;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.SpecVersion;
import org.swiattn.training.AdaptiveRegularizer;
import org.swiattn.training.AdaptiveRegularizer.Budget;
import org.swiattn.training.AdaptiveRegularizer.Measure;
import org.swiattn.training.AdaptiveRegularizer.Penalty;
import org.swiattn.training.ContinualPretraining;
import org.swiattn.training.Router;
import org.swiattn.training.TargetSchedule;
import org.swiattn.training.Transfer;
import org.swiattn.training.model.AdamW;
import org.swiattn.training.model.Checkpoint;
import org.swiattn.training.model.Decoder;
import org.swiattn.training.model.ModelConfig;
import org.swiattn.training.model.ParamLayout;
import org.swiattn.reference.ReferenceAttention;

/**
 * Golden cases of the training side (router, adaptive regularizer, one continual-pretraining step), written with
 * the golden module's file format: safetensors files via {@link SafeTensorsWriter}, inputs from the portable golden
 * PRNG ({@link SplitMix64#fill}), a {@code manifest.json} of the golden format (sha256, tcId, kind, flags).
 * Committed under {@code golden/training/} ({@link GoldenFolder#training}, tcIds 1001+); {@code TrainingGoldenTest}
 * and {@code swiattn golden verify} regenerate them and demand identical bytes.
 *
 * <pre>
 *   router      inputs x [N,C], w [C], b [1], d_a [N] (= dL/da)      outputs a, p [N], z U8 [N], dx [N,C], dw [C], db [1]
 *   regularizer inputs p [L,B,S], lambda1 [K], lambda2 [K]; metadata measure, budget, penalty, window, t schedule,
 *               step, lambda_lr           outputs target [1], layer_ratios [L], budget_ratios [K], value [1],
 *               dl_dp [L,B,S], dl_dlambda1/2 [K], lambda1_next, lambda2_next [K], dl_da [L,B,S] (= dl_dp p(1-p))
 *   cpt_step    inputs tokens, targets I64 [B,S] (-1 = no target), param.NAME (every tensor of the layout),
 *               lambda1, lambda2 [K]; metadata model config, optimizer, regularizer, estimator
 *               outputs logits [B,S,V], router_logits [L,B,S], route U8 [L,B,S], lm_loss, reg_loss, total_loss [1],
 *               target [1], layer_ratios [L], grad.NAME, new.NAME, lambda1_next, lambda2_next [K],
 *               token_ratio, cost_ratio [L] (hard route statistics)
 * </pre>
 */
public final class TrainingGolden {
    /** Version of this generator (bumped when a case's content changes). */
    public static final String GENERATOR_VERSION = "1";

    private TrainingGolden() {
    }

    /** One written case. */
    public record Written(String name, Path file) {
    }

    /** Writes every case and the manifest into dir ({@code golden/training} in the repository). */
    public static List<Written> generate(Path dir) throws IOException {
        List<Written> out = new ArrayList<>();
        Manifest m = Manifest.empty(GENERATOR_VERSION);
        int id = 1001;
        // router
        m = add(m, out, dir, router(id++, "router_n12_c8", 12, 8, 0x1001L, false));
        m = add(m, out, dir, router(id++, "router_n4_c3_zero_logit_tie", 4, 3, 0x1002L, true));
        // regularizer: every measure x budget x penalty, once above and once below the target
        for (Measure me : Measure.values()) {
            for (Budget bu : Budget.values()) {
                for (Penalty pe : Penalty.values()) {
                    for (boolean above : new boolean[]{true, false}) {
                        String name = String.format(Locale.ROOT, "reg_%s_%s_%s_%s", lc(me), lc(bu), lc(pe),
                                above ? "above" : "below");
                        m = add(m, out, dir, regularizer(id++, name, me, bu, pe, above, 0x2000L + id));
                    }
                }
            }
        }
        // continual pretraining steps
        m = add(m, out, dir, cptStep(id++, "cpt_step_at_transfer_ste", Estimator.STRAIGHT_THROUGH, true, 0x3001L));
        m = add(m, out, dir, cptStep(id++, "cpt_step_mixed_ste", Estimator.STRAIGHT_THROUGH, false, 0x3002L));
        m = add(m, out, dir, cptStep(id++, "cpt_step_mixed_selected_branch", Estimator.SELECTED_BRANCH, false,
                0x3003L));
        m = add(m, out, dir, cptStep(id, "cpt_step_mixed_soft", Estimator.SOFT, false, 0x3004L));
        m.write(dir);
        return out;
    }

    private static String lc(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT).replace("_", "");
    }

    /** A case ready to write: the writer plus its manifest fields. */
    private record Case(int tcId, String name, String kind, SafeTensorsWriter w, List<String> tensors, int b, int s,
                        int hq, int hkv, int d, int window, String estimator, long seed, List<String> flags,
                        String comment) {
    }

    private static Manifest add(Manifest m, List<Written> out, Path dir, Case c) throws IOException {
        String rel = GoldenFolder.CASES + "/" + c.name() + ".safetensors";
        Path file = dir.resolve(rel);
        c.w().metadata("tcId", Integer.toString(c.tcId())).metadata("name", c.name()).metadata("kind", c.kind())
                .metadata("spec_version", SpecVersion.VALUES).metadata("generator", "org.swiattn.training.golden"
                        + ".TrainingGolden v" + GENERATOR_VERSION).metadata("seed", Long.toUnsignedString(c.seed()))
                .metadata("comment", c.comment());
        c.w().write(file);
        out.add(new Written(c.name(), file));
        return m.with(new Manifest.Entry(c.tcId(), c.name(), rel,
                Manifest.sha256(file), Files.size(file), c.kind(), c.b(), c.s(), c.hq(), c.hkv(), c.d(), c.window(),
                c.estimator(), true, Long.toUnsignedString(c.seed()), c.flags(), c.comment(), c.tensors()));
    }

    /** Tensor list helper: adds F64 and remembers the name. */
    private static final class T {
        final SafeTensorsWriter w = new SafeTensorsWriter();
        final List<String> names = new ArrayList<>();

        T f64(String name, double[] x, long... shape) {
            w.addDoubles(name, Dtype.F64, shape, x);
            names.add(name);
            return this;
        }

        T ints(String name, Dtype dt, long[] x, long... shape) {
            w.addLongs(name, dt, shape, x);
            names.add(name);
            return this;
        }
    }

    private static double[] golden(long seed, String name, double amp, int n) {
        double[] x = new double[n];
        SplitMix64.fill(seed, name, amp, x);
        return x;
    }

    private static long[] u8(boolean[] z) {
        long[] r = new long[z.length];
        for (int k = 0; k < z.length; k++) {
            r[k] = z[k] ? 1 : 0;
        }
        return r;
    }

    // ---------------------------------------------------------------- router

    private static Case router(int tcId, String name, int n, int c, long seed, boolean tie) {
        double[] x = golden(seed, "x", 2.0, n * c);
        double[] w = golden(seed, "w", 1.0, c);
        double[] b = golden(seed, "b", 0.5, 1);
        double[] dA = golden(seed, "d_a", 1.0, n);
        if (tie) {
            // row 0 has x = 0 and the bias is 0: a_0 == 0 exactly, which routes to the window branch
            java.util.Arrays.fill(x, 0, c, 0.0);
            b[0] = 0.0;
        }
        double[] a = Router.logits(x, n, c, w, b[0]);
        double[] p = Router.probabilities(a);
        boolean[] z = new boolean[n];
        for (int r = 0; r < n; r++) {
            z[r] = a[r] > 0;
        }
        double[] dx = new double[n * c];
        double[] dw = new double[c];
        double[] db = new double[1];
        Router.backward(dA, x, n, c, w, dx, dw, db);
        T t = new T().f64("x", x, n, c).f64("w", w, c).f64("b", b, 1).f64("d_a", dA, n)
                .f64("a", a, n).f64("p", p, n).ints("z", Dtype.U8, u8(z), n)
                .f64("dx", dx, n, c).f64("dw", dw, c).f64("db", db, 1);
        t.w.metadata("N", Integer.toString(n)).metadata("C", Integer.toString(c));
        return new Case(tcId, name, "router", t.w, t.names, 1, n, 0, 0, c, 0, "-", seed,
                tie ? List.of("ZeroLogitTie") : List.of(),
                "router a = x w + b, p = sigmoid(a), z = [a > 0]; backward of dL/da = d_a"
                        + (tie ? "; row 0 has a == 0 exactly and goes to the window branch (z = 0)" : ""));
    }

    // ---------------------------------------------------------------- regularizer

    private static Case regularizer(int tcId, String name, Measure me, Budget bu, Penalty pe, boolean above,
                                    long seed) {
        int layers = 3;
        int batch = 2;
        int seqLen = 10;
        int window = 4;
        int warmup = 10;
        // above: the ramp is over (t = t_final = 0.25); below: early in the ramp (t = 1 - 0.75 * 2/10 = 0.85)
        int step = above ? 12 : 2;
        TargetSchedule sched = TargetSchedule.fromFull(0.25, warmup);
        var cfg = new AdaptiveRegularizer.Config(me, bu, pe, 0.125, sched);
        AdaptiveRegularizer reg = new AdaptiveRegularizer(cfg, layers);
        int k = bu == Budget.GLOBAL ? 1 : layers;
        double[] l1 = golden(seed, "lambda1", 1.0, k);
        double[] l2 = golden(seed, "lambda2", 1.0, k);
        for (int j = 0; j < k; j++) {
            l2[j] = Math.abs(l2[j]);
        }
        reg.setLambdas(l1, l2);
        double[] flat = golden(seed, "p", 0.25, layers * batch * seqLen);
        double[][] p = new double[layers][batch * seqLen];
        for (int l = 0; l < layers; l++) {
            for (int r = 0; r < batch * seqLen; r++) {
                p[l][r] = 0.5 + flat[l * batch * seqLen + r];   // in [0.25, 0.75], exact in binary64
            }
        }
        AdaptiveRegularizer.Result res = reg.evaluate(p, batch, seqLen, window, step);
        reg.ascend(res);
        double[] dp = new double[layers * batch * seqLen];
        double[] da = new double[dp.length];
        for (int l = 0; l < layers; l++) {
            double[] dal = Router.sigmoidBackward(res.dLdp()[l], p[l]);
            System.arraycopy(res.dLdp()[l], 0, dp, l * batch * seqLen, batch * seqLen);
            System.arraycopy(dal, 0, da, l * batch * seqLen, batch * seqLen);
        }
        double[] pin = new double[dp.length];
        for (int l = 0; l < layers; l++) {
            System.arraycopy(p[l], 0, pin, l * batch * seqLen, batch * seqLen);
        }
        T t = new T().f64("p", pin, layers, batch, seqLen).f64("lambda1", l1, k).f64("lambda2", l2, k)
                .f64("target", new double[]{res.target()}, 1).f64("layer_ratios", res.layerRatios(), layers)
                .f64("budget_ratios", res.budgetRatios(), k).f64("value", new double[]{res.value()}, 1)
                .f64("dl_dp", dp, layers, batch, seqLen).f64("dl_dlambda1", res.dLdLambda1(), k)
                .f64("dl_dlambda2", res.dLdLambda2(), k).f64("lambda1_next", reg.lambda1(), k)
                .f64("lambda2_next", reg.lambda2(), k).f64("dl_da", da, layers, batch, seqLen);
        Map<String, String> md = new LinkedHashMap<>();
        md.put("L", Integer.toString(layers));
        md.put("B", Integer.toString(batch));
        md.put("S", Integer.toString(seqLen));
        md.put("window", Integer.toString(window));
        md.put("measure", me.name());
        md.put("budget", bu.name());
        md.put("penalty", pe.name());
        md.put("lambda_lr", "0.125");
        md.put("t_start", "1.0");
        md.put("t_final", "0.25");
        md.put("warmup", Integer.toString(warmup));
        md.put("step", Integer.toString(step));
        t.w.metadata(md);
        List<String> flags = new ArrayList<>(List.of(me.name(), bu.name(), pe.name()));
        flags.add(above ? "RatioAboveTarget" : "RatioBelowTarget");
        return new Case(tcId, name, "regularizer", t.w, t.names, batch, seqLen, 0, 0, 0, window, "-", seed, flags,
                "adaptive regularizer L_reg and its gradients; lambdas after one ascent step (p = 0.5 + 0.25 u, "
                        + "u golden)");
    }

    // ---------------------------------------------------------------- one continual-pretraining step

    private static Case cptStep(int tcId, String name, Estimator est, boolean atTransfer, long seed) {
        ModelConfig full = ModelConfig.of(11, 8, 2, 2, 1, 4, 12, 3);
        int batch = 2;
        int seqLen = 9;
        // pass 1: the full checkpoint from the golden PRNG (embedding amp 1, matrices amp 1/2, gains 1 + u/4)
        ParamLayout fl = new ParamLayout(full);
        double[] fw = new double[fl.size()];
        for (ParamLayout.Entry e : fl.entries()) {
            double amp = e.name().equals("tok_emb") ? 1.0 : e.shape().length == 2 ? 0.5 : 0.25;
            double[] x = golden(seed, "param." + e.name(), amp, e.size());
            for (int n = 0; n < e.size(); n++) {
                fw[e.offset() + n] = e.shape().length == 1 ? 1.0 + x[n] : x[n];
            }
        }
        // pass 2: transfer; the mixed cases then move the routers off the transfer point
        Checkpoint ck = Transfer.toHybrid(new Checkpoint(full, fw));
        ParamLayout lay = ck.layout();
        if (!atTransfer) {
            for (int l = 0; l < full.layers(); l++) {
                double[] rw = golden(seed, "param.l" + l + ".router_w", 1.0, full.width());
                double[] rb = golden(seed, "param.l" + l + ".router_b", 0.25, 1);
                System.arraycopy(rw, 0, ck.weights(), lay.layer(l).routerW(), full.width());
                ck.weights()[lay.layer(l).routerB()] = rb[0];
            }
        }
        double[] before = ck.weights().clone();
        // pass 3: tokens and targets (next token; the last position of each sequence has none)
        long[] tok = new long[batch * seqLen];
        long[] tgt = new long[batch * seqLen];
        int[] itok = new int[tok.length];
        int[] itgt = new int[tok.length];
        double[] u = golden(seed, "tokens", 1.0, tok.length);
        for (int r = 0; r < tok.length; r++) {
            itok[r] = (int) Math.min(full.vocab() - 1, Math.floor((u[r] + 1) / 2 * full.vocab()));
            tok[r] = itok[r];
        }
        for (int r = 0; r < tok.length; r++) {
            itgt[r] = r % seqLen == seqLen - 1 ? -1 : itok[r + 1];
            tgt[r] = itgt[r];
        }
        // pass 4: the step
        var regCfg = new AdaptiveRegularizer.Config(Measure.COST, Budget.GLOBAL, Penalty.TWO_SIDED, 0.125,
                new TargetSchedule(1.0, 0.3, 0));
        AdaptiveRegularizer reg = new AdaptiveRegularizer(regCfg, full.layers());
        double[] l1 = {0.5};
        double[] l2 = {0.25};
        reg.setLambdas(l1, l2);
        AdamW opt = AdamW.forLayout(lay, 0.9, 0.95, 1e-8, 0.1, 4.0, 0.0);
        var settings = new ContinualPretraining.Settings(Decoder.Mode.ROUTED, est, 0.0, 0.0, 1, 1);
        Decoder dec = new Decoder(new ReferenceAttention(false));   // golden outputs come from the fp64 reference
        Decoder.Trace tr = dec.forward(ck, itok, batch, seqLen, Decoder.Mode.ROUTED, est);
        ContinualPretraining.StepResult res;
        double lr = 0.01;
        try (ContinualPretraining cpt = new ContinualPretraining(dec, ck, opt, reg, null, settings)) {
            res = cpt.step(itok, itgt, batch, seqLen, lr);
        }
        // pass 5: tensors
        T t = new T().ints("tokens", Dtype.I64, tok, batch, seqLen).ints("targets", Dtype.I64, tgt, batch, seqLen)
                .f64("lambda1", l1, 1).f64("lambda2", l2, 1);
        for (ParamLayout.Entry e : lay.entries()) {
            t.f64("param." + e.name(), java.util.Arrays.copyOfRange(before, e.offset(), e.offset() + e.size()),
                    shape(e));
        }
        int layers = full.layers();
        double[] al = new double[layers * batch * seqLen];
        long[] zl = new long[al.length];
        for (int l = 0; l < layers; l++) {
            System.arraycopy(tr.routerLogits[l], 0, al, l * batch * seqLen, batch * seqLen);
            boolean[] z = tr.route(l).mask();
            for (int r = 0; r < z.length; r++) {
                zl[l * batch * seqLen + r] = z[r] ? 1 : 0;
            }
        }
        t.f64("logits", tr.logits, batch, seqLen, full.vocab()).f64("router_logits", al, layers, batch, seqLen)
                .ints("route", Dtype.U8, zl, layers, batch, seqLen)
                .f64("lm_loss", new double[]{res.lmLoss()}, 1).f64("reg_loss", new double[]{res.regLoss()}, 1)
                .f64("total_loss", new double[]{res.totalLoss()}, 1)
                .f64("target", new double[]{res.regularizer().target()}, 1)
                .f64("layer_ratios", res.regularizer().layerRatios(), layers);
        for (ParamLayout.Entry e : lay.entries()) {
            t.f64("grad." + e.name(), java.util.Arrays.copyOfRange(res.grad(), e.offset(), e.offset() + e.size()),
                    shape(e));
        }
        for (ParamLayout.Entry e : lay.entries()) {
            t.f64("new." + e.name(), java.util.Arrays.copyOfRange(ck.weights(), e.offset(), e.offset() + e.size()),
                    shape(e));
        }
        t.f64("lambda1_next", res.lambda1(), 1).f64("lambda2_next", res.lambda2(), 1)
                .f64("token_ratio", res.stats().tokenRatio(), layers).f64("cost_ratio", res.stats().costRatio(), layers);
        Map<String, String> md = new LinkedHashMap<>();
        md.put("model", String.format(Locale.ROOT, "{\"V\": %d, \"C\": %d, \"L\": %d, \"Hq\": %d, \"Hkv\": %d, "
                        + "\"D\": %d, \"F\": %d, \"window\": %d, \"rope_base\": %s, \"norm_eps\": %s}", full.vocab(),
                full.width(), full.layers(), full.qHeads(), full.kvHeads(), full.headDim(), full.mlpHidden(),
                full.window(), full.ropeBase(), full.normEps()));
        md.put("B", Integer.toString(batch));
        md.put("S", Integer.toString(seqLen));
        md.put("estimator", est.name());
        md.put("optimizer", "{\"name\": \"AdamW (PyTorch order)\", \"lr\": 0.01, \"beta1\": 0.9, \"beta2\": 0.95, "
                + "\"eps\": 1e-8, \"weight_decay\": 0.1, \"decay\": \"2-D tensors only\", \"router_lr_scale\": 4.0, "
                + "\"clip\": 0, \"step\": 0}");
        md.put("regularizer", "{\"measure\": \"COST\", \"budget\": \"GLOBAL\", \"penalty\": \"TWO_SIDED\", "
                + "\"lambda_lr\": 0.125, \"t_start\": 1.0, \"t_final\": 0.3, \"warmup\": 0}");
        md.put("loss", "mean cross entropy over positions with target >= 0, plus L_reg of sigmoid(router_logits)");
        t.w.metadata(md);
        List<String> flags = new ArrayList<>(List.of(est.name()));
        flags.add(atTransfer ? "AtTransfer" : "MixedRoutes");
        return new Case(tcId, name, "cpt_step", t.w, t.names, batch, seqLen, full.qHeads(), full.kvHeads(),
                full.headDim(), full.window(), est.name(), seed, flags,
                "one continual-pretraining step of a tiny hybrid decoder: forward, loss, gradients, AdamW update, "
                        + "lambda ascent, router statistics" + (atTransfer ? " (routers at transfer: w_r = 0, "
                        + "b_r = logit(0.99), every token on full)" : " (routers moved off the transfer point)"));
    }

    private static long[] shape(ParamLayout.Entry e) {
        long[] s = new long[e.shape().length];
        for (int k = 0; k < s.length; k++) {
            s[k] = e.shape()[k];
        }
        return s;
    }

    /** {@code java ... TrainingGolden [DIR]} (default golden/training, run from the repository root). */
    public static void main(String[] args) throws IOException {
        Path dir = args.length > 0 ? Path.of(args[0]) : GoldenFolder.training(Path.of("golden"));
        for (Written w : generate(dir)) {
            System.out.println("wrote " + w.file());
        }
    }
}
