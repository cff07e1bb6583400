package org.swiattn.golden;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The committed golden tree (this module's folder): the manifest lists exactly the default suite, every file's
 * sha256 matches, every file opens with the hardened reader and carries its case's metadata, the tree stays under
 * 40 MB, and a few cases (one per estimator, the smallest edge cases) are recomputed by the reference and agree.
 * The full recomputation is {@code swiattn golden verify} (a separate CI step; see README).
 */
class CommittedGoldenTest {
    private static final Path GOLDEN = Path.of(".");

    @Test
    void manifestListsTheDefaultSuiteWithMatchingFiles() throws IOException {
        Manifest m = Manifest.read(GOLDEN);
        assertThat(m.cases()).extracting(Manifest.Entry::name)
                .containsExactlyElementsOf(Suites.ALL.stream().map(CaseSpec::name).toList());
        GoldenVerifier v = new GoldenVerifier(GOLDEN, false, Progress.NONE);
        assertThat(v.folderProblems(m, Suites.ALL)).isEmpty();
        long total = 0;
        for (Manifest.Entry e : m.cases()) {
            Path f = GOLDEN.resolve(e.file());
            assertThat(Manifest.sha256(f)).as(e.file()).isEqualTo(e.sha256());
            SafeTensorsFile sf = SafeTensorsFile.open(f);
            assertThat(sf.metadata()).containsEntry("name", e.name())
                    .containsEntry("tcId", Integer.toString(e.tcId())).containsEntry("spec_version", "1.0");
            assertThat(sf.tensors().keySet()).containsAll(GoldenGenerator.outputTensors(Suites.find(e.name())));
            total += Files.size(f);
        }
        assertThat(total).as("committed golden data").isLessThan(40L << 20);
    }

    @Test
    void aFewCommittedCasesRecomputeExactly() throws IOException {
        Manifest m = Manifest.read(GOLDEN);
        GoldenVerifier v = new GoldenVerifier(GOLDEN, true, Progress.NONE);
        GoldenGenerator gen = v.generator();
        for (String id : List.of("1", "2", "12", "19", "23", "24", "25", "26")) {
            GoldenVerifier.CaseVerdict r = v.verify(m.find(id), gen);
            assertThat(r.problems()).as("case " + id).isEmpty();
            assertThat(r.tensors()).isEqualTo(8);
        }
    }
}
