package org.swiattn.golden;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.swiattn.reference.NaiveAttention;
import org.swiattn.reference.ReferenceAttention;
import org.swiattn.reference.TermMagnitudes;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.BackwardResult;
import org.swiattn.spec.ErrorMeasures;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.Precision;
import org.swiattn.spec.Shape;

/**
 * The checker end to end on a small golden folder: a WHOLE case and a SAMPLED case (the 32K layout at S = 64).
 * Candidates come from the reference module's whole implementations, so the sampled path (rows, LSE of every row
 * for one head, gradients of the row-restricted loss) is checked against the plain whole backward too.
 */
class CandidateCheckerTest {
    @TempDir
    static Path dir;

    static final CaseSpec WHOLE = new CaseSpec(901, "t_whole", CaseSpec.Kind.WHOLE, new Shape(1, 40, 4, 2, 8), 8,
            Double.NaN, Estimator.STRAIGHT_THROUGH, CaseSpec.RouteKind.RANDOM, 0.5, 7, 1, 1, 1, 1, true, -1,
            List.of("Test"), "whole test case");
    static final CaseSpec SAMPLED = new CaseSpec(902, "t_sampled", CaseSpec.Kind.SAMPLED,
            new Shape(1, 64, 4, 2, 8), 8, Double.NaN, Estimator.SELECTED_BRANCH, CaseSpec.RouteKind.RANDOM, 0.25, 8,
            1, 1, 1, 1, true, 1, List.of("Test"), "sampled test case");
    /** Suite 2, sampled: two chunks of 16 queries at offset 48 of 64 keys (key_rows differ from rows). */
    static final CaseSpec CHUNK = new CaseSpec(903, "t_chunk", CaseSpec.Kind.SAMPLED, new Shape(2, 16, 4, 2, 8, 64), 8,
            Double.NaN, Estimator.SOFT, CaseSpec.RouteKind.RANDOM, 0.5, 9, 1, 1, 1, 1, true, 1, List.of("Test"),
            "sampled chunk", 2, CaseSegments.BOTTOM_RIGHT);
    /** Suite 2, whole: a padded cache of 12 slots, lengths 2, 5, 12, NaN in the unused slots. */
    static final CaseSpec CACHE = new CaseSpec(904, "t_cache", CaseSpec.Kind.WHOLE, new Shape(3, 2, 4, 2, 8, 12), 4,
            Double.NaN, Estimator.STRAIGHT_THROUGH, CaseSpec.RouteKind.RANDOM, 0.5, 10, 1, 1, 1, 1, true, -1,
            List.of("Test"), "kv cache", 2, CaseSegments.kvCache(2, 5, 12).withUnusedNaN());

    static Path golden;
    static CandidateChecker checker;

    @BeforeAll
    static void writeGolden() throws IOException {
        golden = dir.resolve("golden");
        Manifest m = Manifest.empty();
        GoldenGenerator gen = new GoldenGenerator(true, Progress.NONE);
        for (CaseSpec c : List.of(WHOLE, SAMPLED, CHUNK, CACHE)) {
            CaseData d = gen.compute(c);
            Path f = golden.resolve(c.fileName());
            d.write(f);
            m = m.with(Manifest.entry(c, d, f));
        }
        m.write(golden);
        checker = new CandidateChecker(golden, List.of(WHOLE, SAMPLED, CHUNK, CACHE));
    }

    private static Path candidate(String file, String precision, Map<String, double[]> tensors,
                                  Map<String, long[]> shapes) throws IOException {
        SafeTensorsWriter w = new SafeTensorsWriter();
        if (precision != null) {
            w.metadata("precision", precision);
        }
        for (var e : tensors.entrySet()) {
            w.addDoubles(e.getKey(), Dtype.F64, shapes.get(e.getKey()), e.getValue());
        }
        Path p = dir.resolve(file);
        w.write(p);
        return p;
    }

    private static Map<String, long[]> shapes(Shape s) {
        return Map.of("o", new long[] {s.batch(), s.seqLen(), s.qHeads(), s.headDim()},
                "lse", new long[] {s.batch(), s.seqLen(), s.qHeads()},
                "dq", new long[] {s.batch(), s.seqLen(), s.qHeads(), s.headDim()},
                "dk", new long[] {s.batch(), s.kvSeqLen(), s.kvHeads(), s.headDim()},
                "dv", new long[] {s.batch(), s.kvSeqLen(), s.kvHeads(), s.headDim()},
                "d_router_logit", new long[] {s.batch(), s.seqLen()});
    }

    private static Map<String, double[]> outputs(ForwardResult f, BackwardResult b) {
        return Map.of("o", f.o(), "lse", f.lse(), "dq", b.dq(), "dk", b.dk(), "dv", b.dv(), "d_router_logit",
                b.dRouterLogit());
    }

    @Test
    void referenceOutputsPassAndAPerturbationFailsAtItsPosition() throws IOException {
        AttentionInputs in = CaseInputs.inputs(WHOLE);
        double[] dO = CaseInputs.dOut(WHOLE, null);
        ForwardResult f = new ReferenceAttention().forward(in);
        BackwardResult b = new ReferenceAttention().backward(in, dO);
        CandidateChecker.Report ok = checker.check("t_whole", candidate("ok.safetensors", "fp64", outputs(f, b),
                shapes(WHOLE.shape())), false);
        assertThat(ok.pass()).isTrue();
        assertThat(ok.checks()).extracting(TensorCheck::tensor)
                .containsExactly("o", "lse", "dq", "dk", "dv", "d_router_logit");
        double[] o = f.o().clone();
        int at = WHOLE.shape().qOffset(0, 17, 3) + 5;
        o[at] += 1e-9;
        CandidateChecker.Report bad = checker.check("901", candidate("bad.safetensors", "fp64",
                Map.of("o", o, "lse", f.lse()), shapes(WHOLE.shape())), true);
        assertThat(bad.pass()).isFalse();
        assertThat(bad.checks().get(0).worst()).isEqualTo("b=0 i=17 h=3 d=5");
        assertThat(bad.checks().get(0).maxAbs()).isBetween(0.9e-9, 1.1e-9);
        assertThat(bad.checks().get(1).pass()).isTrue();
        assertThat(bad.table()).contains("FAIL").contains("PASS");
    }

    private static double norm(double[] x) {
        return ErrorMeasures.normOfDifference(x, null);
    }

    /** The reference outputs with one element of one tensor moved by delta. */
    private static Map<String, double[]> movedBy(ForwardResult f, BackwardResult b, String tensor, double delta) {
        Map<String, double[]> out = new java.util.HashMap<>(outputs(f, b));
        double[] x = out.get(tensor).clone();
        x[x.length / 2] += delta;
        out.put(tensor, x);
        return out;
    }

    /**
     * SPEC.md section 10 measures errors against max(||ref||, ||T||): the STE router gradient of the WHOLE case
     * cancels (sum over heads and d of dO (oF - oW)), so an error between bound * ||ref|| and bound * ||T|| fails by
     * ||ref|| alone and passes by the section's denominator, with a note saying so; twice bound * ||T|| fails by
     * both. dK has no row-local term sizes: the same kind of error there still fails.
     */
    @Test
    void aCancelledTensorIsJudgedByItsTermSizes() throws IOException {
        AttentionInputs in = CaseInputs.inputs(WHOLE);
        double[] dO = CaseInputs.dOut(WHOLE, null);
        ForwardResult f = new ReferenceAttention().forward(in);
        BackwardResult b = new ReferenceAttention().backward(in, dO);
        TermMagnitudes t = TermMagnitudes.of(in, dO);
        double refNorm = norm(b.dRouterLogit());
        double termNorm = norm(t.dRouterLogit());
        assertThat(termNorm).as("the case's router gradient cancels").isGreaterThan(4 * refNorm);
        CandidateChecker.Report exact = checker.check("t_whole", candidate("exact.safetensors", "fp64",
                outputs(f, b), shapes(WHOLE.shape())), false);
        double bound = exact.checks().get(5).bound();
        assertThat(exact.checks().get(5).tensor()).isEqualTo("d_router_logit");

        double between = bound * Math.sqrt(refNorm * termNorm);
        CandidateChecker.Report mid = checker.check("t_whole", candidate("mid.safetensors", "fp64",
                movedBy(f, b, "d_router_logit", between), shapes(WHOLE.shape())), false);
        TensorCheck da = mid.checks().get(5);
        assertThat(da.pass()).isTrue();
        assertThat(da.relErr()).isCloseTo(between / termNorm, org.assertj.core.data.Percentage.withPercentage(0.1));
        assertThat(da.note()).contains("||T||").contains(String.format(java.util.Locale.ROOT, "%.3e", termNorm));
        assertThat(mid.pass()).isTrue();

        CandidateChecker.Report far = checker.check("t_whole", candidate("far.safetensors", "fp64",
                movedBy(f, b, "d_router_logit", 2 * bound * termNorm), shapes(WHOLE.shape())), false);
        assertThat(far.checks().get(5).pass()).isFalse();
        assertThat(far.checks().get(5).note()).contains("||T||");

        double dkBetween = bound * Math.sqrt(norm(b.dk()) * norm(t.dk()));
        assertThat(norm(t.dk())).isGreaterThan(norm(b.dk()));
        CandidateChecker.Report dk = checker.check("t_whole", candidate("dk.safetensors", "fp64",
                movedBy(f, b, "dk", dkBetween), shapes(WHOLE.shape())), false);
        assertThat(dk.checks().get(3).tensor()).isEqualTo("dk");
        assertThat(dk.checks().get(3).pass()).as("dK keeps ||ref||").isFalse();
    }

    /**
     * On a low-precision candidate the naive error of the golden file (measured against ||ref||) is carried to the
     * same denominator: the verdict is section 10's, e_T <= 2 e_naive,T + atol with both errors over ||T||, restated
     * here from the golden file's numbers.
     */
    @Test
    void theNaiveErrorMovesToTheSameDenominator() throws IOException {
        AttentionInputs in = CaseInputs.inputs(WHOLE);
        double[] dO = CaseInputs.dOut(WHOLE, null);
        ForwardResult f = new ReferenceAttention().forward(in);
        BackwardResult b = new ReferenceAttention().backward(in, dO);
        double refNorm = norm(b.dRouterLogit());
        double termNorm = norm(TermMagnitudes.of(in, dO).dRouterLogit());
        SafeTensorsFile gold = SafeTensorsFile.open(golden.resolve(WHOLE.fileName()));
        double naive = gold.requireDouble("naive_error.bf16.d_router_logit");
        double m = gold.requireDouble("score_magnitude");
        int checked = 0;
        for (double factor : new double[] {1.5, 3, 6, 12}) {
            double byRef = 2 * naive + 1e-3 + 8 * 0x1p-24 * m;   // the ||ref|| bound of section 10
            double delta = factor * byRef * refNorm;              // fails by ||ref|| alone
            boolean expected = delta / termNorm <= 2 * naive * refNorm / termNorm + 1e-3 + 8 * 0x1p-24 * m;
            CandidateChecker.Report r = checker.check("t_whole", candidate("bf16x" + factor + ".safetensors", "bf16",
                    movedBy(f, b, "d_router_logit", delta), shapes(WHOLE.shape())), false);
            assertThat(r.checks().get(5).pass()).as("factor %s", factor).isEqualTo(expected);
            checked += expected ? 1 : 0;
        }
        assertThat(checked).as("both verdicts occur").isBetween(1, 3);
    }

    @Test
    void naiveLowPrecisionOutputsPassTheirOwnRuleButNotTheFp64One() throws IOException {
        AttentionInputs in = CaseInputs.inputs(WHOLE);
        double[] dO = CaseInputs.dOut(WHOLE, null);
        for (Precision p : List.of(Precision.FP32, Precision.BF16)) {
            NaiveAttention na = new NaiveAttention(p);
            Map<String, double[]> out = outputs(na.forward(in), na.backward(in, dO));
            String tag = GoldenGenerator.tag(p);
            assertThat(checker.check("t_whole", candidate(tag + ".safetensors", tag, out, shapes(WHOLE.shape())),
                    false).pass()).as(tag).isTrue();
            assertThat(checker.check("t_whole", candidate(tag + "64.safetensors", "fp64", out,
                    shapes(WHOLE.shape())), false).pass()).as(tag + " claimed as fp64").isFalse();
        }
    }

    @Test
    void sampledCaseAgreesWithTheWholeReferenceOnTheRowRestrictedLoss() throws IOException {
        AttentionInputs in = CaseInputs.inputs(SAMPLED);
        SafeTensorsFile g = SafeTensorsFile.open(golden.resolve(SAMPLED.fileName()));
        long[] rowsL = g.readLongs("rows");
        int[] rows = java.util.Arrays.stream(rowsL).mapToInt(x -> (int) x).toArray();
        assertThat(rows).contains(0, 1, 2, 6, 7, 8, 9, 56, 61, 62, 63);
        double[] dO = CaseInputs.dOut(SAMPLED, rows);
        ForwardResult f = new ReferenceAttention().forward(in);
        BackwardResult b = new ReferenceAttention().backward(in, dO);
        // whole tensors: the checker takes the golden rows and the LSE head
        CandidateChecker.Report whole = checker.check("t_sampled", candidate("s_whole.safetensors", "fp64",
                outputs(f, b), shapes(SAMPLED.shape())), false);
        assertThat(whole.checks()).extracting(TensorCheck::tensor).containsExactly("o_rows", "lse_rows", "lse_all",
                "dq_rows", "dk_rows", "dv_rows", "d_router_logit_rows");
        assertThat(whole.checks()).allSatisfy(c -> assertThat(c.relErr()).as(c.tensor()).isLessThan(1e-14));
        assertThat(whole.pass()).isTrue();
        // the LSE of a row outside the sampled rows, head 1, is checked through lse_all
        double[] lse = f.lse().clone();
        lse[SAMPLED.shape().lseOffset(0, 30, 1)] += 1e-6;
        CandidateChecker.Report bad = checker.check("t_sampled", candidate("s_bad.safetensors", "fp64",
                Map.of("o", f.o(), "lse", lse), shapes(SAMPLED.shape())), true);
        assertThat(bad.checks()).extracting(TensorCheck::pass).containsExactly(true, true, false);
        assertThat(bad.checks().get(2).worst()).isEqualTo("b=0 i=30");
    }

    /** Suite 2: dK, dV of a sampled case are judged at key_rows, taken from the whole gradients. */
    @Test
    void suiteTwoSampledCaseJudgesKeyGradientsAtKeyRows() throws IOException {
        AttentionInputs in = CaseInputs.inputs(CHUNK);
        SafeTensorsFile g = SafeTensorsFile.open(golden.resolve(CHUNK.fileName()));
        int[] rows = java.util.Arrays.stream(g.readLongs("rows")).mapToInt(x -> (int) x).toArray();
        int[] keys = java.util.Arrays.stream(g.readLongs("key_rows")).mapToInt(x -> (int) x).toArray();
        assertThat(g.metadata()).containsEntry("Sk", "64").containsEntry("segments", "bottom_right");
        // chunk boundary of batch row 1: its last cached key (47) and first new key (48) are key rows 64+47, 64+48
        assertThat(keys).contains(0, 47, 48, 63, 64 + 47, 64 + 48, 127).isNotEqualTo(rows);
        assertThat(rows).contains(0, 15, 16, 31);
        double[] dO = CaseInputs.dOut(CHUNK, rows);
        ForwardResult f = new ReferenceAttention().forward(in);
        BackwardResult b = new ReferenceAttention().backward(in, dO);
        CandidateChecker.Report whole = checker.check("t_chunk", candidate("c_whole.safetensors", "fp64",
                outputs(f, b), shapes(CHUNK.shape())), false);
        assertThat(whole.checks()).allSatisfy(c -> assertThat(c.relErr()).as(c.tensor()).isLessThan(1e-14));
        double[] dk = b.dk().clone();
        dk[CHUNK.shape().kvOffset(1, 47, 1) + 2] += 1e-6;   // a cached key of batch row 1, sampled
        CandidateChecker.Report bad = checker.check("t_chunk", candidate("c_bad.safetensors", "fp64",
                Map.of("o", f.o(), "lse", f.lse(), "dq", b.dq(), "dk", dk, "dv", b.dv(), "d_router_logit",
                        b.dRouterLogit()), shapes(CHUNK.shape())), false);
        TensorCheck dkCheck = bad.checks().stream().filter(c -> c.tensor().equals("dk_rows")).findFirst().orElseThrow();
        assertThat(dkCheck.pass()).isFalse();
        assertThat(dkCheck.worst()).isEqualTo("i=" + (64 + 47) + " g=1 d=2");
        assertThat(bad.checks()).filteredOn(c -> !c.tensor().equals("dk_rows")).allSatisfy(c ->
                assertThat(c.pass()).as(c.tensor()).isTrue());
    }

    /** A golden file opened by the caller (for its rows) gives the same report as the checker opening it. */
    @Test
    void aGoldenFileOpenedOnceGivesTheSameReport() throws IOException {
        Manifest.Entry e = Manifest.read(golden).find("t_chunk");
        SafeTensorsFile g = Manifest.openVerified(golden, e);
        int[] rows = g.readIndices("rows", CHUNK.shape().rows());
        AttentionInputs in = CaseInputs.inputs(CHUNK);
        ForwardResult f = new ReferenceAttention().forward(in);
        double[] dk = new ReferenceAttention().backward(in, CaseInputs.dOut(CHUNK, rows)).dk();
        BackwardResult b = new ReferenceAttention().backward(in, CaseInputs.dOut(CHUNK, rows));
        dk[CHUNK.shape().kvOffset(1, 47, 1) + 2] += 1e-6;
        Path cand = candidate("c_once.safetensors", "fp64", Map.of("o", f.o(), "lse", f.lse(), "dq", b.dq(), "dk",
                dk, "dv", b.dv(), "d_router_logit", b.dRouterLogit()), shapes(CHUNK.shape()));
        CandidateChecker.Report once = checker.check(e, g, cand, false);
        CandidateChecker.Report own = checker.check("t_chunk", cand, false);
        assertThat(once.caseLabel()).isEqualTo(own.caseLabel());
        assertThat(once.checks()).hasSameSizeAs(own.checks()).isEqualTo(own.checks());
        assertThat(once.pass()).isFalse();
    }

    /** Suite 2: the gradients of unused cache slots are exactly 0, and a candidate that leaves NaN there fails. */
    @Test
    void unusedCacheSlotsMustGetZeroGradients() throws IOException {
        AttentionInputs in = CaseInputs.inputs(CACHE);
        SafeTensorsFile g = SafeTensorsFile.open(golden.resolve(CACHE.fileName()));
        assertThat(g.readLongs("cache_seqlens")).containsExactly(2, 5, 12);
        assertThat(g.metadata()).containsEntry("unused_kv", "nan");
        double[] gdk = g.readDoubles("dk");
        Shape sh = CACHE.shape();
        for (int j = 2; j < 12; j++) {
            for (int e = 0; e < sh.kvHeads() * sh.headDim(); e++) {
                assertThat(gdk[sh.kvOffset(0, j, 0) + e]).isZero();
            }
        }
        double[] dO = CaseInputs.dOut(CACHE, null);
        ForwardResult f = new ReferenceAttention().forward(in);
        BackwardResult b = new ReferenceAttention().backward(in, dO);
        assertThat(checker.check("t_cache", candidate("k_ok.safetensors", "fp64", outputs(f, b), shapes(sh)), false)
                .pass()).isTrue();
        double[] dv = b.dv().clone();
        dv[sh.kvOffset(1, 7, 0)] = Double.NaN;   // an unused slot of batch row 1 (length 5)
        CandidateChecker.Report bad = checker.check("t_cache", candidate("k_nan.safetensors", "fp64",
                Map.of("o", f.o(), "lse", f.lse(), "dq", b.dq(), "dk", b.dk(), "dv", dv, "d_router_logit",
                        b.dRouterLogit()), shapes(sh)), false);
        assertThat(bad.checks()).extracting(TensorCheck::tensor, TensorCheck::pass).contains(
                org.assertj.core.groups.Tuple.tuple("dv", false), org.assertj.core.groups.Tuple.tuple("dk", true));
    }

    @Test
    void badCandidatesAreBadInput() throws IOException {
        AttentionInputs in = CaseInputs.inputs(WHOLE);
        ForwardResult f = new ReferenceAttention().forward(in);
        Map<String, long[]> sh = shapes(WHOLE.shape());
        Path noPrecision = candidate("np.safetensors", null, Map.of("o", f.o(), "lse", f.lse()), sh);
        assertThatThrownBy(() -> checker.check("t_whole", noPrecision, true)).isInstanceOf(BadInputException.class)
                .hasMessageContaining("'precision' must be fp64, fp32 or bf16, got nothing");
        Path fwd = candidate("fwd.safetensors", "fp64", Map.of("o", f.o(), "lse", f.lse()), sh);
        assertThatThrownBy(() -> checker.check("t_whole", fwd, false)).isInstanceOf(BadInputException.class)
                .hasMessageContaining("missing tensor 'dq'").hasMessageContaining("--forward-only");
        Path wrongShape = candidate("shape.safetensors", "fp64", Map.of("o", f.o(), "lse", f.lse()),
                Map.of("o", new long[] {1, 40, 32}, "lse", sh.get("lse")));
        assertThatThrownBy(() -> checker.check("t_whole", wrongShape, true)).isInstanceOf(BadInputException.class)
                .hasMessageContaining("tensor 'o' has shape [1, 40, 32], expected [1, 40, 4, 8]");
        Path ints = dir.resolve("ints.safetensors");
        new SafeTensorsWriter().metadata("precision", "fp64").addLongs("o", Dtype.I64, sh.get("o"),
                new long[f.o().length]).addDoubles("lse", Dtype.F64, sh.get("lse"), f.lse()).write(ints);
        assertThatThrownBy(() -> checker.check("t_whole", ints, true)).isInstanceOf(BadInputException.class)
                .hasMessageContaining("has dtype I64");
        assertThatThrownBy(() -> checker.check("no_such_case", fwd, true)).isInstanceOf(BadInputException.class)
                .hasMessageContaining("unknown case 'no_such_case'");
        java.nio.file.Files.write(dir.resolve("corrupt.safetensors"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9});
        assertThatThrownBy(() -> checker.check("t_whole", dir.resolve("corrupt.safetensors"), true))
                .isInstanceOf(BadInputException.class).hasMessageContaining("exceeds the limit");
    }
}
