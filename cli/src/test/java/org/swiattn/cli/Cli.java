package org.swiattn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.swiattn.golden.CaseSpec;
import org.swiattn.golden.Dtype;
import org.swiattn.golden.SafeTensorsFile;
import org.swiattn.golden.SafeTensorsWriter;
import org.swiattn.golden.Suites;

/**
 * Runs the swiattn command for the tests: in this JVM ({@link #run}), or as a child process through the real
 * launcher script in a scratch home whose {@code cli/target/swiattn.jar} is a manifest-only jar over this test
 * run's class path ({@link #launcher}), so the launcher is tested without a packaged build. Plus the checks every
 * abuse test makes of what was printed.
 */
final class Cli {
    private Cli() {
    }

    /** One run: exit status, stdout, stderr. */
    record Run(int rc, String out, String err) {
        /** The exit status is 2 and stderr is one terminal-safe line "swiattn: error: ..." containing each part. */
        Run failsWithOneLine(String... parts) {
            assertThat(rc).as("exit status; stderr: %s", err).isEqualTo(2);
            assertOneErrorLine(err, parts);
            return this;
        }

        /** Nothing printed holds a raw control character other than newline and tab. */
        Run terminalSafe() {
            assertTerminalSafe(out);
            assertTerminalSafe(err);
            return this;
        }
    }

    static void assertOneErrorLine(String err, String... parts) {
        assertThat(err).as("stderr").startsWith("swiattn: error: ").hasLineCount(1)
                .doesNotContain("\tat ", "Exception in thread", ".swiattn-tmp");
        for (String p : parts) {
            assertThat(err).as("stderr").contains(p);
        }
        assertTerminalSafe(err);
    }

    static void assertTerminalSafe(String s) {
        for (int n = 0; n < s.length(); n++) {
            char c = s.charAt(n);
            assertThat(c < 0x20 && c != '\n' && c != '\t' || c == 0x7f || c == 0x1b || c == 0x9b
                    || c == '\u202e').as("raw control character %04x at %d in: %s", (int) c, n, s).isFalse();
        }
    }

    /** Runs the command in this JVM (as main does, but returning the status). */
    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int rc = SwiattnCommand.execute(out, err, args);
        return new Run(rc, out.toString(), err.toString());
    }

    /** The repository root (the folder of the launcher script). */
    static Path repo() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("swiattn")) && Files.isDirectory(p.resolve("cli"))) {
                return p;
            }
        }
        throw new IllegalStateException("repository root not found above " + Path.of("").toAbsolutePath());
    }

    /**
     * A scratch home for the launcher: a copy of {@code ./swiattn} and a manifest-only {@code
     * cli/target/swiattn.jar} whose Class-Path is this test run's class path.
     *
     * @return the launcher script in the scratch home
     */
    static Path launcher(Path scratch) throws IOException {
        Path home = Files.createDirectories(scratch.resolve("home"));
        Path script = home.resolve("swiattn");
        Files.copy(repo().resolve("swiattn"), script);
        script.toFile().setExecutable(true);
        Path jar = Files.createDirectories(home.resolve("cli/target")).resolve("swiattn.jar");
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        m.getMainAttributes().put(Attributes.Name.MAIN_CLASS, SwiattnCommand.class.getName());
        m.getMainAttributes().put(Attributes.Name.CLASS_PATH, String.join(" ", classPathUrls()));
        try (JarOutputStream j = new JarOutputStream(Files.newOutputStream(jar), m)) {
            j.flush();
        }
        return script;
    }

    /** Every entry of this JVM's class path as a file URL, with the Class-Path of manifest-only jars expanded. */
    private static List<String> classPathUrls() throws IOException {
        Set<String> out = new LinkedHashSet<>();
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            expand(Path.of(e).toAbsolutePath(), out);
        }
        return new ArrayList<>(out);
    }

    private static void expand(Path p, Set<String> out) throws IOException {
        String url = p.toUri().toString();
        if (!out.add(url) || !Files.isRegularFile(p) || !p.toString().endsWith(".jar")) {
            return;
        }
        try (JarFile j = new JarFile(p.toFile())) {
            Manifest m = j.getManifest();
            String cp = m == null ? null : m.getMainAttributes().getValue(Attributes.Name.CLASS_PATH);
            if (cp != null) {
                for (String u : cp.trim().split("\\s+")) {
                    URI uri = p.toUri().resolve(u);
                    expand(Path.of(uri), out);
                }
            }
        }
    }

    /** A started child process with its output collected. */
    record Child(Process process, Path stdout, Path stderr) {
        Run await(long seconds) throws InterruptedException, IOException {
            boolean done = process.waitFor(seconds, TimeUnit.SECONDS);
            if (!done) {
                process.destroyForcibly().waitFor();
                throw new AssertionError("child did not end within " + seconds + " s; stderr: "
                        + Files.readString(stderr));
            }
            return new Run(process.exitValue(), Files.readString(stdout, StandardCharsets.UTF_8),
                    Files.readString(stderr, StandardCharsets.UTF_8));
        }
    }

    /** Starts a command (e.g. the launcher and its arguments) with extra environment variables. */
    static Child start(Path logs, Map<String, String> env, String... command) throws IOException {
        Files.createDirectories(logs);
        Path out = Files.createTempFile(logs, "out", ".txt");
        Path err = Files.createTempFile(logs, "err", ".txt");
        ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().remove("SWIATTN_JAVA_OPTS");
        pb.environment().remove("SWIATTN_DEBUG");
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().putAll(env);
        return new Child(pb.start(), out, err);
    }

    /** mkfifo, in a scratch folder of the test (never a system path). */
    static Path fifo(Path p) throws IOException, InterruptedException {
        Process mk = new ProcessBuilder("mkfifo", p.toString()).inheritIO().start();
        assertThat(mk.waitFor()).as("mkfifo " + p).isZero();
        assertThat(Files.isRegularFile(p) || Files.isDirectory(p)).isFalse();
        return p;
    }

    /** The file type of a path, without following a link ("fifo", "link", "file", "char-device", ...). */
    static String type(Path p) throws IOException {
        if (Files.isSymbolicLink(p)) {
            return "link";
        }
        int mode = (Integer) Files.getAttribute(p, "unix:mode");
        return switch (mode & 0170000) {
            case 0010000 -> "fifo";
            case 0020000 -> "char-device";
            case 0040000 -> "folder";
            case 0100000 -> "file";
            default -> "other";
        };
    }

    /**
     * A candidate made of a golden case's outputs.
     *
     * @param storage dtype of each tensor (default F64)
     * @param change  applied to each tensor's values (may be null)
     */
    static Path candidate(Path golden, Path file, String caseName, Map<String, String> metadata,
                          Map<String, Dtype> storage, java.util.function.BiConsumer<String, double[]> change) {
        CaseSpec c = Suites.find(caseName);
        SafeTensorsFile g = SafeTensorsFile.open(golden.resolve(c.fileName()));
        SafeTensorsWriter w = new SafeTensorsWriter().metadata(metadata);
        for (String t : new String[] {"o", "lse", "dq", "dk", "dv", "d_router_logit"}) {
            double[] x = g.readDoubles(t);
            if (change != null) {
                change.accept(t, x);
            }
            w.addDoubles(t, storage.getOrDefault(t, Dtype.F64), g.info(t).shape(), x);
        }
        try {
            w.write(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }

    /** Copies a golden folder (manifest and every case file) to make a damaged one. */
    static Path copyGolden(Path golden, Path to) throws IOException {
        Files.createDirectories(to.resolve("v1"));
        Files.copy(golden.resolve("manifest.json"), to.resolve("manifest.json"));
        try (var s = Files.list(golden.resolve("v1"))) {
            for (Path p : s.toList()) {
                Files.copy(p, to.resolve("v1").resolve(p.getFileName()));
            }
        }
        return to;
    }
}
