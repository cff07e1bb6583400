package org.swiattn.golden;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The one read/write path of the golden tools ({@link SafeFiles}) and the manifest's locked update: failures leave
 * no temporary file and never name one, special files are refused unopened, a folder check skips the temporary
 * files an interrupted write leaves, concurrent updates lose no entry.
 */
class SafeFilesTest {
    @TempDir
    Path dir;

    private List<Path> temporaries() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(SafeFiles::isTemporary).toList();
        }
    }

    @Test
    void aFailedWriteLeavesTheTargetAsItWasAndNoTemporaryFile() throws IOException {
        Path target = Files.writeString(dir.resolve("t.safetensors"), "old");
        assertThatThrownBy(() -> SafeFiles.atomicWrite(target, ch -> {
            ch.write(ByteBuffer.wrap("half".getBytes(StandardCharsets.UTF_8)));
            throw new FileSystemException(dir.resolve(".t.safetensors.1" + SafeFiles.TEMP_SUFFIX).toString(), null,
                    "No space left on device");
        })).isInstanceOf(IOException.class)
                .hasMessage("cannot write " + target + ": No space left on device")
                .message().doesNotContain(SafeFiles.TEMP_SUFFIX);
        assertThat(Files.readString(target)).isEqualTo("old");
        assertThat(temporaries()).isEmpty();
        // success: the new content, rw-r--r--, no temporary file
        SafeFiles.atomicWrite(target, ch -> ch.write(ByteBuffer.wrap(new byte[] {'n', 'e', 'w'})));
        assertThat(Files.readString(target)).isEqualTo("new");
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(target)))
                .isEqualTo("rw-r--r--");
        assertThat(temporaries()).isEmpty();
    }

    @Test
    void specialFilesAreRefusedUnopened() throws Exception {
        Path fifo = dir.resolve("fifo");
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor()).isZero();
        assertThatThrownBy(() -> SafeFiles.requireRegularFile(fifo)).isInstanceOf(BadInputException.class)
                .hasMessage(fifo + ": is a FIFO (named pipe), not a regular file (the tools read files by offset: "
                        + "save the data to a file first)");
        assertThatThrownBy(() -> SafeTensorsFile.open(fifo)).isInstanceOf(SafeTensorsException.class)
                .hasMessageContaining("is a FIFO");
        assertThatThrownBy(() -> Manifest.sha256(fifo)).hasMessageContaining("is a FIFO");
        assertThatThrownBy(() -> SafeFiles.writableFile(fifo, "--out")).hasMessageStartingWith("--out " + fifo
                + ": is a FIFO");
        Path toNull = Files.createSymbolicLink(dir.resolve("null"), Path.of("/dev/null"));
        assertThatThrownBy(() -> SafeFiles.atomicWrite(toNull, ch -> { }))
                .hasMessageContaining("is a symbolic link to /dev/null, a character device; refusing to replace it");
        assertThat(Files.readSymbolicLink(toNull)).isEqualTo(Path.of("/dev/null"));
        assertThatThrownBy(() -> SafeFiles.requireRegularFile(dir)).hasMessage(dir + ": is a folder, not a file");
        assertThatThrownBy(() -> SafeFiles.requireRegularFile(dir.resolve("absent")))
                .hasMessage(dir.resolve("absent") + ": no such file");
        assertThat(temporaries()).isEmpty();
    }

    @Test
    void theFolderCheckSkipsTheTemporaryFilesOfAnInterruptedWrite() throws IOException {
        Files.createDirectories(dir.resolve("v1"));
        Files.writeString(dir.resolve("v1/.x.safetensors.123" + SafeFiles.TEMP_SUFFIX), "left by SIGKILL");
        Files.writeString(dir.resolve("v1/stray.safetensors"), "not listed");
        List<String> problems = new GoldenVerifier(dir, false, Progress.NONE).folderProblems(Manifest.empty(),
                List.of());
        assertThat(problems).containsExactly("v1/stray.safetensors is not listed in manifest.json");
    }

    @Test
    void concurrentManifestUpdatesLoseNoEntry() throws Exception {
        int n = 16;
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Manifest>> done = new ArrayList<>();
            for (int i = 1; i <= n; i++) {
                Manifest.Entry e = entry(i);
                done.add(pool.submit(() -> Manifest.update(dir, m -> m.with(e))));
            }
            for (Future<Manifest> f : done) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(Manifest.read(dir).cases()).hasSize(n).extracting(Manifest.Entry::tcId)
                .containsExactlyElementsOf(java.util.stream.IntStream.rangeClosed(1, n).boxed().toList());
        assertThat(temporaries()).isEmpty();
    }

    private static Manifest.Entry entry(int id) {
        return new Manifest.Entry(id, "case_" + id, "v1/case_" + id + ".safetensors", "0".repeat(64), 0, "whole", 1,
                1, 1, 1, 1, 1, "HARD", false, "1", List.of(), "", List.of());
    }

    @Test
    void openVerifiedRefusesAFileThatDiffersFromItsManifest() throws IOException {
        Path f = new SafeTensorsWriter().metadata("k", "v").addDoubles("x", Dtype.F64, new long[] {1},
                new double[] {1}).write(dir.resolve("v1/a.safetensors"));
        Manifest.Entry e = new Manifest.Entry(5, "a", "v1/a.safetensors", Manifest.sha256(f), Files.size(f), "whole",
                1, 1, 1, 1, 1, 1, "HARD", false, "1", List.of(), "", List.of("x"));
        assertThat(Manifest.openVerified(dir, e).readDoubles("x")).containsExactly(1.0);
        byte[] b = Files.readAllBytes(f);
        b[b.length - 1] ^= 1;
        Files.write(f, b);
        assertThatThrownBy(() -> Manifest.openVerified(dir, e)).isInstanceOf(BadInputException.class)
                .hasMessageContaining("golden file of case 5 a does not match its manifest");
    }
}
