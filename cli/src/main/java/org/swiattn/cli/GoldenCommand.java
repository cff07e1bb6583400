package org.swiattn.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.swiattn.golden.BadInputException;
import org.swiattn.golden.CaseData;
import org.swiattn.golden.CaseSpec;
import org.swiattn.golden.Dtype;
import org.swiattn.golden.GoldenExporter;
import org.swiattn.golden.GoldenFolder;
import org.swiattn.golden.GoldenGenerator;
import org.swiattn.golden.GoldenVerifier;
import org.swiattn.golden.Manifest;
import org.swiattn.golden.SafeFiles;
import org.swiattn.golden.Suites;
import org.swiattn.golden.TextTable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code swiattn golden ...}: generate, verify, export and list the golden cases. */
@Command(name = "golden", mixinStandardHelpOptions = true,
        description = "Generate, verify, export and list the golden cases.",
        subcommands = {
            GoldenCommand.Generate.class,
            GoldenCommand.Verify.class,
            GoldenCommand.Export.class,
            GoldenCommand.ListCases.class,
        })
public final class GoldenCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** "BxS[:Sk]xHq/HkvxD", with ":Sk" after S where the keys differ from the queries (suite 2). */
    static String shape(CaseSpec c) {
        return c.shape().batch() + "x" + c.shape().seqLen() + (c.shape().squareRows() ? "" : ":" + c.shape()
                .kvSeqLen()) + "x" + c.shape().qHeads() + "/" + c.shape().kvHeads() + "x" + c.shape().headDim();
    }

    static String size(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        if (bytes < 1024 * 1024) {
            return String.format(Locale.ROOT, "%.1f KB", bytes / 1024.0);
        }
        return String.format(Locale.ROOT, "%.1f MB", bytes / (1024.0 * 1024));
    }

    static List<CaseSpec> select(String suite, List<String> cases) {
        if (cases != null && !cases.isEmpty()) {
            List<CaseSpec> out = new ArrayList<>();
            for (String id : cases) {
                out.add(Suites.find(id));
            }
            return out;
        }
        return Suites.suite(suite);
    }

    /** What every golden subcommand shares: picocli's spec of the command, for its output and error writers. */
    abstract static class Subcommand implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        PrintWriter stdout() {
            return spec.commandLine().getOut();
        }

        PrintWriter stderr() {
            return spec.commandLine().getErr();
        }
    }

    /** {@code swiattn golden generate}. */
    @Command(name = "generate", mixinStandardHelpOptions = true,
            description = {"Regenerate golden cases with the fp64 reference and write them with manifest.json.",
                "The default suite is the committed golden/ tree (50 cases: suite 1, v1/, and suite 2, v2/; several "
                        + "minutes on 2 cores, most of it in the 32K cases)."})
    static final class Generate extends Subcommand {
        @Option(names = "--suite", defaultValue = "default", paramLabel = "NAME",
                description = "suite: default, v1, v2, small, 4k, 32k, smoke (default: ${DEFAULT-VALUE})")
        String suite;

        @Option(names = "--case", paramLabel = "ID", description = "generate only these cases (tcId or name; "
                + "repeatable); overrides --suite")
        List<String> cases;

        @Option(names = "--out", paramLabel = "DIR", description = "output folder (default: the repository's golden/);"
                + " the manifest there is updated, other cases in it are kept")
        Path out;

        @Override
        public Integer call() throws IOException {
            PrintWriter o = stdout();
            PrintWriter err = stderr();
            List<CaseSpec> list = select(suite, cases);
            Path dir = out != null ? out : GoldenDir.defaultDir();
            SafeFiles.writableFolder(dir, "--out");
            Files.createDirectories(dir);
            Manifest.readOrEmpty(dir);   // a damaged manifest stops the run before any work
            ConsoleProgress progress = new ConsoleProgress(err);
            GoldenGenerator gen = new GoldenGenerator(true, progress);
            TextTable table = new TextTable("tcId", "name", "kind", "BxS[:Sk]xHq/HkvxD", "w", "estimator", "tensors",
                    "size", "seconds");
            long t0 = System.nanoTime();
            long total = 0;
            int n = 0;
            for (CaseSpec c : list) {
                n++;
                progress.prefix(String.format(Locale.ROOT, "[%2d/%d] %s", n, list.size(), c.name()));
                long t1 = System.nanoTime();
                CaseData data = gen.compute(c);
                Path file = dir.resolve(c.fileName());
                data.write(file);
                Manifest.Entry entry = Manifest.entry(c, data, file);
                Manifest.update(dir, m -> m.with(entry));   // re-read under the folder's lock: no entry is lost
                double secs = (System.nanoTime() - t1) / 1e9;
                long bytes = Files.size(file);
                total += bytes;
                progress.clear();
                err.printf(Locale.ROOT, "[%2d/%d] %-40s %8s %7.1f s%n", n, list.size(), c.name(), size(bytes), secs);
                err.flush();
                table.row(c.tcId(), c.name(), c.kind().name().toLowerCase(Locale.ROOT), shape(c), c.window(),
                        c.estimator(), data.tensors().size(), size(bytes), String.format(Locale.ROOT, "%.1f", secs));
            }
            o.print(table);
            o.printf(Locale.ROOT, "%d cases, %s, %.1f s; wrote %s%n", list.size(), size(total),
                    (System.nanoTime() - t0) / 1e9, Terminal.safe(dir.resolve(Manifest.FILE)));
            return 0;
        }
    }

    /** {@code swiattn golden verify}. */
    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = {"Recompute committed cases with the reference and compare them with the files:",
                "sha256 against manifest.json, metadata, every stored tensor within the fp64 tolerance (32K cases: the "
                        + "sampled rows and the LSE of every row for one head), and the stored naive errors.",
                "Exit status 1 if anything differs."})
    static final class Verify extends Subcommand {
        @Mixin
        GoldenDir golden;

        @Option(names = "--case", paramLabel = "ID", description = "verify only these cases (tcId or name; "
                + "repeatable)")
        List<String> cases;

        @Option(names = "--suite", paramLabel = "NAME", description = "verify only the cases of this suite")
        String suite;

        @Option(names = "--skip-naive", description = "do not recompute the naive fp32/bf16 errors (about half the "
                + "time)")
        boolean skipNaive;

        @Option(names = "--regenerated", paramLabel = "DIR", description = {"a folder that `golden generate --out DIR`"
                + " has just written from scratch (the main job's out/golden): a committed case whose file it "
                + "reproduced byte for byte is verified by that, without recomputing; the others are recomputed"})
        Path regenerated;

        @Override
        public Integer call() throws IOException {
            PrintWriter o = stdout();
            PrintWriter err = stderr();
            Path dir = golden.get();
            Manifest m = Manifest.read(dir);
            if (regenerated != null && (!Files.isDirectory(regenerated)
                    || Files.isSameFile(regenerated, dir))) {
                throw new BadInputException("--regenerated: " + regenerated + (Files.isDirectory(regenerated)
                        ? " is the golden folder itself" : " is not a folder") + " (give the folder that golden "
                        + "generate --out wrote)");
            }
            ConsoleProgress progress = new ConsoleProgress(err);
            GoldenVerifier v = new GoldenVerifier(dir, !skipNaive, progress);
            GoldenGenerator gen = v.generator();
            List<Manifest.Entry> entries = new ArrayList<>();
            boolean whole = (cases == null || cases.isEmpty()) && suite == null;
            if (whole) {
                entries.addAll(m.cases());
            } else {
                for (CaseSpec c : select(suite == null ? "default" : suite, cases)) {
                    Manifest.Entry e = m.find(c.name());
                    if (e == null) {
                        throw new BadInputException("case " + c.label() + " is not in " + dir.resolve(Manifest.FILE));
                    }
                    entries.add(e);
                }
            }
            List<String> folder = whole ? new ArrayList<>(v.folderProblems(m, Suites.ALL)) : new ArrayList<>();
            Path training = whole ? GoldenFolder.training(dir) : null;
            if (training != null && Files.isRegularFile(training.resolve(Manifest.FILE))) {
                List<String> tp = TrainingGoldenCheck.problems(training);
                folder.addAll(tp);
                err.printf(Locale.ROOT, "training golden cases (%s): %s%n", training,
                        tp.isEmpty() ? "regenerated byte for byte" : "FAILED");
            }
            TextTable table = new TextTable("tcId", "name", "sha256", "tensors", "bit_identical", "err/bound",
                    "seconds", "result");
            long t0 = System.nanoTime();
            int failed = 0;
            int n = 0;
            int reproduced = 0;
            for (Manifest.Entry e : entries) {
                n++;
                progress.prefix(String.format(Locale.ROOT, "[%2d/%d] %s", n, entries.size(), e.name()));
                GoldenVerifier.CaseVerdict r = regenerated != null ? v.reproduced(e, regenerated) : null;
                reproduced += r != null ? 1 : 0;
                r = r != null ? r : v.verify(e, gen);
                progress.clear();
                err.printf(Locale.ROOT, "[%2d/%d] %-40s %s %7.1f s%n", n, entries.size(), e.name(),
                        r.pass() ? "ok" : "FAILED", r.seconds());
                for (String p : r.problems()) {
                    err.println("        " + Terminal.safe(p));
                }
                err.flush();
                failed += r.pass() ? 0 : 1;
                table.row(r.tcId(), r.name(), r.shaOk() ? "ok" : "MISMATCH", r.tensors(), r.bitIdentical() + "/"
                        + r.tensors(), r.worstRatio(), String.format(Locale.ROOT, "%.1f", r.seconds()), r.pass());
            }
            o.print(table);
            for (String p : folder) {
                o.println("folder: " + Terminal.safe(p));
            }
            boolean ok = failed == 0 && folder.isEmpty();
            o.printf(Locale.ROOT, "%d cases verified in %.1f s%s%s: %s%n", entries.size(),
                    (System.nanoTime() - t0) / 1e9,
                    skipNaive ? " (naive errors not recomputed)" : "", regenerated == null ? "" : " (" + reproduced
                            + " reproduced byte for byte by " + regenerated + ", " + (entries.size() - reproduced)
                            + " recomputed)", ok ? "PASS" : "FAIL (" + failed
                            + " cases, " + folder.size() + " folder problems)");
            return ok ? 0 : SwiattnCommand.EXIT_FAIL;
        }
    }

    /** {@code swiattn golden export}. */
    @Command(name = "export", mixinStandardHelpOptions = true,
            description = {"Write one case as a single file; with --full the inputs q, k, v, do are included "
                + "(regenerated from the seed), for users who do not want to implement the input generator."})
    static final class Export extends Subcommand {
        @Mixin
        GoldenDir golden;

        @Option(names = "--case", required = true, paramLabel = "ID", description = "tcId or name")
        String caseId;

        @Option(names = "--full", description = "include the inputs q, k, v, do")
        boolean full;

        @Option(names = "--input-dtype", defaultValue = "F64", paramLabel = "DTYPE",
                description = "dtype of the inputs: F64, F32 or BF16 (all exact; default ${DEFAULT-VALUE})")
        String inputDtype;

        @Option(names = "--out", required = true, paramLabel = "FILE", description = "file to write")
        Path out;

        @Override
        public Integer call() throws IOException {
            Dtype dt = switch (inputDtype.toUpperCase(Locale.ROOT)) {
                case "F64" -> Dtype.F64;
                case "F32" -> Dtype.F32;
                case "BF16" -> Dtype.BF16;
                default -> throw new BadInputException("--input-dtype: must be F64, F32 or BF16, got '" + inputDtype
                        + "'");
            };
            CaseSpec c = GoldenExporter.export(golden.get(), caseId, full, dt, out);
            stdout().printf("wrote %s (case %s%s, %s)%n", Terminal.safe(out), c.label(),
                    full ? ", inputs included" : "", size(Files.size(out)));
            return 0;
        }
    }

    /** {@code swiattn golden list}. */
    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the cases of a suite.")
    static final class ListCases extends Subcommand {
        @Option(names = "--suite", defaultValue = "default", paramLabel = "NAME",
                description = "suite: default, v1, v2, small, 4k, 32k, smoke (default: ${DEFAULT-VALUE})")
        String suite;

        @Override
        public Integer call() {
            TextTable t = new TextTable("tcId", "name", "kind", "BxS[:Sk]xHq/HkvxD", "w", "estimator", "bwd", "flags",
                    "comment");
            for (CaseSpec c : Suites.suite(suite)) {
                t.row(c.tcId(), c.name(), c.kind().name().toLowerCase(Locale.ROOT), shape(c), c.window(),
                        c.estimator(), c.backward() ? "yes" : "no", String.join(",", c.flags()), c.comment());
            }
            stdout().print(t);
            return 0;
        }
    }
}
