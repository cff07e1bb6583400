package org.swiattn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainingGoldenCheckTest {
    private static final Path COMMITTED = Path.of("..", "training", "golden");   // surefire runs in cli/

    @Test
    void committedTrainingCasesRegenerateByteForByte() throws Exception {
        assertThat(TrainingGoldenCheck.folderBeside(Path.of("..", "golden")).normalize())
                .isEqualTo(COMMITTED.toAbsolutePath().normalize());
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
