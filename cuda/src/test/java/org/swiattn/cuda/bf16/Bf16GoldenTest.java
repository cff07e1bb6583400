package org.swiattn.cuda.bf16;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.swiattn.cuda.CudaPresent;
import org.swiattn.golden.CandidateChecker;
import org.swiattn.golden.CaseData;
import org.swiattn.golden.CaseInputs;
import org.swiattn.golden.CaseSpec;
import org.swiattn.golden.Dtype;
import org.swiattn.golden.GoldenGenerator;
import org.swiattn.golden.Manifest;
import org.swiattn.golden.Progress;
import org.swiattn.golden.SafeTensorsFile;
import org.swiattn.golden.SafeTensorsWriter;
import org.swiattn.golden.Suites;
import org.swiattn.golden.TensorCheck;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.BackwardResult;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.Shape;

/**
 * The golden cases against the bf16 implementation through the {@code swiattn check} logic ({@link CandidateChecker},
 * low-precision policy: each tensor within 2 x the case's stored naive bf16 error + 1e-3). Every case with
 * {@code D <= 128} runs (forward, and backward where the case has gradients); cases with {@code D > 128} are listed
 * as skipped. SAMPLED cases (the 32K self-attention cases of suite 1, the chunk, packed and routed production-shape
 * cases of suite 2) run as in {@code CudaGoldenTest}: the whole tensors on the GPU, the loss restricted to the golden
 * rows as the generator's, from which the checker takes the golden rows and key rows; each golden file is opened
 * (and hashed) once, for its rows and the check. {@code -Dswiattn.golden.part=i/n} runs the cases whose index in the
 * manifest is i modulo n (parallel JVMs share the 32K cases' CPU work: inputs, results and candidate files of about
 * 1 GiB per tensor). Golden folder: {@code -Dswiattn.golden=DIR}, else {@code golden/} (or
 * {@code ../golden/}) when it holds a manifest, else the {@code small} suite is generated into a temporary folder
 * first (the committed suite minus the 4K and 32K cases). Prints one verdict line per case and the per-tensor tables.
 */
class Bf16GoldenTest {

    /**
     * A candidate file: precision bf16, the case name, O/dQ/dK/dV as BF16 (what the kernels store), LSE and
     * dL/da as F32. g may be null (forward only).
     */
    static void writeCandidate(Path file, CaseSpec c, ForwardResult f, BackwardResult g) throws IOException {
        Shape sh = c.shape();
        long b = sh.batch(), s = sh.seqLen(), sk = sh.kvSeqLen(), hq = sh.qHeads(), hkv = sh.kvHeads();
        long d = sh.headDim();
        SafeTensorsWriter w = new SafeTensorsWriter().metadata("precision", "bf16").metadata("case", c.name())
                .addDoubles("o", Dtype.BF16, new long[] {b, s, hq, d}, f.o())
                .addDoubles("lse", Dtype.F32, new long[] {b, s, hq}, f.lse());
        if (g != null) {
            w.addDoubles("dq", Dtype.BF16, new long[] {b, s, hq, d}, g.dq())
                    .addDoubles("dk", Dtype.BF16, new long[] {b, sk, hkv, d}, g.dk())
                    .addDoubles("dv", Dtype.BF16, new long[] {b, sk, hkv, d}, g.dv())
                    .addDoubles("d_router_logit", Dtype.F32, new long[] {b, s}, g.dRouterLogit());
        }
        w.write(file);
    }

    @Test
    void candidateFilesCarryTheGoldenNamesShapesAndDtypes(@TempDir Path tmp) throws IOException {
        CaseSpec c = Suites.find("routed_gqa2_s40_w8_d64");
        Shape sh = c.shape();
        double[] o = new double[sh.qSize()];
        double[] lse = new double[sh.lseSize()];
        o[5] = 1.0 + 1.0 / 512;  // rounds to 1.0 in bf16 (ties to even), kept in F32 for LSE
        lse[3] = 1.0 + 1.0 / 512;
        BackwardResult g = new BackwardResult(sh, new double[sh.qSize()], new double[sh.kvSize()],
                new double[sh.kvSize()], new double[sh.rows()]);
        Path file = tmp.resolve("cand.safetensors");
        writeCandidate(file, c, new ForwardResult(sh, o, lse), g);
        SafeTensorsFile f = SafeTensorsFile.open(file);
        assertThat(f.metadata()).containsEntry("precision", "bf16").containsEntry("case", c.name());
        assertThat(f.info("o").dtype()).isEqualTo(Dtype.BF16);
        assertThat(f.info("lse").dtype()).isEqualTo(Dtype.F32);
        assertThat(f.info("dk").shape()).containsExactly(1, 40, 1, 64);
        assertThat(f.info("d_router_logit").shape()).containsExactly(1, 40);
        assertThat(f.readDoubles("o")[5]).isEqualTo(1.0);
        assertThat(f.readDoubles("lse")[3]).isEqualTo(1.0 + 1.0 / 512);
    }

    /**
     * The part of the cases a run takes, {i, n}: the cases whose manifest index is i modulo n; {0, 1} (all) when
     * spec is null.
     *
     * @throws IllegalArgumentException naming swiattn.golden.part unless spec is "i/n" with 0 <= i < n
     */
    static int[] part(String spec) {
        if (spec == null) {
            return new int[] {0, 1};
        }
        String[] f = spec.split("/", -1);
        try {
            int i = Integer.parseInt(f[0].trim());
            int n = Integer.parseInt(f[f.length - 1].trim());
            if (f.length == 2 && n >= 1 && i >= 0 && i < n) {
                return new int[] {i, n};
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("swiattn.golden.part: must be i/n with 0 <= i < n, got '" + spec + "'");
    }

    @Test
    void aPartTakesEveryNthCase() {
        assertThat(part(null)).containsExactly(0, 1);
        assertThat(part("2/3")).containsExactly(2, 3);
        for (String bad : new String[] {"3/3", "-1/2", "1", "a/2", "1/0", "1/2/3", ""}) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> part(bad))
                    .hasMessageContaining("swiattn.golden.part").hasMessageContaining("'" + bad + "'");
        }
    }

    /** The golden folder to check: the committed one when it has a manifest, else a generated small suite. */
    static Path goldenDir(Path tmp) throws IOException {
        String prop = System.getProperty("swiattn.golden");
        for (String candidate : prop != null ? new String[] {prop} : new String[] {"golden", "../golden"}) {
            Path p = Path.of(candidate);
            if (Files.isRegularFile(p.resolve(Manifest.FILE))) {
                System.out.println("golden: committed cases in " + p.toAbsolutePath());
                return p;
            }
        }
        Path dir = tmp.resolve("golden-small");
        Files.createDirectories(dir);
        long t0 = System.nanoTime();
        List<CaseSpec> cases = Suites.suite("small");
        GoldenGenerator gen = new GoldenGenerator(true, Progress.NONE);
        List<Manifest.Entry> entries = cases.parallelStream().map(c -> {
            try {
                CaseData data = gen.compute(c);
                Path file = dir.resolve(c.fileName());
                data.write(file);
                return Manifest.entry(c, data, file);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }).toList();
        Manifest m = Manifest.empty();
        for (Manifest.Entry e : entries) {
            m = m.with(e);
        }
        m.write(dir);
        System.out.printf(Locale.ROOT, "golden: no committed manifest; generated the small suite (%d cases) in %.1f s%n",
                cases.size(), (System.nanoTime() - t0) / 1e9);
        return dir;
    }

    /** On a GPU. */
    @Nested
    @ExtendWith(CudaPresent.class)
    class OnGpu {
        @Test
        void goldenCasesPassUnderTheLowPrecisionPolicy(@TempDir Path tmp) throws IOException {
            Path dir = goldenDir(tmp);
            CandidateChecker checker = new CandidateChecker(dir);
            Manifest manifest = Manifest.read(dir);
            Bf16Attention gpu = Bf16Attention.create();
            List<String> verdicts = new ArrayList<>();
            List<String> failures = new ArrayList<>();
            List<String> tables = new ArrayList<>();
            int checked = 0;
            int sampled = 0;
            int sampledCases = 0;
            int[] part = part(System.getProperty("swiattn.golden.part"));
            int index = 0;
            for (Manifest.Entry e : manifest.cases()) {
                if (index++ % part[1] != part[0]) {
                    continue;
                }
                CaseSpec c = Suites.find(e.name());
                String head = String.format(Locale.ROOT, "%3d %-36s", c.tcId(), c.name());
                if (c.shape().headDim() > 128) {
                    verdicts.add(head + " SKIPPED (D = " + c.shape().headDim() + " > 128: not taken by the bf16 kernels)");
                    continue;
                }
                sampledCases += c.whole() ? 0 : 1;
                long t0 = System.nanoTime();
                SafeTensorsFile gold = Manifest.openVerified(dir, e);
                AttentionInputs in = CaseInputs.inputs(c);
                ForwardResult f = gpu.forward(in);
                int[] lossRows = c.whole() ? null : gold.readIndices("rows", c.shape().rows());
                BackwardResult g = c.backward() ? gpu.backward(in, CaseInputs.dOut(c, lossRows)) : null;
                Path cand = tmp.resolve(c.name() + ".bf16.safetensors");
                writeCandidate(cand, c, f, g);
                CandidateChecker.Report rep = checker.check(e, gold, cand, false);
                Files.delete(cand);
                checked++;
                sampled += c.whole() ? 0 : 1;
                StringBuilder worst = new StringBuilder();
                for (TensorCheck t : rep.checks()) {
                    worst.append(String.format(Locale.ROOT, " %s %.2e/%.2e", t.tensor(), t.relErr(), t.bound()));
                }
                verdicts.add(head + (rep.pass() ? " PASS" : " FAIL") + String.format(Locale.ROOT, " (%s, %.1f s)",
                        c.whole() ? "whole" : "sampled", (System.nanoTime() - t0) / 1e9) + worst);
                tables.add(rep.caseLabel() + "\n" + rep.table());
                if (!rep.pass()) {
                    failures.add(rep.caseLabel());
                }
            }
            System.out.println("golden cases vs bf16 (" + gpu.name() + "), swiattn check logic, err/bound per tensor:");
            verdicts.forEach(System.out::println);
            System.out.printf("golden: %d checked (%d sampled), %d failed (part %d/%d of the cases)%n", checked,
                    sampled, failures.size(), part[0], part[1]);
            tables.forEach(System.out::println);
            assertThat(failures).isEmpty();
            assertThat(checked).isGreaterThanOrEqualTo(20 / part[1]);
            assertThat(sampled).as("sampled cases checked").isEqualTo(sampledCases);
        }
    }
}
