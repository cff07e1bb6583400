package org.swiattn.golden;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.swiattn.spec.ErrorMeasures;

/**
 * Where the error of one compared tensor lies: which heads and which rows are exact, within bound or wrong, and the
 * first wrong row (what {@code swiattn check} prints under a failing tensor).
 *
 * <pre>{@code
 *   budget      bound * max(||ref||, ||T||)  (TensorCheck.budget; ||T|| = 0 unless the check used the term sizes,
 *               bound alone where both are 0): the largest ||x - ref|| the tensor may have
 *   a head h    wrong when ||x_h - ref_h|| > budget / sqrt(heads)     (its equal share of the budget)
 *   a row r     wrong when ||x_r - ref_r|| > budget / sqrt(rows)      (r = (b, i); key rows for dK, dV)
 *   exact       x_h (x_r) equals ref_h (ref_r) bit for bit
 * }</pre>
 * Equal shares make the breakdown consistent with the verdict: a tensor whose every head (row) is within its
 * share passes, so a failing tensor always has a wrong head and a wrong row.
 */
public record Breakdown(String tensor, String headLabel, List<Integer> exactHeads, List<Integer> withinHeads,
                        List<Integer> wrongHeads, int rowCount, List<Integer> wrongRows, List<String> rowNames,
                        List<Boolean> wrongRowFull) {

    /**
     * Breaks a compared tensor down.
     *
     * @param c    the tensor as compared; not modified
     * @param full z of every flat query row [B*S] (annotates query rows), or null; not modified
     * @param seqLen S, for naming whole-case rows (b, i)
     */
    public static Breakdown of(CandidateChecker.Compared c, boolean[] full, int seqLen) {
        TensorCheck.Layout layout = TensorCheck.layout(c.tensor(), c.shape(), c.rows());
        String[] labels = layout.labels();
        long[] sizes = layout.sizes();
        // pass 1: the layout: leading row dimensions (b, i), then an optional head dimension (h or g), then inner
        int rowDims = 0;
        while (rowDims < labels.length && (labels[rowDims].equals("b") || labels[rowDims].equals("i"))) {
            rowDims++;
        }
        boolean hasHeads = rowDims < labels.length && (labels[rowDims].equals("h") || labels[rowDims].equals("g"));
        int nRows = 1;
        for (int d = 0; d < rowDims; d++) {
            nRows *= (int) sizes[d];
        }
        int nHeads = hasHeads ? (int) sizes[rowDims] : 1;
        int inner = c.candidate().length / Math.max(1, nRows * nHeads);
        double refNorm = ErrorMeasures.normOfDifference(c.reference(), null);
        double budget = c.check().budget(refNorm);
        // pass 2: squared errors per head and per row (non-finite values make their head and row wrong)
        double[] headErr = new double[nHeads];
        double[] rowErr = new double[nRows];
        boolean[] headExact = new boolean[nHeads];
        boolean[] rowExact = new boolean[nRows];
        java.util.Arrays.fill(headExact, true);
        java.util.Arrays.fill(rowExact, true);
        for (int r = 0; r < nRows; r++) {
            for (int h = 0; h < nHeads; h++) {
                for (int d = 0; d < inner; d++) {
                    int n = (r * nHeads + h) * inner + d;
                    double e = c.candidate()[n] - c.reference()[n];
                    double sq = Double.isFinite(e) ? e * e : Double.POSITIVE_INFINITY;
                    headErr[h] += sq;
                    rowErr[r] += sq;
                    if (Double.doubleToLongBits(c.candidate()[n]) != Double.doubleToLongBits(c.reference()[n])) {
                        headExact[h] = false;
                        rowExact[r] = false;
                    }
                }
            }
        }
        // pass 3: classify against equal shares of the budget
        List<Integer> exact = new ArrayList<>();
        List<Integer> within = new ArrayList<>();
        List<Integer> wrong = new ArrayList<>();
        double headShare = budget / Math.sqrt(nHeads);
        for (int h = 0; h < nHeads && hasHeads; h++) {
            (headExact[h] ? exact : Math.sqrt(headErr[h]) <= headShare ? within : wrong).add(h);
        }
        List<Integer> wrongRows = new ArrayList<>();
        List<String> names = new ArrayList<>();
        List<Boolean> routeOf = new ArrayList<>();
        double rowShare = budget / Math.sqrt(nRows);
        boolean queryRows = !hasHeads || labels[rowDims].equals("h");
        for (int r = 0; r < nRows; r++) {
            if (!rowExact[r] && !(Math.sqrt(rowErr[r]) <= rowShare)) {
                int flat = c.rows() != null && c.tensor().endsWith("_rows") ? c.rows()[r] : r;
                wrongRows.add(r);
                names.add(c.rows() != null && c.tensor().endsWith("_rows") ? "i=" + flat
                        : rowDims == 2 && sizes[0] > 1 ? "b=" + flat / seqLen + " i=" + flat % seqLen
                        : "i=" + flat % seqLen);
                routeOf.add(queryRows && full != null && flat < full.length ? full[flat] : null);
            }
        }
        return new Breakdown(c.tensor(), hasHeads ? labels[rowDims] : null, exact, within, wrong, nRows, wrongRows,
                names, routeOf);
    }

    /** One or two lines for the report, e.g. "heads h: exact 0 2 5 7; wrong 1 3 4 6". */
    public List<String> lines() {
        List<String> out = new ArrayList<>();
        if (headLabel != null) {
            StringBuilder sb = new StringBuilder("heads " + headLabel + ":");
            int all = exactHeads.size() + withinHeads.size() + wrongHeads.size();
            if (wrongHeads.size() == all) {
                sb.append(" all ").append(all).append(" wrong");
            } else {
                part(sb, "exact", exactHeads, all);
                part(sb, "within bound", withinHeads, all);
                part(sb, "wrong", wrongHeads, all);
            }
            out.add(sb.toString());
        }
        StringBuilder sb = new StringBuilder("rows: ");
        if (wrongRows.isEmpty()) {
            sb.append("none wrong (the error is spread thinly)");
        } else {
            sb.append(wrongRows.size()).append(" of ").append(rowCount).append(" wrong, first ")
                    .append(rowNames.get(0)).append(route(wrongRowFull.get(0)));
            if (wrongRows.size() > 1) {
                sb.append(", last ").append(rowNames.get(rowNames.size() - 1))
                        .append(route(wrongRowFull.get(wrongRowFull.size() - 1)));
            }
            long fullWrong = wrongRowFull.stream().filter(Boolean.TRUE::equals).count();
            long windowWrong = wrongRowFull.stream().filter(Boolean.FALSE::equals).count();
            if (fullWrong + windowWrong > 0) {
                sb.append(String.format(Locale.ROOT, "; wrong rows by route: %d full, %d window", fullWrong,
                        windowWrong));
            }
        }
        out.add(sb.toString());
        return out;
    }

    private static String route(Boolean full) {
        return full == null ? "" : full ? " (full)" : " (window)";
    }

    private static void part(StringBuilder sb, String what, List<Integer> heads, int all) {
        if (heads.isEmpty()) {
            return;
        }
        sb.append(sb.charAt(sb.length() - 1) == ':' ? " " : "; ").append(what);
        if (heads.size() == all) {
            sb.append(" (all ").append(all).append(')');
            return;
        }
        for (int h : heads) {
            sb.append(' ').append(h);
        }
    }
}
