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
            CaseSpec c = Suites.find(e.name());
            assertThat(sf.metadata()).containsEntry("name", e.name())
                    .containsEntry("tcId", Integer.toString(e.tcId()))
                    .containsEntry("spec_version", c.version() == 1 ? "1.0" : "2.0")
                    .containsEntry("format_version", Integer.toString(c.version()));
            assertThat(sf.tensors().keySet()).containsAll(GoldenGenerator.outputTensors(Suites.find(e.name())));
            // the fp32 yardstick is sane: a naive fp32 implementation is close to fp64 on every committed case
            // (worst suite-1 value 1.1e-4, huge scores); a broken yardstick would make the fp32 bound meaningless
            sf.metadata().forEach((k, val) -> {
                if (k.startsWith("naive_error.fp32.")) {
                    assertThat(Double.parseDouble(val)).as(e.name() + " " + k).isLessThan(1e-3);
                }
            });
            total += Files.size(f);
        }
        assertThat(total).as("committed golden data").isLessThan(40L << 20);
    }

    /** Unused cache slots never matter: the NaN twin of a decode case has the same outputs, bit for bit. */
    @Test
    void nanInUnusedCacheSlotsChangesNoOutput() {
        SafeTensorsFile plain = SafeTensorsFile.open(GOLDEN.resolve(Suites.find("106").fileName()));
        SafeTensorsFile nan = SafeTensorsFile.open(GOLDEN.resolve(Suites.find("107").fileName()));
        assertThat(nan.metadata()).containsEntry("unused_kv", "nan");
        assertThat(plain.metadata()).containsEntry("unused_kv", "generator");
        for (String t : List.of("o", "lse", "route", "router_logits", "cache_seqlens")) {
            assertThat(nan.tensors()).containsKey(t);
            if (nan.info(t).dtype().isFloating()) {
                assertThat(nan.readDoubles(t)).as(t).isEqualTo(plain.readDoubles(t));
            } else {
                assertThat(nan.readLongs(t)).as(t).isEqualTo(plain.readLongs(t));
            }
        }
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
        // the small suite-2 cases: every form, with its segment tensors
        for (String id : List.of("101", "102", "103", "104", "105")) {
            GoldenVerifier.CaseVerdict r = v.verify(m.find(id), gen);
            assertThat(r.problems()).as("case " + id).isEmpty();
            assertThat(r.tensors()).isEqualTo(m.find(id).tensors().size());
        }
    }
}
