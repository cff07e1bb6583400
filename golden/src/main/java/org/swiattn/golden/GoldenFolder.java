package org.swiattn.golden;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The layout of a golden folder (SPEC.md section 13): {@code manifest.json} and the case files it lists under
 * {@code v1/} (suite 1) and {@code v2/} (suite 2). The committed tree is {@code golden/}; the training cases (router, regularizer, one continual
 * pretraining step) are a second folder of the same layout inside it, {@code golden/training/}, written by the
 * training module's generator with this module's writer and manifest.
 *
 * <pre>{@code
 *   golden/manifest.json             attention cases, tcIds 1..
 *   golden/v1/<name>.safetensors     suite 1, tcIds 1..36
 *   golden/v2/<name>.safetensors     suite 2 (segments), tcIds 101..
 *   golden/training/manifest.json    training cases, tcIds 1001..
 *   golden/training/v1/<name>.safetensors
 * }</pre>
 */
public final class GoldenFolder {
    /** The folder of the case files inside a golden folder; manifest entries name files as {@code v1/<name>}. */
    public static final String CASES = "v1";
    /** Every folder of case files a golden folder may hold: one per suite version. */
    public static final List<String> CASE_FOLDERS = List.of("v1", "v2");
    /** The folder of the training cases inside the golden folder. */
    public static final String TRAINING = "training";

    private GoldenFolder() {
    }

    /** Something that writes a complete golden folder (case files and manifest) into an empty folder. */
    @FunctionalInterface
    public interface Generator {
        void generate(Path dir) throws IOException;
    }

    /** The training cases' folder of a golden folder: {@code goldenDir/training}. */
    public static Path training(Path goldenDir) {
        return goldenDir.resolve(TRAINING);
    }

    /**
     * The files in {@code dir/v1} and {@code dir/v2} that the manifest does not list (temporary files of a write in progress skipped).
     *
     * @param dir a golden folder; not modified
     * @param m   its manifest
     * @return one line per stray file, empty if none
     */
    public static List<String> strayFiles(Path dir, Manifest m) throws IOException {
        Set<String> listed = new HashSet<>();
        for (Manifest.Entry e : m.cases()) {
            listed.add(e.file());
        }
        List<String> problems = new ArrayList<>();
        for (String folder : CASE_FOLDERS) {
            Path cases = dir.resolve(folder);
            if (!Files.isDirectory(cases)) {
                continue;
            }
            try (Stream<Path> s = Files.list(cases)) {
                for (Path p : s.sorted().toList()) {
                    if (SafeFiles.isTemporary(p)) {
                        continue;   // a write in progress, or one a SIGKILL interrupted: not a case file
                    }
                    String rel = folder + "/" + p.getFileName();
                    if (!listed.contains(rel)) {
                        problems.add(rel + " is not listed in " + Manifest.FILE);
                    }
                }
            }
        }
        return problems;
    }

    /**
     * Regenerates a committed folder into a temporary one and compares them byte for byte: the same cases, every
     * committed file present with the manifest's sha256 and identical to the regenerated one, no stray file.
     *
     * @param label     how problems name the folder ("training golden")
     * @param committed the committed folder with manifest.json; not modified
     * @param generator writes the folder afresh
     * @return one line per difference, empty if the folder is reproduced exactly
     */
    public static List<String> regenerationProblems(String label, Path committed, Generator generator)
            throws IOException {
        List<String> problems = new ArrayList<>();
        Path tmp = Files.createTempDirectory("swiattn-golden");
        try {
            generator.generate(tmp);
            Manifest fresh = Manifest.read(tmp);
            Manifest old = Manifest.read(committed);
            if (fresh.cases().size() != old.cases().size()) {
                problems.add(label + ": " + old.cases().size() + " committed cases, the generator writes "
                        + fresh.cases().size());
            }
            for (Manifest.Entry e : old.cases()) {
                Path f = Manifest.fileOf(committed, e);
                Path g = Manifest.fileOf(tmp, e);
                if (!Files.isRegularFile(f)) {
                    problems.add(label + " " + e.name() + ": missing file " + e.file());
                } else if (!Manifest.sha256(f).equals(e.sha256())) {
                    problems.add(label + " " + e.name() + ": sha256 differs from the manifest");
                } else if (!Files.isRegularFile(g) || Files.mismatch(f, g) != -1) {
                    problems.add(label + " " + e.name() + ": regenerated bytes differ");
                }
            }
            for (String p : strayFiles(committed, old)) {
                problems.add(label + ": " + p);
            }
        } finally {
            try (Stream<Path> s = Files.walk(tmp)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        return problems;
    }
}
