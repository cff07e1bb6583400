package org.swiattn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.swiattn.golden.GoldenFolder;
import org.swiattn.golden.Manifest;

/** The training golden cases of the committed golden folder are reproduced; a changed byte is reported. */
class TrainingGoldenCheckTest {
    private static final Path COMMITTED = GoldenFolder.training(Path.of("..", "golden"));   // surefire runs in cli/

    @Test
    void committedTrainingCasesRegenerateByteForByte() throws Exception {
        assertThat(COMMITTED.resolve(Manifest.FILE)).isRegularFile();
        assertThat(TrainingGoldenCheck.problems(COMMITTED)).isEmpty();
    }

    @Test
    void aChangedByteIsReported(@TempDir Path tmp) throws Exception {
        try (Stream<Path> s = Files.walk(COMMITTED)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path t = tmp.resolve(COMMITTED.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        Path victim;
        try (Stream<Path> s = Files.list(tmp.resolve("v1"))) {
            victim = s.sorted().findFirst().orElseThrow();
        }
        byte[] b = Files.readAllBytes(victim);
        b[b.length - 1] ^= 1;
        Files.write(victim, b);
        assertThat(TrainingGoldenCheck.problems(tmp)).hasSize(1).first().asString().contains("sha256");
    }
}
