package org.swiattn.golden;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.swiattn.spec.ErrorMeasures;
import org.swiattn.spec.Precision;
import org.swiattn.spec.Tolerance;

/**
 * Checks another implementation's outputs (a "candidate" file, same safetensors format) against a golden case under
 * the tolerance policy of {@link Tolerance}.
 *
 * <p>The candidate file:
 * <pre>{@code
 *   __metadata__ "precision"   required: "fp64", "fp32" or "bf16", the arithmetic the candidate computed in
 *                              (selects the rule: fp64 e <= 1e-12 max(1, M); fp32/bf16 e <= 2 e_naive + atol)
 *   __metadata__ "case"        optional: the case name or tcId; must match the case checked
 *   tensors                    the golden output names with the golden shapes, any floating dtype (F64, F32, BF16,
 *                              F16): o, lse (+ dq, dk, dv, d_router_logit when the case has gradients).
 *                              For SAMPLED cases either the row tensors (o_rows, lse_rows, lse_all, dq_rows, ...)
 *                              or the whole tensors (o [B,Sq,Hq,D], lse [B,Sq,Hq], dq, dk, dv [B,Sk,Hkv,D],
 *                              d_router_logit), from which the golden rows (dk, dv: the golden key_rows, suite 2)
 *                              and, for lse_all, the head lse_all_head are taken.
 * }</pre>
 * Bad input (unknown case, corrupt file, missing tensor, wrong shape or dtype, missing precision) throws
 * {@link BadInputException}; a tolerance failure is a result, not an exception.
 */
public final class CandidateChecker {
    private final Path goldenDir;
    private final Manifest manifest;
    private final List<CaseSpec> cases;

    /** @param goldenDir a golden folder (manifest.json and the case files) of the suites ({@link Suites#ALL}) */
    public CandidateChecker(Path goldenDir) {
        this(goldenDir, Suites.ALL);
    }

    /**
     * @param goldenDir a golden folder
     * @param cases     the case definitions its files were generated from (their inputs give the term sizes of
     *                  {@link TermNorms}); a case not among them is judged by ||ref|| alone
     */
    CandidateChecker(Path goldenDir, List<CaseSpec> cases) {
        this.goldenDir = goldenDir;
        this.manifest = Manifest.read(goldenDir);
        this.cases = List.copyOf(cases);
    }

    /** The result of checking one candidate file. */
    public record Report(String caseLabel, Path candidate, Precision precision, List<TensorCheck> checks,
                        List<String> notes) {
        /** Whether every tensor passed. */
        public boolean pass() {
            return checks.stream().allMatch(TensorCheck::pass);
        }

        /** The per-tensor table. */
        public String table() {
            TextTable t = new TextTable("tensor", "dtype", "elements", "max_abs", "rel_err", "worst_at", "bound",
                    "result");
            for (TensorCheck c : checks) {
                t.row(c.tensor(), c.dtype(), c.elements(), c.maxAbs(), c.relErr(), c.worst(), c.bound(), c.pass());
            }
            return t.toString();
        }
    }

    /**
     * Checks one candidate against one case.
     *
     * @param caseId      tcId or name; null to take it from the candidate's "case" metadata or file name
     * @param candidate   the candidate file
     * @param forwardOnly compare the forward tensors only (o, lse)
     */
    public Report check(String caseId, Path candidate, boolean forwardOnly) {
        return check(caseId, candidate, forwardOnly, c -> { });
    }

    /**
     * One tensor as compared: the candidate's values, the golden values and the verdict (what
     * {@link Explanation} breaks down).
     *
     * <pre>{@code
     *   candidate, reference   [N] in the golden layout (row tensors in the order of rows)
     *   shape                  the golden shape;  rows: the golden sampled rows (key_rows for dk, dv in suite 2),
     *                          or null for a WHOLE case
     * }</pre>
     */
    public record Compared(Manifest.Entry entry, String tensor, double[] candidate, double[] reference, long[] shape,
                           int[] rows, TensorCheck check) {
    }

    /**
     * {@link #check(String, Path, boolean)}, handing every compared tensor to a consumer as well.
     *
     * @param compared receives each tensor's values and verdict, in the order of the report
     */
    public Report check(String caseId, Path candidate, boolean forwardOnly, Consumer<Compared> compared) {
        return check(caseId, candidate, forwardOnly, compared, null);
    }

    /**
     * {@link #check(String, Path, boolean)} against a golden file already opened (and verified) by the caller, who
     * read something else from it (e.g. the sampled rows): each golden file is then read once.
     *
     * @param gold the case's golden file, from {@link Manifest#openVerified} of this checker's folder
     */
    public Report check(Manifest.Entry entry, SafeTensorsFile gold, Path candidate, boolean forwardOnly) {
        return check(entry.name(), candidate, forwardOnly, c -> { }, gold);
    }

    private Report check(String caseId, Path candidate, boolean forwardOnly, Consumer<Compared> compared,
                         SafeTensorsFile opened) {
        SafeTensorsFile cand = SafeTensorsFile.open(candidate);
        String declared = cand.metadata().get("case");
        String id = caseId != null ? caseId : declared != null ? declared : stem(candidate);
        Manifest.Entry entry = manifest.find(id);
        if (entry == null) {
            throw new BadInputException("unknown case '" + id + "'" + (caseId == null ? " (from " + candidate
                    + ")" : "") + ": not in " + goldenDir.resolve(Manifest.FILE) + " (cases 1.." + manifest.cases()
                    .size() + ", e.g. " + (manifest.cases().isEmpty() ? "-" : manifest.cases().get(0).name()) + ")");
        }
        if (declared != null && !declared.equals(entry.name()) && !declared.equals(Integer.toString(entry.tcId()))) {
            throw new BadInputException(candidate + ": metadata case '" + declared + "' is not the case checked, "
                    + entry.tcId() + " " + entry.name());
        }
        String ptag = cand.metadata().get("precision");
        Precision precision = ptag == null ? null : GoldenGenerator.precisionOf(ptag);
        if (precision == null) {
            throw new BadInputException(candidate + ": __metadata__ 'precision' must be fp64, fp32 or bf16, got "
                    + (ptag == null ? "nothing" : "'" + ptag + "'"));
        }
        SafeTensorsFile gold = opened != null ? opened : Manifest.openVerified(goldenDir, entry);
        boolean sampled = "sampled".equals(entry.kind());
        int[] rows = sampled ? gold.readIndices("rows", gold.requireLong("B", 1, Integer.MAX_VALUE)
                * gold.requireLong("S", 1, Integer.MAX_VALUE)) : null;
        // suite 2: dK, dV are sampled at their own key rows; suite 1: at the query rows
        int[] keyRows = sampled && gold.has("key_rows") ? gold.readIndices("key_rows", gold.requireLong("B", 1,
                Integer.MAX_VALUE) * gold.requireLong("Sk", 1, Integer.MAX_VALUE)) : rows;
        double m = gold.requireDouble("score_magnitude");
        List<TensorCheck> checks = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        for (String t : outputs(gold, entry)) {
            if (forwardOnly && GoldenGenerator.isGradient(t)) {
                continue;
            }
            double[] ref = gold.readDoubles(t);
            long[] shape = gold.info(t).shape();
            int[] at = t.startsWith("dk") || t.startsWith("dv") ? keyRows : rows;
            Candidate c = candidateValues(cand, gold, t, shape, at);
            double naive = 0;
            if (precision != Precision.FP64) {
                naive = gold.requireDouble("naive_error." + GoldenGenerator.tag(precision) + "." + t);
            }
            double bound = bound(precision, naive, m, c.dtype, t);
            TensorCheck tc = TensorCheck.of(t, c.dtype, c.values, ref, TensorCheck.layout(t, shape, at), bound,
                    c.source);
            if (!tc.pass() && TermNorms.covers(t)) {
                tc = byTermSizes(entry, tc, c, ref, shape, at, precision, naive, m);
            }
            checks.add(tc);
            compared.accept(new Compared(entry, t, c.values, ref, shape, at, tc));
            if (!tc.note().isEmpty()) {
                notes.add(t + " " + tc.note());
            }
        }
        return new Report(entry.tcId() + " " + entry.name(), candidate, precision, checks, notes);
    }

    /**
     * A tensor that fails by ||ref|| judged again by the denominator of SPEC.md section 10, max(||ref||, ||T||),
     * with ||T|| from the case's inputs ({@link TermNorms}). The naive error stored in the golden file was measured
     * against ||ref|| (absolute when ref = 0); it is rescaled to the same denominator, as section 10 asks. A result
     * that cancelled (||T|| much larger than ||ref||) can fail by ||ref|| alone while its error is of the size the
     * rounding of its terms allows; passing by ||ref|| implies passing by this measure, so it is computed only on
     * failure.
     *
     * @param ref the golden values; not modified
     */
    private TensorCheck byTermSizes(Manifest.Entry entry, TensorCheck byRef, Candidate c, double[] ref,
                                    long[] shape, int[] at, Precision precision, double naive, double m) {
        CaseSpec spec = cases.stream().filter(s -> s.tcId() == entry.tcId() && s.name().equals(entry.name()))
                .findFirst().orElse(null);
        if (spec == null || !Double.isFinite(byRef.relErr())) {
            return byRef;   // a case this version does not know, or non-finite values: ||ref|| stands
        }
        double refNorm = ErrorMeasures.normOfDifference(ref, null);
        double termNorm = TermNorms.of(spec, byRef.tensor(), spec.whole() ? null : at);
        double den = Math.max(refNorm, termNorm);
        if (!(den > refNorm)) {
            return byRef;
        }
        double naiveAbs = refNorm > 0 ? naive * refNorm : naive;
        double bound = bound(precision, naiveAbs / den, m, c.dtype, byRef.tensor());
        String note = String.format(Locale.ROOT, "judged by max(||ref||, ||T||) = ||T|| = %.3e (SPEC.md section 10; "
                + "by ||ref|| = %.3e alone: %.3e > %.3e)", termNorm, refNorm, byRef.relErr(), byRef.bound());
        return TensorCheck.of(byRef.tensor(), c.dtype, c.values, ref, termNorm, TensorCheck.layout(byRef.tensor(),
                shape, at), bound, c.source.isEmpty() ? note : c.source + "; " + note);
    }

    /**
     * The bound of a tensor's relative error: the rule of the candidate's precision for that naive error (measured
     * with the same denominator) and score magnitude, plus, for fp32 / bf16, the allowance of a tensor stored more
     * coarsely than the yardstick keeps it.
     */
    private static double bound(Precision precision, double naive, double m, String dtype, String tensor) {
        double bound = Tolerance.bound(precision, naive, m);
        return precision == Precision.FP64 ? bound : Tolerance.withStorage(bound,
                TensorCheck.storageRoundoff(Dtype.parse(dtype)), TensorCheck.yardstickRoundoff(precision, tensor));
    }

    /** The output tensors of a golden file (those whose names the generator lists, present in the file). */
    private static List<String> outputs(SafeTensorsFile gold, Manifest.Entry entry) {
        List<String> out = new ArrayList<>();
        for (String t : List.of("o", "lse", "dq", "dk", "dv", "d_router_logit", "o_rows", "lse_rows", "lse_all",
                "dq_rows", "dk_rows", "dv_rows", "d_router_logit_rows")) {
            if (gold.has(t)) {
                out.add(t);
            }
        }
        if (out.isEmpty()) {
            throw new BadInputException(gold.path() + ": golden file of case " + entry.name() + " has no outputs");
        }
        return out;
    }

    private record Candidate(String dtype, double[] values, String source) {
    }

    /** The candidate's values for golden tensor t, from t itself or (row tensors) from the whole tensor. */
    private static Candidate candidateValues(SafeTensorsFile cand, SafeTensorsFile gold, String t, long[] shape,
                                             int[] rows) {
        if (cand.has(t)) {
            TensorInfo ti = cand.info(t);
            requireFloat(cand, ti);
            if (!Arrays.equals(ti.shape(), shape)) {
                throw new BadInputException(cand.path() + ": tensor '" + t + "' has shape " + ti.shapeString()
                        + ", expected " + Arrays.toString(shape));
            }
            return new Candidate(ti.dtype().name(), cand.readDoubles(t), "");
        }
        String base = t.equals("lse_all") ? "lse" : t.endsWith("_rows") ? t.substring(0, t.length() - 5) : null;
        if (base == null || !cand.has(base)) {
            throw new BadInputException(cand.path() + ": missing tensor '" + t + "'" + (base != null ? " (or the whole '"
                    + base + "')" : "") + "; it has " + cand.tensors().keySet()
                    + (GoldenGenerator.isGradient(t) ? " (use --forward-only to check o and lse only)" : ""));
        }
        TensorInfo ti = cand.info(base);
        requireFloat(cand, ti);
        long b = gold.requireLong("B", 1, Integer.MAX_VALUE);
        long s = gold.requireLong("S", 1, Integer.MAX_VALUE);
        long hq = gold.requireLong("Hq", 1, Integer.MAX_VALUE);
        long hkv = gold.requireLong("Hkv", 1, Integer.MAX_VALUE);
        long d = gold.requireLong("D", 1, Integer.MAX_VALUE);
        long sk = gold.metadata().containsKey("Sk") ? gold.requireLong("Sk", 1, Integer.MAX_VALUE) : s;
        long[] whole = switch (base) {
            case "o", "dq" -> new long[] {b, s, hq, d};
            case "dk", "dv" -> new long[] {b, sk, hkv, d};
            case "lse" -> new long[] {b, s, hq};
            default -> new long[] {b, s};
        };
        if (!Arrays.equals(ti.shape(), whole)) {
            throw new BadInputException(cand.path() + ": tensor '" + base + "' has shape " + ti.shapeString()
                    + ", expected " + Arrays.toString(whole));
        }
        if (t.equals("lse_all")) {
            int head = (int) gold.requireLong("lse_all_head", 0, hq - 1);
            double[] all = cand.readDoubles(base);
            double[] out = new double[(int) (b * s)];
            for (int r = 0; r < out.length; r++) {
                out[r] = all[(int) (r * hq + head)];
            }
            return new Candidate(ti.dtype().name(), out, "taken from '" + base + "' head " + head);
        }
        int width = (int) (whole.length == 2 ? 1 : whole.length == 3 ? whole[2] : whole[2] * whole[3]);
        double[] out = new double[rows.length * width];
        for (int n = 0; n < rows.length; n++) {
            System.arraycopy(cand.readDoubles(base, (long) rows[n] * width, width), 0, out, n * width, width);
        }
        return new Candidate(ti.dtype().name(), out, "taken from '" + base + "' at the golden rows");
    }

    private static void requireFloat(SafeTensorsFile f, TensorInfo t) {
        if (!t.dtype().isFloating()) {
            throw new BadInputException(f.path() + ": tensor '" + t.name() + "' has dtype " + t.dtype()
                    + ", expected F64, F32, BF16 or F16");
        }
    }

    private static String stem(Path p) {
        String n = p.getFileName().toString();
        return n.endsWith(".safetensors") ? n.substring(0, n.length() - ".safetensors".length()) : n;
    }

    /**
     * The candidate files of a folder: every {@code *.safetensors}, sorted by name.
     *
     * @throws BadInputException if the folder is missing or has none
     */
    public static List<Path> candidates(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new BadInputException(dir + ": " + (Files.exists(dir) ? "is " + SafeFiles.kind(dir) + ", not a folder"
                    : "no such folder"));
        }
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> out = s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
            if (out.isEmpty()) {
                throw new BadInputException(dir + ": no *.safetensors candidate files");
            }
            return out;
        } catch (IOException e) {
            throw new BadInputException(dir + ": cannot list: " + e.getMessage());
        }
    }
}
