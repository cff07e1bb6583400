package org.swiattn.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.swiattn.golden.GoldenFolder;
import org.swiattn.training.golden.TrainingGolden;

/**
 * The training golden cases (router, regularizer, one continual-pretraining step; {@code golden/training/}, the
 * golden folder layout of {@link GoldenFolder}): regenerated and compared byte for byte with the committed files.
 * Part of {@code swiattn golden verify}.
 */
final class TrainingGoldenCheck {
    private TrainingGoldenCheck() {
    }

    /**
     * Regenerates the training cases and lists every difference (empty: all identical).
     *
     * @param committed folder with manifest.json ({@link GoldenFolder#training} of the golden folder); not modified
     */
    static List<String> problems(Path committed) throws IOException {
        return GoldenFolder.regenerationProblems("training golden", committed, TrainingGolden::generate);
    }
}
