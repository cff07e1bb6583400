package org.swiattn.training;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.swiattn.golden.Manifest;
import org.swiattn.golden.SafeTensorsFile;
import org.swiattn.spec.Visibility;
import org.swiattn.training.golden.TrainingGolden;

/** The committed training golden cases (training/golden) are exactly what the generator writes today. */
class TrainingGoldenTest {
    private static final Path COMMITTED = Path.of("golden");   // surefire runs in the module folder

    @Test
    void committedCasesAreReproducedByteForByte(@TempDir Path tmp) throws Exception {
        List<TrainingGolden.Written> written = TrainingGolden.generate(tmp);
        Manifest fresh = Manifest.read(tmp);
        Manifest committed = Manifest.read(COMMITTED);
        assertThat(fresh.cases()).hasSize(written.size()).hasSize(22);
        assertThat(committed.cases().stream().map(Manifest.Entry::name).collect(Collectors.toList()))
                .containsExactlyElementsOf(fresh.cases().stream().map(Manifest.Entry::name).toList());
        for (Manifest.Entry e : committed.cases()) {
            Path f = COMMITTED.resolve(e.file());
            assertThat(Manifest.sha256(f)).as(e.name() + " sha256 vs manifest").isEqualTo(e.sha256());
            assertThat(Files.mismatch(f, tmp.resolve(e.file()))).as(e.name() + " bytes").isEqualTo(-1L);
        }
        try (var files = Files.list(COMMITTED.resolve("v1"))) {
            assertThat(files.count()).as("no stray file in training/golden/v1").isEqualTo(committed.cases().size());
        }
    }

    @Test
    void regularizerCasesAgreeWithABruteForceCostMeasure() {
        for (Manifest.Entry e : Manifest.read(COMMITTED).cases()) {
            if (!e.kind().equals("regularizer") || !e.name().contains("cost")) {
                continue;
            }
            SafeTensorsFile f = SafeTensorsFile.open(COMMITTED.resolve(e.file()));
            int layers = Integer.parseInt(f.requireMetadata("L"));
            int b = Integer.parseInt(f.requireMetadata("B"));
            int s = Integer.parseInt(f.requireMetadata("S"));
            int w = Integer.parseInt(f.requireMetadata("window"));
            double[] p = f.readDoubles("p");
            double[] lr = f.readDoubles("layer_ratios");
            for (int l = 0; l < layers; l++) {
                double num = 0;
                double den = 0;
                for (int bb = 0; bb < b; bb++) {
                    for (int i = 0; i < s; i++) {
                        double pr = p[(l * b + bb) * s + i];
                        for (int j = 0; j < s; j++) {
                            num += pr * (Visibility.visible(i, j, true, w) ? 1 : 0)
                                    + (1 - pr) * (Visibility.visible(i, j, false, w) ? 1 : 0);
                            den += Visibility.visible(i, j, true, w) ? 1 : 0;
                        }
                    }
                }
                assertThat(lr[l]).as(e.name()).isCloseTo(num / den, org.assertj.core.data.Offset.offset(1e-14));
            }
        }
    }
}
