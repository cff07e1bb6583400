package org.swiattn.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.ThrowingSupplier;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.swiattn.cli.Cli.Run;
import org.swiattn.golden.CaseData;
import org.swiattn.golden.CaseSpec;
import org.swiattn.golden.Dtype;
import org.swiattn.golden.GoldenGenerator;
import org.swiattn.golden.Manifest;
import org.swiattn.golden.Progress;
import org.swiattn.golden.SafeTensorsFile;
import org.swiattn.golden.SafeTensorsWriter;
import org.swiattn.golden.Suites;
import org.swiattn.golden.TensorInfo;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.Shape;

/**
 * The command under hostile and careless input, in this JVM: special files as targets and inputs (FIFOs made in a
 * scratch folder, links to /dev/null and /dev/full: the device nodes themselves are only looked at), hostile
 * manifests and golden files, escape characters, folders of mixed candidates, concurrent writers. Every case must
 * end promptly (a FIFO opened for reading would block: each such run has a time limit), with exit status 0, 1 or
 * 2 and, for 2, one terminal-safe line on stderr. The child-process cases (small heap, SIGTERM, the launcher) are
 * in {@link CliAbuseProcessTest}.
 */
class CliAbuseTest {
    @TempDir
    static Path dir;
    static Path golden;
    static Path good;

    /** A candidate that passes case 24 (fp64, the golden values). */
    @BeforeAll
    static void smokeSuite() {
        golden = dir.resolve("golden");
        Run r = Cli.run("golden", "generate", "--suite", "smoke", "--out", golden.toString());
        assertThat(r.rc()).as(r.err()).isZero();
        good = Cli.candidate(golden, dir.resolve("good.safetensors"), "24", Map.of("precision", "fp64"), Map.of(),
                null);
    }

    private static Run bounded(ThrowingSupplier<Run> run) {
        return assertTimeoutPreemptively(Duration.ofSeconds(30), run, "the command hung");
    }

    private static Path scratch(String name) throws IOException {
        return Files.createDirectories(dir.resolve(name));
    }

    // 1. writing never replaces what is not a regular file --------------------------------------------------------

    @Test
    void exportRefusesSpecialTargetsAndLeavesThemAsTheyWere() throws Exception {
        Path d = scratch("targets");
        Path fifo = Cli.fifo(d.resolve("fifo"));
        Path toNull = Files.createSymbolicLink(d.resolve("null"), Path.of("/dev/null"));
        Path toFull = Files.createSymbolicLink(d.resolve("full"), Path.of("/dev/full"));
        Path dangling = Files.createSymbolicLink(d.resolve("dangling"), d.resolve("absent"));
        String nullType = Cli.type(Path.of("/dev/null"));
        String fullType = Cli.type(Path.of("/dev/full"));
        Object[][] cases = {
            {fifo, "is a FIFO"}, {toNull, "symbolic link to /dev/null, a character device"},
            {toFull, "symbolic link to /dev/full, a character device"}, {d, "is a folder"},
            {Path.of("/"), "the root"}, {dangling, "link to a missing file"},
        };
        for (Object[] c : cases) {
            Path target = (Path) c[0];
            String before = Cli.type(target);
            bounded(() -> Cli.run("golden", "export", "--golden", golden.toString(), "--case", "1", "--out",
                    target.toString())).failsWithOneLine("--out", (String) c[1]);
            assertThat(Cli.type(target)).as("%s after the export", target).isEqualTo(before);
        }
        assertThat(Files.readSymbolicLink(toNull)).isEqualTo(Path.of("/dev/null"));
        assertThat(Cli.type(Path.of("/dev/null"))).isEqualTo(nullType).isEqualTo("char-device");
        assertThat(Cli.type(Path.of("/dev/full"))).isEqualTo(fullType).isEqualTo("char-device");
        try (var s = Files.list(d)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("fifo", "null", "full",
                    "dangling");
        }
        // a file on the way to the target: named, not "FileAlreadyExistsException"
        Path file = Files.writeString(d.resolve("plain"), "x");
        Cli.run("golden", "export", "--golden", golden.toString(), "--case", "1", "--out",
                file.resolve("sub/x.safetensors").toString()).failsWithOneLine(file + " is a regular file, not a folder")
                .terminalSafe();
        assertThat(Files.readString(file)).isEqualTo("x");
    }

    @Test
    void aLinkToARegularFileIsWrittenThroughAndKept() throws Exception {
        Path d = scratch("through");
        Path real = Files.writeString(d.resolve("real.safetensors"), "old");
        Path link = Files.createSymbolicLink(d.resolve("link.safetensors"), Path.of("real.safetensors"));
        Run r = Cli.run("golden", "export", "--golden", golden.toString(), "--case", "7", "--out", link.toString());
        assertThat(r.rc()).as(r.err()).isZero();
        assertThat(Files.isSymbolicLink(link)).isTrue();
        assertThat(SafeTensorsFile.open(real).metadata()).containsEntry("name", Suites.find("7").name());
    }

    @Test
    void generateRefusesAnOutFolderThatIsNotOne() throws Exception {
        Path d = scratch("genout");
        Path fifo = Cli.fifo(d.resolve("fifo"));
        Path file = Files.writeString(d.resolve("file"), "x");
        bounded(() -> Cli.run("golden", "generate", "--case", "1", "--out", fifo.toString()))
                .failsWithOneLine("--out", "is a FIFO", "not a folder");
        Cli.run("golden", "generate", "--case", "1", "--out", file.toString()).failsWithOneLine("not a folder");
        assertThat(Cli.type(fifo)).isEqualTo("fifo");
        Path manifestFifo = Files.createDirectories(d.resolve("g"));
        Cli.fifo(manifestFifo.resolve("manifest.json"));
        bounded(() -> Cli.run("golden", "generate", "--case", "1", "--out", manifestFifo.toString()))
                .failsWithOneLine("manifest.json", "is a FIFO");
    }

    // 2. a FIFO never hangs a reader -------------------------------------------------------------------------------

    @Test
    void fifosAsCandidateManifestAndCaseFileEndPromptly() throws Exception {
        Path d = scratch("fifos");
        Path cand = Cli.fifo(d.resolve("cand.safetensors"));
        bounded(() -> Cli.run("check", "--golden", golden.toString(), "--case", "24", "--candidate", cand.toString()))
                .failsWithOneLine("cand.safetensors: is a FIFO (named pipe), not a regular file");

        Path g = Cli.copyGolden(golden, d.resolve("g"));
        Path caseFile = g.resolve(Suites.find("24").fileName());
        Files.delete(caseFile);
        Cli.fifo(caseFile);
        bounded(() -> Cli.run("check", "--golden", g.toString(), "--case", "24", "--candidate", good.toString()))
                .failsWithOneLine("is a FIFO");
        bounded(() -> Cli.run("golden", "export", "--golden", g.toString(), "--case", "24", "--out",
                d.resolve("x.safetensors").toString())).failsWithOneLine("is a FIFO");
        Run v = bounded(() -> Cli.run("golden", "verify", "--golden", g.toString(), "--case", "24"));
        assertThat(v.rc()).isEqualTo(1);
        assertThat(v.err()).contains("is a FIFO");

        Path m = Files.createDirectories(d.resolve("m"));
        Cli.fifo(m.resolve("manifest.json"));
        bounded(() -> Cli.run("check", "--golden", m.toString(), "--case", "24", "--candidate", good.toString()))
                .failsWithOneLine("manifest.json: is a FIFO");
    }

    // 5. a golden file that differs from its manifest is never trusted ---------------------------------------------

    @Test
    void aTamperedGoldenFileIsRefusedByCheckAndExportAndFailsVerify() throws Exception {
        Path g = Cli.copyGolden(golden, dir.resolve("tampered"));
        Path f = g.resolve(Suites.find("24").fileName());
        byte[] b = Files.readAllBytes(f);
        b[b.length - 3] ^= 0x40;
        Files.write(f, b);
        Cli.run("check", "--golden", g.toString(), "--case", "24", "--candidate", good.toString())
                .failsWithOneLine("does not match its manifest", "restore it");
        // a candidate copied from the tampered file does not pass either
        Path copied = Cli.candidate(g, dir.resolve("copied.safetensors"), "24", Map.of("precision", "fp64"),
                Map.of(), null);
        Cli.run("check", "--golden", g.toString(), "--case", "24", "--candidate", copied.toString())
                .failsWithOneLine("does not match its manifest");
        Cli.run("golden", "export", "--golden", g.toString(), "--case", "24", "--out",
                dir.resolve("t.safetensors").toString()).failsWithOneLine("does not match its manifest");
        assertThat(Files.exists(dir.resolve("t.safetensors"))).isFalse();
        Run v = Cli.run("golden", "verify", "--golden", g.toString(), "--case", "24");
        assertThat(v.rc()).isEqualTo(1);
        assertThat(v.out()).contains("MISMATCH");
    }

    // 6, 10. hostile manifests: one line naming the entry and the field, no parser internals -----------------------

    @Test
    void hostileManifestsGiveOneLineNamingTheField() throws Exception {
        String ok = Files.readString(golden.resolve("manifest.json"));
        String firstName = "\"name\" : \"" + Suites.find("1").name() + "\"";
        String firstFile = "\"file\" : \"" + Suites.find("1").fileName() + "\"";
        assertThat(ok).contains(firstName, firstFile, "\"tcId\" : 1,");
        Object[][] cases = {
            {ok.replace(firstName + ",", ""), "cases[0] has no 'name'"},
            {ok.replaceFirst("\"cases\" : \\[", "\"cases\" : null, \"x\" : ["), "'cases' must be a list"},
            {ok.replace(firstFile, "\"file\" : \"../../etc/passwd.safetensors\""), "must be a relative path inside"},
            {ok.replace(firstFile, "\"file\" : \"/tmp/x.safetensors\""), "must be a relative path inside"},
            {ok.replace("\"tcId\" : 1,", "\"tcId\" : \"abc\","), "cases[0].tcId must be an integer, got '\"abc\"'"},
            {ok.replace(firstName, "\"name\" : \"x\\u001b[2Jy\""), "name must be letters"},
            {ok.substring(0, ok.length() / 2), "not valid JSON"},
            {"[1, 2]", "not a swiattn golden manifest"},
            {ok.replace("\"sha256\" : \"", "\"sha256\" : \"zz"), "sha256 must be 64 lowercase hex digits"},
        };
        for (Object[] c : cases) {
            Path g = Cli.copyGolden(golden, Files.createTempDirectory(dir, "manifest"));
            Files.writeString(g.resolve("manifest.json"), (String) c[0]);
            Run r = Cli.run("check", "--golden", g.toString(), "--case", "24", "--candidate", good.toString())
                    .failsWithOneLine((String) c[1]);
            assertThat(r.err()).doesNotContain("com.fasterxml", "Source:", "`int`", "Manifest$", "\u001b");
            Cli.run("golden", "verify", "--golden", g.toString()).failsWithOneLine((String) c[1]);
        }
        Path big = Files.createTempDirectory(dir, "big");
        try (RandomAccessFile f = new RandomAccessFile(big.resolve("manifest.json").toFile(), "rw")) {
            f.setLength(Manifest.MAX_BYTES + 1);   // sparse: costs no disk
        }
        Cli.run("check", "--golden", big.toString(), "--case", "1", "--candidate", good.toString())
                .failsWithOneLine("more than a manifest may have");
    }

    // 6. sampled golden rows outside the tensor: one line, never row 0 ---------------------------------------------

    static final CaseSpec SAMPLED = new CaseSpec(902, "t_sampled", CaseSpec.Kind.SAMPLED, new Shape(1, 64, 4, 2, 8),
            8, Double.NaN, Estimator.SELECTED_BRANCH, CaseSpec.RouteKind.RANDOM, 0.25, 8, 1, 1, 1, 1, true, 1,
            List.of("Test"), "sampled test case");

    @ParameterizedTest
    @ValueSource(longs = {-1, 64, 40000, 1L << 40})
    void sampledRowsOutsideTheTensorAreRefused(long badRow) throws Exception {
        Path g = Files.createTempDirectory(dir, "rows");
        CaseData data = new GoldenGenerator(false, Progress.NONE).compute(SAMPLED);
        Path f = g.resolve(SAMPLED.fileName());
        data.write(f);
        // rewrite the file with one bad row and make the manifest agree with it (a consistent hostile pair)
        SafeTensorsFile src = SafeTensorsFile.open(f);
        SafeTensorsWriter w = new SafeTensorsWriter().metadata(src.metadata());
        for (TensorInfo t : src.tensors().values()) {
            if (t.dtype().isFloating()) {
                w.addDoubles(t.name(), t.dtype(), t.shape(), src.readDoubles(t.name()));
            } else {
                long[] x = src.readLongs(t.name());
                if (t.name().equals("rows")) {
                    x[x.length - 1] = badRow;
                }
                w.addLongs(t.name(), t.dtype(), t.shape(), x);
            }
        }
        w.write(f);
        Manifest.empty().with(Manifest.entry(SAMPLED, data, f)).write(g);
        Shape s = SAMPLED.shape();
        SafeTensorsWriter cand = new SafeTensorsWriter().metadata("precision", "fp64");
        cand.addDoubles("o", Dtype.F64, new long[] {1, 64, 4, 8}, new double[s.qSize()]);
        cand.addDoubles("lse", Dtype.F64, new long[] {1, 64, 4}, new double[64 * 4]);
        Path c = cand.write(dir.resolve("rows-" + badRow + ".safetensors"));
        Cli.run("check", "--golden", g.toString(), "--case", "t_sampled", "--candidate", c.toString(),
                "--forward-only").failsWithOneLine("tensor 'rows' element", " = " + badRow + " is outside [0, 64)");
    }

    // 8. check --all judges every file ------------------------------------------------------------------------------

    @Test
    void checkAllReportsEveryFileWhateverTheOthersHold() throws Exception {
        Path d = scratch("all");
        Files.copy(good, d.resolve("routed_gqa2_s64_w16_ste.safetensors"));
        Files.writeString(d.resolve("corrupt.safetensors"), "not a safetensors file");
        Cli.candidate(golden, d.resolve("no_such_case.safetensors"), "24", Map.of("precision", "fp64"), Map.of(),
                null);
        Cli.fifo(d.resolve("fifo.safetensors"));
        Files.createDirectories(d.resolve("folder.safetensors"));
        Run r = bounded(() -> Cli.run("check", "--golden", golden.toString(), "--all", d.toString())).terminalSafe();
        assertThat(r.rc()).as(r.out() + r.err()).isEqualTo(2);
        assertThat(r.out()).contains("24 routed_gqa2_s64_w16_ste", "5 candidates: FAIL (0 out of tolerance, 4 not "
                + "checked)").contains("corrupt.safetensors: NOT CHECKED", "fifo.safetensors: NOT CHECKED",
                "no_such_case.safetensors: NOT CHECKED", "folder.safetensors: NOT CHECKED", "unknown case");
        // a tolerance failure outranks files that could not be judged
        Cli.candidate(golden, d.resolve("routed_alt_gqa2_s64_w8.safetensors"), "7", Map.of("precision", "fp64"),
                Map.of(), (t, x) -> x[0] += 1e-3);
        Run f = bounded(() -> Cli.run("check", "--golden", golden.toString(), "--all", d.toString()));
        assertThat(f.rc()).isEqualTo(1);
        assertThat(f.out()).contains("6 candidates: FAIL (1 out of tolerance, 4 not checked)");
    }

    // 10. messages that say what is wrong --------------------------------------------------------------------------

    @Test
    void messagesNameTheArgumentAndTheReason() throws Exception {
        Run dtype = Cli.run("golden", "export", "--golden", golden.toString(), "--case", "1", "--full",
                "--input-dtype", "I64", "--out", dir.resolve("d.safetensors").toString())
                .failsWithOneLine("--input-dtype: must be F64, F32 or BF16, got 'I64'");
        assertThat(dtype.err()).doesNotContain("I16", "BOOL");
        Run usage = Cli.run("check").failsWithOneLine("Missing required argument", "(see `swiattn check --help`)");
        assertThat(usage.err()).doesNotContain("Error:");
        Cli.run("check", "--golden", golden.toString(), "--all", dir.resolve("absent").toString())
                .failsWithOneLine("absent: no such folder");
        Path plain = Files.writeString(dir.resolve("plain-file"), "x");
        Cli.run("check", "--golden", golden.toString(), "--case", "24", "--candidate",
                plain.resolve("x.safetensors").toString()).failsWithOneLine("cannot read: Not a directory");
        // an offset past the data is named as such, not as a gap before another tensor
        String header = "{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[800,808]}}";
        Path off = writeRaw(dir.resolve("offset.safetensors"), header, 16);
        Cli.run("check", "--golden", golden.toString(), "--case", "24", "--candidate", off.toString())
                .failsWithOneLine("tensor 'b' data_offsets [800, 808) run past the end of the data section (16 bytes)");
        // two infinities: an infinite error, a note, never NaN
        Path inf = Cli.candidate(golden, dir.resolve("inf.safetensors"), "24", Map.of("precision", "fp64"),
                Map.of(), (t, x) -> {
                if (t.equals("o")) {
                    x[3] = Double.POSITIVE_INFINITY;
                    x[5] = Double.NEGATIVE_INFINITY;
                }
            });
        Run r = Cli.run("check", "--golden", golden.toString(), "--case", "24", "--candidate", inf.toString());
        assertThat(r.rc()).isEqualTo(1);
        assertThat(r.out()).contains("Infinity", "2 non-finite values (first: Infinity at b=0 i=0 h=0 d=3)")
                .doesNotContain("NaN");
    }

    private static Path writeRaw(Path p, String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        byte[] all = new byte[8 + h.length + dataBytes];
        java.nio.ByteBuffer.wrap(all).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h);
        return Files.write(p, all);
    }

    // 11. escape characters never reach the terminal raw -----------------------------------------------------------

    @Test
    void controlCharactersInNamesAndMetadataArePrintedEscaped() throws Exception {
        Path p = Cli.candidate(golden, dir.resolve("esc-precision.safetensors"), "24",
                Map.of("precision", "\u001b[2J\u001b[31mPASS"), Map.of(), null);
        Run r = Cli.run("check", "--golden", golden.toString(), "--case", "24", "--candidate", p.toString())
                .failsWithOneLine("precision", "\\x1b[2J\\x1b[31mPASS");
        assertThat(r.err()).doesNotContain("\u001b");
        Path c = Cli.candidate(golden, dir.resolve("esc-case.safetensors"), "24",
                Map.of("precision", "fp64", "case", "\u202eSSAP\r\u009b"), Map.of(), null);
        Cli.run("check", "--golden", golden.toString(), "--case", "24", "--candidate", c.toString())
                .failsWithOneLine("\\u202eSSAP\\r\\x9b");
        // a tensor name with an escape, listed in the "missing tensor" message
        SafeTensorsWriter w = new SafeTensorsWriter().metadata("precision", "fp64");
        w.addDoubles("\u001b[31mx", Dtype.F64, new long[] {1}, new double[] {0});
        Path t = w.write(dir.resolve("esc-tensor.safetensors"));
        Cli.run("check", "--golden", golden.toString(), "--case", "24", "--candidate", t.toString())
                .failsWithOneLine("missing tensor 'o'", "\\x1b[31mx");
        // file names with escapes and a newline, in a folder checked with --all
        Path d = scratch("esc-all");
        Files.copy(good, d.resolve("x\u001b[2J\nPASS.safetensors"));   // ASCII: any file-name encoding
        Run all = Cli.run("check", "--golden", golden.toString(), "--all", d.toString()).terminalSafe();
        assertThat(all.rc()).isEqualTo(2);
        assertThat(all.out()).contains("x\\x1b[2J\\nPASS.safetensors").doesNotContain("\nPASS");
    }

    // 13. a bf16 candidate may store its LSE in bf16 ---------------------------------------------------------------

    @Test
    void aBf16LseIsJudgedByWhatBf16StoragePermits() {
        Map<String, String> bf16 = Map.of("precision", "bf16");
        Path stored = Cli.candidate(golden, dir.resolve("bf16-lse.safetensors"), "24", bf16,
                Map.of("lse", Dtype.BF16), null);
        Run r = Cli.run("check", "--golden", golden.toString(), "--case", "24", "--candidate", stored.toString());
        assertThat(r.rc()).as(r.out()).isZero();
        assertThat(r.out()).containsPattern("lse +BF16 .* PASS");
        // the allowance is that of the rounding only: an LSE 1% off still fails in bf16 storage ...
        Path off = Cli.candidate(golden, dir.resolve("bf16-lse-off.safetensors"), "24", bf16,
                Map.of("lse", Dtype.BF16), (t, x) -> scaleIf(t, x, 1.01));
        assertThat(Cli.run("check", "--golden", golden.toString(), "--case", "24", "--candidate", off.toString())
                .rc()).isEqualTo(1);
        // ... and an F32-stored LSE gains nothing: 0.2% off fails
        Path f32 = Cli.candidate(golden, dir.resolve("f32-lse-off.safetensors"), "24", bf16,
                Map.of("lse", Dtype.F32), (t, x) -> scaleIf(t, x, 1.002));
        Run f = Cli.run("check", "--golden", golden.toString(), "--case", "24", "--candidate", f32.toString());
        assertThat(f.rc()).as(f.out()).isEqualTo(1);
        assertThat(f.out()).containsPattern("lse +F32 .* FAIL");
        // fp64 candidates have no storage allowance
        Path fp64 = Cli.candidate(golden, dir.resolve("fp64-bf16-lse.safetensors"), "24",
                Map.of("precision", "fp64"), Map.of("lse", Dtype.BF16), null);
        assertThat(Cli.run("check", "--golden", golden.toString(), "--case", "24", "--candidate", fp64.toString())
                .rc()).isEqualTo(1);
    }

    private static void scaleIf(String t, double[] x, double f) {
        if (t.equals("lse")) {
            for (int n = 0; n < x.length; n++) {
                x[n] *= f;
            }
        }
    }

    // 4. concurrent writers into one folder keep every manifest entry ----------------------------------------------

    @Test
    void concurrentGeneratesInOneProcessKeepEveryEntry() throws Exception {
        Path g = dir.resolve("concurrent");
        List<List<String>> parts = List.of(List.of("1", "3", "5", "7"), List.of("2", "4", "6", "8"),
                List.of("9", "10", "11", "12"));
        ExecutorService pool = Executors.newFixedThreadPool(parts.size());
        try {
            List<Future<Run>> runs = parts.stream().map(ids -> pool.submit(() -> {
                String[] args = new String[3 + 2 * ids.size()];
                args[0] = "golden";
                args[1] = "generate";
                args[2] = "--out=" + g;
                for (int n = 0; n < ids.size(); n++) {
                    args[3 + 2 * n] = "--case";
                    args[4 + 2 * n] = ids.get(n);
                }
                return Cli.run(args);
            })).toList();
            for (Future<Run> f : runs) {
                Run r = f.get();
                assertThat(r.rc()).as(r.err()).isZero();
            }
        } finally {
            pool.shutdownNow();
        }
        Manifest m = Manifest.read(g);
        assertThat(m.cases()).extracting(Manifest.Entry::tcId).containsExactly(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                12);
        for (Manifest.Entry e : m.cases()) {
            assertThat(Manifest.sha256(g.resolve(e.file()))).isEqualTo(e.sha256());
        }
        try (var s = Files.list(g)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("manifest.json",
                    Manifest.LOCK_FILE, "v1");
        }
    }

    // 6, 9, 10. demo and bench check every option before any work ------------------------------------------------

    @Test
    void demoRejectsBadOptionsBeforeTraining() throws Exception {
        Path d = scratch("demo");
        Path fifo = Cli.fifo(d.resolve("fifo"));
        Path withFifo = Files.createDirectories(d.resolve("withfifo"));
        Cli.fifo(withFifo.resolve("results.csv"));
        Path file = Files.writeString(d.resolve("file"), "x");
        String[][] cases = {
            {"--target", "2", "--target: must be a full ratio in [0, 1], got 2.0"},
            {"--p0", "1.5", "--p0: must be in (0.5, 1)", "got 1.5"},
            {"--seq-len", "2147483647", "--seq-len: must be in [12, 4096], got 2147483647"},
            {"--batch", "-1", "--batch: must be in [1, 4096], got -1"},
            {"--lr", "-1", "--lr: must be finite and > 0, got -1.0"},
            {"--cpt-lr", "NaN", "--cpt-lr: must be finite and > 0, got NaN"},
            {"--window", "40", "--seq-len and --window: must be such that the memory is beyond"},
            {"--out", fifo.toString(), "--out " + fifo + ": is a FIFO (named pipe), not a folder"},
            {"--out", file.toString(), "not a folder"},
            {"--out", withFifo.toString(), "results.csv: is a FIFO"},
        };
        for (String[] c : cases) {
            long t0 = System.nanoTime();
            Run r = bounded(() -> c[0].equals("--out") ? Cli.run("demo", "transfer", c[0], c[1])
                    : Cli.run("demo", "transfer", c[0], c[1], "--out", d.resolve("unused").toString()));
            r.failsWithOneLine(java.util.Arrays.copyOfRange(c, 2, c.length));
            assertThat(r.out()).as("nothing ran").isEmpty();
            assertThat((System.nanoTime() - t0) / 1e9).as("checked before any work").isLessThan(5);
        }
        assertThat(Files.exists(d.resolve("unused"))).isFalse();
        assertThat(Cli.type(withFifo.resolve("results.csv"))).isEqualTo("fifo");
    }

    @Test
    void benchRejectsBadOptionsBeforeLookingForADevice() throws Exception {
        Path fifo = Cli.fifo(scratch("bench").resolve("fifo.json"));
        String[][] cases = {
            {"--dtype", "nonsense", "--dtype: must be fp64, fp32 or bf16, got 'nonsense'"},
            {"--routes", "1.5", "--routes: must be full, window or a full fraction in (0, 1), got '1.5'"},
            {"--versions", "V77", "--versions: must be default or one of"},
            {"--backward-versions", "MMA3", "--backward-versions: must be default or one of [V1, V2, V9, V11] or "
                + "[SIMT, MMA, WGMMA] (bf16), got 'MMA3'"},
            {"--kv-heads", "3", "--kv-heads: must be a divisor of --q-heads = 32, got 3"},
            {"--seq", "0", "--seq: must be >= 1, got 0"},
            {"--seq", "2000000000", "B*S*Hq*D fits one buffer"},
            {"--json", fifo.toString(), "--json " + fifo + ": is a FIFO"},
            {"--decode-pieces", "-1", "--decode-pieces: must be >= 0, got -1"},
            {"--decode-versions", "FAST", "--decode-versions"},
            {"--backward-seq", "4096,none", "--backward-seq: must be sequence lengths or none, got 'none'"},
            {"--backward-seq", "0", "--backward-seq: must be >= 1, got 0"},
            {"--bf16-forward", "2", "--bf16-forward: must be default or one of [1, 3"},
        };
        for (String[] c : cases) {
            bounded(() -> Cli.run("bench", c[0], c[1])).failsWithOneLine(c[2]);
        }
        assertThat(Cli.type(fifo)).isEqualTo("fifo");
    }

    @Test
    void backwardSeqNoneTimesNoBackward() {
        assertThat(BenchCommand.parseBackwardSeqs(java.util.List.of("none"))).isEmpty();
        assertThat(BenchCommand.parseBackwardSeqs(java.util.List.of("4096", " 32768"))).containsExactly(4096, 32768);
    }

    // exit codes are documented where the user looks ----------------------------------------------------------------

    @Test
    void helpListsTheExitCodes() {
        for (String[] args : new String[][] {{"--help"}, {"check", "--help"}, {"golden", "export", "--help"},
            {"demo", "transfer", "--help"}, {"bench", "--help"}}) {
            Run r = Cli.run(args);
            assertThat(r.rc()).isZero();
            assertThat(r.out()).as(String.join(" ", args)).contains("Exit status:", "0   success",
                    "1   conformance failure", "2   bad input or environment");
        }
    }
}
