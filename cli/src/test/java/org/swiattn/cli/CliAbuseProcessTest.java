package org.swiattn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.swiattn.cli.Cli.Child;
import org.swiattn.cli.Cli.Run;
import org.swiattn.golden.Manifest;
import org.swiattn.golden.SafeFiles;

/**
 * The command as a process, through the real launcher script (in a scratch home, {@link Cli#launcher}): reached
 * through symbolic links, a JVM that cannot start, no java, an old java, a small heap, SIGTERM in the middle of a
 * write, and two processes generating into one folder. Each child has a time limit.
 */
class CliAbuseProcessTest {
    @TempDir
    static Path dir;
    static Path launcher;
    static Path golden;

    @BeforeAll
    static void setUp() throws IOException {
        launcher = Cli.launcher(dir);
        golden = dir.resolve("golden");
        Run r = Cli.run("golden", "generate", "--case", "7", "--out", golden.toString());
        assertThat(r.rc()).as(r.err()).isZero();
    }

    private static Run launch(Map<String, String> env, String... args) throws Exception {
        return start(env, args).await(120);
    }

    private static Child start(Map<String, String> env, String... args) throws IOException {
        String[] cmd = new String[args.length + 1];
        cmd[0] = launcher.toString();
        System.arraycopy(args, 0, cmd, 1, args.length);
        return Cli.start(dir.resolve("logs"), env, cmd);
    }

    // 12. the launcher through symbolic links -----------------------------------------------------------------------

    @Test
    void theLauncherWorksThroughAChainOfSymbolicLinks() throws Exception {
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Path other = Files.createDirectories(dir.resolve("other"));
        Path absolute = Files.createSymbolicLink(bin.resolve("swiattn"), launcher);
        Path relative = Files.createSymbolicLink(other.resolve("sw"), Path.of("../bin/swiattn"));
        for (Path link : List.of(absolute, relative)) {
            Run r = Cli.start(dir.resolve("logs"), Map.of(), link.toString(), "--version").await(60);
            assertThat(r.rc()).as(r.err()).isZero();
            assertThat(r.out()).startsWith("swiattn (spec ");
            assertThat(r.err()).isEmpty();
        }
    }

    // 3. a JVM that cannot start, no java, an old java: exit 2 and one line -----------------------------------------

    @Test
    void aJvmThatCannotStartGivesOneLineAndExit2() throws Exception {
        launch(Map.of("SWIATTN_JAVA_OPTS", "-XX:BogusOption"), "--version")
                .failsWithOneLine("the Java VM does not start with SWIATTN_JAVA_OPTS='-XX:BogusOption'",
                        "BogusOption");
        // no java: a PATH with the tools the script needs, and no java
        Path bin = Files.createDirectories(dir.resolve("nojava"));
        for (String tool : List.of("bash", "env", "dirname", "readlink", "sed", "grep", "head")) {
            for (String d : List.of("/usr/bin", "/bin")) {
                if (Files.isExecutable(Path.of(d, tool)) && !Files.exists(bin.resolve(tool))) {
                    Files.createSymbolicLink(bin.resolve(tool), Path.of(d, tool));
                }
            }
        }
        Cli.start(dir.resolve("logs"), Map.of("PATH", bin.toString(), "JAVA_HOME", ""), bin.resolve("bash")
                .toString(), launcher.toString(), "--version").await(30).failsWithOneLine("java not found");
        // an old java (its release file says 11)
        Path old = Files.createDirectories(dir.resolve("jdk11/bin"));
        Files.writeString(old.getParent().resolve("release"), "JAVA_VERSION=\"11.0.2\"\n");
        Path fake = Files.writeString(old.resolve("java"), "#!/bin/sh\nexit 1\n");
        fake.toFile().setExecutable(true);
        launch(Map.of("JAVA_HOME", old.getParent().toString()), "--version")
                .failsWithOneLine("is Java 11; swiattn needs Java 17 or later");
    }

    // 3. out of memory: one line, exit 2, nothing written --------------------------------------------------------

    @Test
    void outOfMemoryIsOneLineAndExit2() throws Exception {
        Path out = dir.resolve("oom/x.safetensors");
        launch(Map.of("SWIATTN_JAVA_OPTS", "-Xmx16m"), "golden", "export", "--golden",
                Cli.repo().resolve("golden").toString(), "--case", "31", "--full", "--out", out.toString())
                .failsWithOneLine("out of memory (the Java heap is limited to", "SWIATTN_JAVA_OPTS=-Xmx6g");
        assertThat(Files.exists(out)).isFalse();
    }

    // 7. SIGTERM in the middle of a write: one line, exit 2, no temporary file left -------------------------------

    @Test
    void sigtermDuringAWriteLeavesNoTemporaryFile() throws Exception {
        Path outDir = Files.createDirectories(dir.resolve("term"));
        Path out = outDir.resolve("x.safetensors");
        Child c = start(Map.of("SWIATTN_JAVA_OPTS", "-Dswiattn.test.writePauseMillis=60000"), "golden", "export",
                "--golden", golden.toString(), "--case", "7", "--full", "--out", out.toString());
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (temporaries(outDir).isEmpty()) {
            assertThat(c.process().isAlive()).as("the export ended before writing").isTrue();
            assertThat(System.nanoTime()).as("no temporary file appeared").isLessThan(deadline);
            Thread.sleep(20);
        }
        assertThat(Files.size(temporaries(outDir).get(0))).isPositive();
        c.process().destroy();   // SIGTERM
        Run r = c.await(30).failsWithOneLine("interrupted by SIGTERM");
        assertThat(r.err()).doesNotContain(SafeFiles.TEMP_SUFFIX);
        assertThat(temporaries(outDir)).isEmpty();
        assertThat(Files.exists(out)).isFalse();
    }

    private static List<Path> temporaries(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.filter(SafeFiles::isTemporary).toList();
        }
    }

    // 4. two processes generating into one folder keep every manifest entry ---------------------------------------

    @Test
    void concurrentGenerateProcessesKeepEveryEntry() throws Exception {
        Path g = dir.resolve("shared");
        List<Child> children = new ArrayList<>();
        for (int part = 0; part < 2; part++) {
            List<String> args = new ArrayList<>(List.of("golden", "generate", "--out", g.toString()));
            for (int id = 1 + part; id <= 20; id += 2) {
                args.add("--case");
                args.add(Integer.toString(id));
            }
            children.add(start(Map.of(), args.toArray(String[]::new)));
        }
        for (Child c : children) {
            Run r = c.await(120);
            assertThat(r.rc()).as(r.err()).isZero();
        }
        Manifest m = Manifest.read(g);
        assertThat(m.cases()).extracting(Manifest.Entry::tcId).containsExactly(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                12, 13, 14, 15, 16, 17, 18, 19, 20);
        for (Manifest.Entry e : m.cases()) {
            assertThat(Manifest.sha256(g.resolve(e.file()))).as(e.name()).isEqualTo(e.sha256());
        }
        assertThat(temporaries(g)).isEmpty();
        assertThat(temporaries(g.resolve("v1"))).isEmpty();
    }
}
