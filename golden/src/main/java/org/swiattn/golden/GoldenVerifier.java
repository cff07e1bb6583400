package org.swiattn.golden;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.swiattn.spec.ErrorMeasures;
import org.swiattn.spec.Precision;
import org.swiattn.spec.Tolerance;

/**
 * {@code swiattn golden verify}: recomputes committed cases with the reference and compares them with the files.
 *
 * <p>Per case: the file exists and its sha256 is the manifest's; the manifest entry and the file's metadata match
 * the case table ({@link Suites}); every stored tensor is recomputed (WHOLE cases whole; SAMPLED cases at their rows
 * plus the LSE of every row for one head) and must agree within the fp64 tolerance {@code 1e-12 max(1, M)} (the
 * report says whether it is bit-identical; M itself within 1e-12 relative, other metadata exactly); the stored
 * naive errors are recomputed (unless skipped) and must agree
 * within {@value #NAIVE_AGREEMENT} relative (they are yardsticks, and a platform's exp/log may move an fp32 rounding).
 * Folder-level: every case of the default suite is in the manifest, and no case file is outside it (the temporary
 * files of an interrupted write, {@link SafeFiles#isTemporary}, are not case files).
 */
public final class GoldenVerifier {
    /** Relative agreement required of recomputed naive errors. */
    public static final double NAIVE_AGREEMENT = 0.05;

    private final Path goldenDir;
    private final boolean naive;
    private final Progress progress;

    /**
     * @param goldenDir the golden folder
     * @param naive     whether to recompute the naive errors too
     */
    public GoldenVerifier(Path goldenDir, boolean naive, Progress progress) {
        this.goldenDir = goldenDir;
        this.naive = naive;
        this.progress = progress;
    }

    /** The verdict on one case. */
    public record CaseVerdict(int tcId, String name, boolean shaOk, int tensors, int bitIdentical, double worstRatio,
                              List<String> problems, double seconds) {
        public boolean pass() {
            return problems.isEmpty();
        }
    }

    /** Problems of the folder as a whole (missing cases, stray files). */
    public List<String> folderProblems(Manifest m, List<CaseSpec> expected) throws IOException {
        List<String> problems = new ArrayList<>();
        for (CaseSpec c : expected) {
            if (m.find(c.name()) == null) {
                problems.add("case " + c.label() + " is missing from " + Manifest.FILE);
            }
        }
        problems.addAll(GoldenFolder.strayFiles(goldenDir, m));
        return problems;
    }

    /**
     * The verdict on a case that a regeneration just made (in {@code regeneratedDir}, by {@code golden generate
     * --out}) reproduced byte for byte: the committed file's sha256 is the manifest's and the regenerated file's is
     * the same, so every tensor and metadata value is what the reference computes now, bit for bit, and nothing needs
     * recomputing. Null when the regeneration has no such file or differs (then {@link #verify} decides).
     *
     * @param regeneratedDir a golden folder written by the generator; not modified
     */
    public CaseVerdict reproduced(Manifest.Entry e, Path regeneratedDir) throws IOException {
        long t0 = System.nanoTime();
        Path committed = Manifest.fileOf(goldenDir, e);
        Path fresh = Manifest.fileOf(regeneratedDir, e);
        boolean known = Suites.ALL.stream().anyMatch(c -> c.tcId() == e.tcId() && c.name().equals(e.name())
                && c.fileName().equals(e.file()));
        LinkOption noLinks = LinkOption.NOFOLLOW_LINKS;
        if (!known || !Files.isRegularFile(committed, noLinks) || !Files.isRegularFile(fresh, noLinks)
                || !Manifest.sha256(committed).equals(e.sha256()) || !Manifest.sha256(fresh).equals(e.sha256())) {
            return null;
        }
        int tensors = SafeTensorsFile.open(committed).tensors().size();
        return new CaseVerdict(e.tcId(), e.name(), true, tensors, tensors, 0, List.of(),
                (System.nanoTime() - t0) / 1e9);
    }

    /** Verifies one manifest entry. */
    public CaseVerdict verify(Manifest.Entry e, GoldenGenerator generator) throws IOException {
        long t0 = System.nanoTime();
        List<String> problems = new ArrayList<>();
        CaseSpec c;
        try {
            c = Suites.find(e.name());
        } catch (BadInputException ex) {
            problems.add("not a case of the suite: " + ex.getMessage());
            return new CaseVerdict(e.tcId(), e.name(), false, 0, 0, 0, problems, 0);
        }
        if (c.tcId() != e.tcId() || !c.fileName().equals(e.file())) {
            problems.add("manifest says tcId " + e.tcId() + ", file " + e.file() + "; the case table says tcId "
                    + c.tcId() + ", file " + c.fileName());
        }
        Path file = Manifest.fileOf(goldenDir, e);
        if (!Files.exists(file)) {
            problems.add(e.file() + " is missing");
            return new CaseVerdict(e.tcId(), e.name(), false, 0, 0, 0, problems, 0);
        }
        try {
            SafeFiles.requireRegularFile(file);
        } catch (BadInputException ex) {
            problems.add(ex.getMessage());
            return new CaseVerdict(e.tcId(), e.name(), false, 0, 0, 0, problems, 0);
        }
        String sha = Manifest.sha256(file);
        boolean shaOk = sha.equals(e.sha256());
        if (!shaOk) {
            problems.add("sha256 " + sha + " differs from the manifest's " + e.sha256());
        }
        SafeTensorsFile f;
        try {
            f = SafeTensorsFile.open(file);
        } catch (BadInputException ex) {
            problems.add(ex.getMessage());
            return new CaseVerdict(e.tcId(), e.name(), shaOk, 0, 0, 0, problems, 0);
        }
        CaseData data = generator.compute(c);
        // metadata: every generated key must be in the file with the same value (naive errors within tolerance)
        for (Map.Entry<String, String> kv : data.metadata().entrySet()) {
            String have = f.metadata().get(kv.getKey());
            if (have == null) {
                problems.add("metadata '" + kv.getKey() + "' is missing");
            } else if (kv.getKey().startsWith("naive_error.")) {
                double want = Double.parseDouble(kv.getValue());
                double got = numberOrNaN(have);
                if (!(Math.abs(got - want) <= NAIVE_AGREEMENT * Math.max(Math.abs(want), 1e-300))) {
                    problems.add("metadata " + kv.getKey() + " = " + have + ", recomputed " + kv.getValue());
                }
            } else if (kv.getKey().equals("score_magnitude")) {
                double want = Double.parseDouble(kv.getValue());
                double got = numberOrNaN(have);
                if (!(Math.abs(got - want) <= 1e-12 * Math.max(1, Math.abs(want)))) {
                    problems.add("metadata score_magnitude = " + have + ", recomputed " + kv.getValue());
                }
            } else if (!have.equals(kv.getValue())) {
                problems.add("metadata " + kv.getKey() + " = '" + have + "', recomputed '" + kv.getValue() + "'");
            }
        }
        // tensors: same names, shapes, dtypes; values within the fp64 tolerance
        if (!f.tensors().keySet().equals(data.tensors().keySet())) {
            problems.add("tensors " + f.tensors().keySet() + ", expected " + data.tensors().keySet());
        }
        double m = Double.parseDouble(data.metadata().get("score_magnitude"));
        double bound = Tolerance.bound(Precision.FP64, 0, m);
        int bitIdentical = 0;
        int compared = 0;
        double worstRatio = 0;
        for (GTensor t : data.tensors().values()) {
            if (!f.has(t.name())) {
                continue;
            }
            TensorInfo info = f.info(t.name());
            if (info.dtype() != t.dtype() || !info.hasShape(t.shape())) {
                problems.add("tensor " + t.name() + " is " + info.dtype() + info.shapeString() + ", expected "
                        + t.dtype() + java.util.Arrays.toString(t.shape()));
                continue;
            }
            compared++;
            if (t.floating()) {
                double[] stored = f.readDoubles(t.name());
                double rel = ErrorMeasures.normwiseRelative(stored, t.f());
                worstRatio = Math.max(worstRatio, rel / bound);
                if (!(rel <= bound)) {
                    problems.add("tensor " + t.name() + ": normwise relative difference " + rel + " > " + bound);
                }
                if (java.util.Arrays.equals(stored, t.f())) {
                    bitIdentical++;
                }
            } else {
                if (java.util.Arrays.equals(f.readLongs(t.name()), t.i())) {
                    bitIdentical++;
                } else {
                    problems.add("tensor " + t.name() + " differs from the recomputed one");
                }
            }
        }
        return new CaseVerdict(e.tcId(), e.name(), shaOk, compared, bitIdentical, worstRatio, problems,
                (System.nanoTime() - t0) / 1e9);
    }

    /** A stored metadata number, NaN when the text is not one (then every comparison with it fails). */
    private static double numberOrNaN(String text) {
        try {
            return Double.parseDouble(text);
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }

    /** A generator for verification (naive errors as configured). */
    public GoldenGenerator generator() {
        return new GoldenGenerator(naive, progress);
    }
}
