package org.swiattn.training;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.swiattn.golden.GoldenFolder;
import org.swiattn.golden.Manifest;
import org.swiattn.golden.SafeTensorsFile;
import org.swiattn.spec.Visibility;
import org.swiattn.training.golden.TrainingGolden;

/** The committed training golden cases (golden/training) are exactly what the generator writes today. */
class TrainingGoldenTest {
    /** The committed folder (surefire runs in training/). */
    private static final Path COMMITTED = GoldenFolder.training(Path.of("..", "golden"));

    @Test
    void committedCasesAreReproducedByteForByte() throws Exception {
        assertThat(Manifest.read(COMMITTED).cases()).hasSize(22);
        assertThat(GoldenFolder.regenerationProblems("training golden", COMMITTED, TrainingGolden::generate))
                .isEmpty();
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
