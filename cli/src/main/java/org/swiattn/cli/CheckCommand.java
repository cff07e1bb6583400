package org.swiattn.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.swiattn.golden.BadInputException;
import org.swiattn.golden.CandidateChecker;
import org.swiattn.golden.Explanation;
import org.swiattn.golden.MistakeFinder;
import org.swiattn.golden.Suites;
import org.swiattn.golden.TensorCheck;
import org.swiattn.golden.TextTable;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code swiattn check}: compare another implementation's outputs with the golden cases. */
@Command(name = "check", mixinStandardHelpOptions = true,
        description = {"Compare a candidate implementation's outputs, written in the golden format, with a golden case "
                + "under the spec's tolerance policy.",
            "The candidate file declares __metadata__ precision = fp64 | fp32 | bf16 and holds the golden output "
                + "tensors (o, lse, dq, dk, dv, d_router_logit; 32K cases: the *_rows tensors or the whole tensors).",
            "With --all every file is judged: one that cannot be (unreadable, unknown case) is listed as NOT CHECKED "
                + "and the others are still checked; the exit status is then 1 if any candidate is out of "
                + "tolerance, else 2."})
public final class CheckCommand implements Callable<Integer> {
    @Mixin
    GoldenDir golden;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Target target;

    static final class Target {
        @ArgGroup(exclusive = false)
        One one;

        @Option(names = "--all", paramLabel = "DIR", description = "check every *.safetensors in DIR; each names its "
                + "case by __metadata__ case or by its file name (<case name>.safetensors)")
        Path all;
    }

    static final class One {
        @Option(names = "--case", required = true, paramLabel = "ID", description = "tcId or name of the case")
        String caseId;

        @Option(names = "--candidate", required = true, paramLabel = "FILE", description = "the candidate's outputs")
        Path candidate;
    }

    @Option(names = "--forward-only", description = "compare o and lse only (for inference implementations)")
    boolean forwardOnly;

    @Option(names = "--explain", description = "for a failing candidate, also test the catalogue of classic "
            + "mistakes (SPEC.md section 10.1): the reference is re-run with each one planted and the one the "
            + "candidate matches is named with its usual cause (seconds for small cases, minutes at 32K)")
    boolean explain;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter o = spec.commandLine().getOut();
        CandidateChecker checker = new CandidateChecker(golden.get());
        if (target.one != null) {
            List<CandidateChecker.Compared> compared = new ArrayList<>();
            CandidateChecker.Report r = checker.check(target.one.caseId, target.one.candidate, forwardOnly,
                    compared::add);
            print(o, r);
            explain(o, r, compared);
            return r.pass() ? 0 : SwiattnCommand.EXIT_FAIL;
        }
        // every file is judged, whatever the others hold: an unreadable or unknown one is reported and skipped
        List<CandidateChecker.Report> reports = new ArrayList<>();
        java.util.Map<CandidateChecker.Report, List<CandidateChecker.Compared>> compared = new java.util.HashMap<>();
        List<String[]> unchecked = new ArrayList<>();
        for (Path p : CandidateChecker.candidates(target.all)) {
            try {
                List<CandidateChecker.Compared> tensors = new ArrayList<>();
                CandidateChecker.Report r = checker.check(null, p, forwardOnly, tensors::add);
                reports.add(r);
                compared.put(r, tensors);
            } catch (BadInputException e) {
                unchecked.add(new String[] {Terminal.safe(p.getFileName()), Terminal.safe(e.getMessage())});
            }
        }
        reports.sort(java.util.Comparator.comparingInt(r -> Integer.parseInt(r.caseLabel().split(" ")[0])));
        for (CandidateChecker.Report r : reports) {
            print(o, r);
            explain(o, r, compared.get(r));
            o.println();
        }
        for (String[] u : unchecked) {
            o.println("candidate " + u[0] + ": NOT CHECKED: " + u[1]);
        }
        if (!unchecked.isEmpty()) {
            o.println();
        }
        TextTable t = new TextTable("case", "candidate", "precision", "tensors", "worst err/bound", "result");
        int failed = 0;
        for (CandidateChecker.Report r : reports) {
            double worst = 0;
            for (TensorCheck c : r.checks()) {
                worst = Math.max(worst, c.relErr() / c.bound());
            }
            long passed = r.checks().stream().filter(TensorCheck::pass).count();
            t.row(r.caseLabel(), Terminal.safe(r.candidate().getFileName()),
                    r.precision().name().toLowerCase(Locale.ROOT), passed + "/" + r.checks().size(), worst, r.pass());
            failed += r.pass() ? 0 : 1;
        }
        for (String[] u : unchecked) {
            t.row("-", u[0], "-", "-", "-", "NOT CHECKED");
        }
        o.print(t);
        int total = reports.size() + unchecked.size();
        o.printf("%d candidates: %s%n", total, failed == 0 && unchecked.isEmpty() ? "PASS"
                : "FAIL (" + failed + " out of tolerance" + (unchecked.isEmpty() ? "" : ", " + unchecked.size()
                        + " not checked") + ")");
        // a proven conformance failure (1) outranks files that could not be judged (2)
        return failed > 0 ? SwiattnCommand.EXIT_FAIL : unchecked.isEmpty() ? 0 : SwiattnCommand.EXIT_BAD_INPUT;
    }

    /** Under a failing candidate: where its error lies and, with --explain, the catalogued mistake it matches. */
    private void explain(PrintWriter o, CandidateChecker.Report r, List<CandidateChecker.Compared> compared) {
        if (r.pass()) {
            return;
        }
        for (String line : Explanation.breakdown(compared)) {
            o.println("  " + line);
        }
        if (!explain) {
            o.println("  hint: " + Explanation.explainHint());
            o.flush();
            return;
        }
        o.flush();
        ConsoleProgress progress = new ConsoleProgress(spec.commandLine().getErr());
        progress.prefix(r.caseLabel());
        List<MistakeFinder.Verdict> verdicts = MistakeFinder.find(Suites.find(compared.get(0).entry().name()),
                compared, r.precision(), progress);
        progress.clear();
        for (String line : Explanation.catalogue(verdicts)) {
            o.println("  " + line);
        }
        o.flush();
    }

    private static void print(PrintWriter o, CandidateChecker.Report r) {
        o.printf("case %s, candidate %s, precision %s: %s%n", r.caseLabel(), Terminal.safe(r.candidate()),
                r.precision().name().toLowerCase(Locale.ROOT), r.pass() ? "PASS" : "FAIL");
        o.print(r.table());
        for (String n : r.notes()) {
            o.println("  note: " + n);
        }
        o.flush();
    }
}
