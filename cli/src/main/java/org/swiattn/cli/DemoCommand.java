package org.swiattn.cli;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.swiattn.golden.SafeFiles;
import org.swiattn.spec.Estimator;
import org.swiattn.training.AdaptiveRegularizer;
import org.swiattn.training.demo.RecallTask;
import org.swiattn.training.demo.TransferDemo;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code swiattn demo}: demonstrations. {@code swiattn demo transfer} runs {@link TransferDemo}. */
@Command(name = "demo", description = "Demonstrations of the SwiAttn mechanism.", mixinStandardHelpOptions = true,
        subcommands = {DemoCommand.TransferCommand.class})
public final class DemoCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return 0;
    }

    /** Standalone entry point: {@code java -cp ... org.swiattn.cli.DemoCommand transfer}. */
    public static void main(String[] args) {
        System.setProperty("java.awt.headless", "true");
        System.exit(new CommandLine(new DemoCommand()).execute(args));
    }

    /** {@code swiattn demo transfer}. */
    @Command(name = "transfer", mixinStandardHelpOptions = true,
            description = {"Full checkpoint -> hybrid -> continual pretraining on associative recall that a sliding "
                    + "window cannot solve. Prints a table (accuracy, loss, full ratio per layer, attention compute "
                    + "vs full) and writes results.csv, positions.csv, training_log.csv and transfer_demo.png.",
                "CPU only, seeded and reproducible (about 1.5-3 minutes on 2 cores with the defaults)."})
    public static final class TransferCommand implements Callable<Integer> {
        private final TransferDemo.Options d = TransferDemo.Options.defaults();

        @Option(names = "--out", description = "output folder (default: ${DEFAULT-VALUE})")
        Path out = Path.of("out", "demo-transfer");
        @Option(names = "--seed", description = "seed (default: ${DEFAULT-VALUE})")
        long seed = d.seed();
        @Option(names = "--pretrain-steps", description = "full-attention pretraining steps (default: ${DEFAULT-VALUE})")
        int pretrainSteps = d.pretrainSteps();
        @Option(names = "--cpt-steps", description = "continual pretraining steps, also the window-only baseline's "
                + "(default: ${DEFAULT-VALUE})")
        int cptSteps = d.cptSteps();
        @Option(names = "--batch", description = "sequences per step (default: ${DEFAULT-VALUE})")
        int batch = d.batch();
        @Option(names = "--lr", description = "AdamW learning rate (default: ${DEFAULT-VALUE})")
        double lr = d.lr();
        @Option(names = "--cpt-lr", description = "AdamW learning rate of continual pretraining and of the window "
                + "baseline (default: ${DEFAULT-VALUE})")
        double cptLr = d.cptLr();
        @Option(names = "--router-lr-scale", description = "router learning-rate factor (default: ${DEFAULT-VALUE})")
        double routerLrScale = d.routerLrScale();
        @Option(names = "--router-decay", description = "weight-decay factor of the router weights w_r, times the "
                + "AdamW weight decay 0.01 (default: ${DEFAULT-VALUE})")
        double routerDecay = d.routerDecay();
        @Option(names = "--target", description = "target full ratio t_final, <= 0.2 for the demo (default: "
                + "${DEFAULT-VALUE})")
        double target = d.target();
        @Option(names = "--warmup", description = "target warm-up steps from t = 1 (default: ${DEFAULT-VALUE})")
        int warmup = d.warmup();
        @Option(names = "--measure", description = "COST or TOKEN (default: ${DEFAULT-VALUE})")
        AdaptiveRegularizer.Measure measure = d.measure();
        @Option(names = "--penalty", description = "TWO_SIDED or HINGE (default: ${DEFAULT-VALUE})")
        AdaptiveRegularizer.Penalty penalty = d.penalty();
        @Option(names = "--lambda-lr", description = "multiplier ascent rate (default: ${DEFAULT-VALUE})")
        double lambdaLr = d.lambdaLr();
        @Option(names = "--estimator", description = "STRAIGHT_THROUGH, SELECTED_BRANCH, SOFT or HARD (default: "
                + "${DEFAULT-VALUE})")
        Estimator estimator = d.estimator();
        @Option(names = "--p0", description = "initial full probability of the routers (default: ${DEFAULT-VALUE})")
        double p0 = d.p0();
        @Option(names = "--window", description = "window w of the local branch (default: ${DEFAULT-VALUE})")
        int window = d.window();
        @Option(names = "--seq-len", description = "sequence length S (default: ${DEFAULT-VALUE})")
        int seqLen = d.task().seqLen();
        @Option(names = "--threads", description = "worker threads; results do not depend on it (default: "
                + "${DEFAULT-VALUE})")
        int threads = d.threads();

        /** Largest --seq-len: the demo trains on the CPU, its cost grows with S^2. */
        static final int MAX_SEQ_LEN = 4096;
        /** Output files of the demo in --out. */
        static final String[] FILES = {"results.csv", "positions.csv", "training_log.csv", "transfer_demo.png"};

        /** Every option is checked before the run (which takes minutes), --out included. */
        RecallTask validate() {
            Args.range("--pretrain-steps", pretrainSteps, 1, 1_000_000);
            Args.range("--cpt-steps", cptSteps, 1, 1_000_000);
            Args.range("--batch", batch, 1, 4096);
            Args.finite("--lr", lr, true);
            Args.finite("--cpt-lr", cptLr, true);
            Args.finite("--router-lr-scale", routerLrScale, false);
            Args.finite("--router-decay", routerDecay, false);
            Args.require(target >= 0 && target <= 1, "--target", "a full ratio in [0, 1]", target);
            Args.range("--warmup", warmup, 0, Integer.MAX_VALUE);
            Args.finite("--lambda-lr", lambdaLr, true);
            Args.require(p0 > 0.5 && p0 < 1, "--p0", "in (0.5, 1) (every token starts on the full branch)", p0);
            Args.range("--threads", threads, 1, 256);
            Args.range("--window", window, 1, MAX_SEQ_LEN);
            RecallTask t = d.task();
            Args.range("--seq-len", seqLen, t.pairs() + t.queries(), MAX_SEQ_LEN);
            RecallTask task = new RecallTask(t.keys(), t.values(), t.fillers(), seqLen, t.pairs(), t.queries());
            Args.require(task.beyondWindows(d.layers(), window), "--seq-len and --window",
                    "such that the memory is beyond the reach of " + d.layers() + " windows (gap S - " + t.queries()
                            + " - " + t.pairs() + " + 1 > " + d.layers() + " * (w - 1)), else the demo proves "
                            + "nothing", "S = " + seqLen + ", w = " + window);
            SafeFiles.writableFolder(out, "--out");
            for (String f : FILES) {
                SafeFiles.writableFile(out.resolve(f), "--out");
            }
            return task;
        }

        @Override
        public Integer call() throws Exception {
            System.setProperty("java.awt.headless", "true");
            RecallTask task = validate();
            TransferDemo.Options o = new TransferDemo.Options(seed, pretrainSteps, cptSteps, batch, d.evalSequences(),
                    lr, cptLr, routerLrScale, routerDecay, target, warmup, measure, penalty, lambdaLr, estimator, p0, d.width(),
                    d.layers(), d.qHeads(), d.kvHeads(), d.headDim(), d.mlpHidden(), window, task, threads,
                    d.logEvery());
            TransferDemo.Report r = TransferDemo.run(o, System.out);
            TransferDemo.write(r, out);
            System.out.println();
            System.out.print(TransferDemo.table(r));
            System.out.println("positions the router sends to full attention (SwiAttn, held-out set; memory 0.."
                    + (task.pairs() - 1) + ", queries " + task.firstQuery() + ".." + (task.seqLen() - 1) + "):");
            System.out.print(TransferDemo.positions(r));
            System.out.printf(Locale.ROOT, "took %.1f s; wrote %s/{results.csv, positions.csv, training_log.csv, "
                    + "transfer_demo.png}%n", r.seconds(), out);
            return 0;
        }
    }
}
