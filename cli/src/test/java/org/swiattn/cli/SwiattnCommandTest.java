package org.swiattn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.swiattn.golden.CaseSpec;
import org.swiattn.golden.Dtype;
import org.swiattn.golden.SafeTensorsFile;
import org.swiattn.golden.SafeTensorsWriter;
import org.swiattn.golden.SplitMix64;
import org.swiattn.golden.Suites;

/** The swiattn command end to end on the smoke suite: exit codes, one-line errors, tables, files. */
class SwiattnCommandTest {
    @TempDir
    static Path dir;
    static Path golden;

    record Run(int rc, String out, String err) {
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int rc = SwiattnCommand.execute(out, err, args);
        return new Run(rc, out.toString(), err.toString());
    }

    @BeforeAll
    static void generateSmokeSuite() {
        golden = dir.resolve("golden");
        Run r = run("golden", "generate", "--suite", "smoke", "--out", golden.toString());
        assertThat(r.rc()).as(r.err()).isZero();
        assertThat(r.out()).contains("routed_mha_s1_w1", "routed_alt_gqa2_s64_w8", "routed_gqa2_s64_w16_ste")
                .contains("3 cases");
    }

    /** A candidate made of the golden outputs of a case, with a precision, optionally with o[0] perturbed. */
    static Path candidate(String caseName, String precision, double perturb) throws IOException {
        CaseSpec c = Suites.find(caseName);
        SafeTensorsFile g = SafeTensorsFile.open(golden.resolve(c.fileName()));
        SafeTensorsWriter w = new SafeTensorsWriter().metadata("precision", precision);
        for (String t : new String[] {"o", "lse", "dq", "dk", "dv", "d_router_logit"}) {
            double[] x = g.readDoubles(t);
            if (t.equals("o")) {
                x[0] += perturb;
            }
            w.addDoubles(t, Dtype.F64, g.info(t).shape(), x);
        }
        Path p = dir.resolve("cand-" + caseName + "-" + precision + "-" + perturb + ".safetensors");
        w.write(p);
        return p;
    }

    /**
     * {@code verify --regenerated}: a case the regeneration reproduced byte for byte is accepted without
     * recomputation; one whose regenerated file differs is recomputed (and a tampered committed file still fails).
     */
    @Test
    void verifyRegeneratedTrustsOnlyByteIdenticalFiles() throws IOException {
        Path fresh = dir.resolve("fresh");
        Run gen = run("golden", "generate", "--suite", "smoke", "--out", fresh.toString());
        assertThat(gen.rc()).as(gen.err()).isZero();
        Run ok = run("golden", "verify", "--golden", golden.toString(), "--suite", "smoke", "--regenerated",
                fresh.toString());
        assertThat(ok.rc()).as(ok.out() + ok.err()).isZero();
        assertThat(ok.out()).contains("3 reproduced byte for byte", "0 recomputed", "PASS");

        Path f = fresh.resolve(Suites.find("7").fileName());
        byte[] b = Files.readAllBytes(f);
        b[b.length - 3] ^= 0x40;   // the regeneration no longer matches: case 7 must be recomputed
        Files.write(f, b);
        Run mixed = run("golden", "verify", "--golden", golden.toString(), "--suite", "smoke", "--regenerated",
                fresh.toString());
        assertThat(mixed.rc()).as(mixed.out() + mixed.err()).isZero();
        assertThat(mixed.out()).contains("2 reproduced byte for byte", "1 recomputed", "PASS");

        Run self = run("golden", "verify", "--golden", golden.toString(), "--regenerated", golden.toString());
        assertThat(self.rc()).isEqualTo(2);
        assertThat(self.err()).contains("--regenerated", "is the golden folder itself");
    }

    @Test
    void verifyPassesOnFreshFilesAndFailsOnATamperedOne() throws IOException {
        Run ok = run("golden", "verify", "--golden", golden.toString(), "--suite", "smoke");
        assertThat(ok.rc()).as(ok.out() + ok.err()).isZero();
        assertThat(ok.out()).contains("3 cases verified").contains("PASS");
        Path copy = dir.resolve("tampered");
        Files.createDirectories(copy.resolve("v1"));
        for (String f : new String[] {"manifest.json", Suites.find("1").fileName(), Suites.find("7").fileName(),
            Suites.find("24").fileName()}) {
            Files.copy(golden.resolve(f), copy.resolve(f));
        }
        Path f = copy.resolve(Suites.find("7").fileName());
        byte[] b = Files.readAllBytes(f);
        b[b.length - 3] ^= 0x40;   // a data byte of the last tensor
        Files.write(f, b);
        Run bad = run("golden", "verify", "--golden", copy.toString(), "--case", "7");
        assertThat(bad.rc()).isEqualTo(1);
        assertThat(bad.out()).contains("MISMATCH").contains("FAIL");
        assertThat(bad.err()).contains("sha256");
    }

    @Test
    void checkPassesFailsAndRejectsBadInput() throws IOException {
        Run pass = run("check", "--golden", golden.toString(), "--case", "24", "--candidate",
                candidate("routed_gqa2_s64_w16_ste", "fp64", 0).toString());
        assertThat(pass.rc()).as(pass.err()).isZero();
        assertThat(pass.out()).contains("max_abs", "rel_err", "worst_at", "bound", "PASS").doesNotContain("FAIL");

        Run fail = run("check", "--golden", golden.toString(), "--case", "routed_gqa2_s64_w16_ste", "--candidate",
                candidate("routed_gqa2_s64_w16_ste", "fp64", 1e-6).toString());
        assertThat(fail.rc()).isEqualTo(1);
        assertThat(fail.out()).contains("FAIL").contains("b=0 i=0 h=0 d=0");

        Run unknown = run("check", "--golden", golden.toString(), "--case", "999", "--candidate",
                candidate("routed_gqa2_s64_w16_ste", "fp64", 0).toString());
        assertThat(unknown.rc()).isEqualTo(2);
        assertThat(unknown.err()).startsWith("swiattn: error: unknown case '999'").hasLineCount(1);

        Run noPrecision = run("check", "--golden", golden.toString(), "--case", "24", "--candidate",
                candidate("routed_gqa2_s64_w16_ste", "fp16", 0).toString());
        assertThat(noPrecision.rc()).isEqualTo(2);
        assertThat(noPrecision.err()).contains("precision").hasLineCount(1);

        Path corrupt = Files.write(dir.resolve("corrupt.safetensors"), new byte[] {16, 0, 0, 0, 0, 0, 0, 0, '{'});
        Run bad = run("check", "--golden", golden.toString(), "--case", "24", "--candidate", corrupt.toString());
        assertThat(bad.rc()).isEqualTo(2);
        assertThat(bad.err()).contains("runs past the end of the file").hasLineCount(1);

        Run usage = run("check", "--case", "24");
        assertThat(usage.rc()).isEqualTo(2);
        assertThat(usage.err()).contains("--candidate").hasLineCount(1);

        Run wrongCase = run("check", "--golden", golden.toString(), "--case", "1", "--candidate",
                candidate("routed_gqa2_s64_w16_ste", "fp64", 0).toString());
        assertThat(wrongCase.rc()).isEqualTo(2);
        assertThat(wrongCase.err()).contains("has shape").hasLineCount(1);
    }

    @Test
    void checkAllJudgesAFolder() throws IOException {
        Path folder = Files.createDirectories(dir.resolve("all"));
        Files.copy(candidate("routed_mha_s1_w1", "fp64", 0), folder.resolve("routed_mha_s1_w1.safetensors"));
        Files.copy(candidate("routed_alt_gqa2_s64_w8", "fp32", 0),
                folder.resolve("routed_alt_gqa2_s64_w8.safetensors"));
        Run ok = run("check", "--golden", golden.toString(), "--all", folder.toString());
        assertThat(ok.rc()).as(ok.out() + ok.err()).isZero();
        assertThat(ok.out()).contains("2 candidates: PASS");
        Files.copy(candidate("routed_gqa2_s64_w16_ste", "fp64", 1e-3),
                folder.resolve("routed_gqa2_s64_w16_ste.safetensors"));
        Run fail = run("check", "--golden", golden.toString(), "--all", folder.toString());
        assertThat(fail.rc()).isEqualTo(1);
        assertThat(fail.out()).contains("FAIL (1 out of tolerance)");
        Run empty = run("check", "--golden", golden.toString(), "--all",
                Files.createDirectories(dir.resolve("empty")).toString());
        assertThat(empty.rc()).isEqualTo(2);
    }

    @Test
    void exportFullAddsTheRegeneratedInputs() throws IOException {
        Path out = dir.resolve("export.safetensors");
        Run r = run("golden", "export", "--golden", golden.toString(), "--case", "7", "--full", "--input-dtype",
                "bf16", "--out", out.toString());
        assertThat(r.rc()).as(r.err()).isZero();
        SafeTensorsFile f = SafeTensorsFile.open(out);
        assertThat(f.tensors().keySet()).contains("o", "lse", "dq", "q", "k", "v", "do");
        assertThat(f.info("q").dtype()).isEqualTo(Dtype.BF16);
        CaseSpec c = Suites.find("7");
        double[] k = new double[c.shape().kvSize()];
        SplitMix64.fill(c.seed(), "k", c.ampK(), k);
        assertThat(f.readDoubles("k")).containsExactly(k);
        assertThat(f.metadata()).containsEntry("inputs_included", "q,k,v,do").containsEntry("name", c.name());
        Run unknown = run("golden", "export", "--golden", golden.toString(), "--case", "nope", "--out",
                dir.resolve("x.safetensors").toString());
        assertThat(unknown.rc()).isEqualTo(2);
        assertThat(Files.exists(dir.resolve("x.safetensors"))).isFalse();
    }

    @Test
    void listAndHelp() {
        Run list = run("golden", "list", "--suite", "32k");
        assertThat(list.rc()).isZero();
        assertThat(list.out()).contains("routed_gqa4_s32768_w4096_f50_sb").contains("Long32K");
        assertThat(run("--help").out()).contains("golden", "check");
        assertThat(run("golden", "generate", "--suite", "nope", "--out", dir.resolve("n").toString()).rc())
                .isEqualTo(2);
    }
}
