package org.swiattn.properties;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Running totals of the suite, printed once at the end of a test run ({@link SummaryListener}): per implementation
 * the number of properties, tries and checks, failures, the worst error against the arbitrary-precision oracle,
 * the worst error/bound ratio against the reference, and the counts of the generated edge categories.
 *
 * <p>Filled by {@link SummaryHook} (properties, tries) and by the properties themselves (errors, categories).
 * jqwik runs properties one after another, the methods are synchronized anyway.
 */
public final class SuiteSummary {

    /** Totals of one implementation. */
    private static final class Totals {
        int properties;
        long tries;
        long checks;
        final List<String> failed = new ArrayList<>();
        double worstOracleO;
        double worstOracleLse;
        String worstOracleCase = "";
        long oracleComparisons;
        double worstRatio;
        String worstRatioWhat = "";
        final Map<String, Map<String, Long>> categories = new TreeMap<>();
        final Map<String, Double> worst = new TreeMap<>();
    }

    private static final Map<String, Totals> TOTALS = new LinkedHashMap<>();
    private static String current = "unknown";

    private SuiteSummary() {
    }

    private static Totals totals(String impl) {
        return TOTALS.computeIfAbsent(impl, k -> new Totals());
    }

    /** The implementation whose property is running now (errors and categories are booked to it). */
    public static synchronized void setCurrent(String impl) {
        current = impl;
    }

    /** Books one finished property. */
    public static synchronized void propertyFinished(String impl, String property, int tries, int checks,
                                                     boolean passed) {
        Totals t = totals(impl);
        t.properties++;
        t.tries += tries;
        t.checks += checks;
        if (!passed) {
            t.failed.add(property);
        }
    }

    /** Books one comparison with the oracle (O and LSE errors). */
    public static synchronized void oracleError(double errorO, double errorLse, Object context) {
        Totals t = totals(current);
        t.oracleComparisons++;
        if (errorO > t.worstOracleO || Double.isNaN(errorO)) {
            t.worstOracleO = errorO;
            t.worstOracleCase = String.valueOf(context);
        }
        if (errorLse > t.worstOracleLse || Double.isNaN(errorLse)) {
            t.worstOracleLse = errorLse;
        }
    }

    /** Books one tolerance-judged comparison with the reference: keeps the largest error/bound ratio. */
    public static synchronized void judged(String what, double error, double bound) {
        Totals t = totals(current);
        double ratio = error / bound;
        if (ratio > t.worstRatio || Double.isNaN(ratio)) {
            t.worstRatio = ratio;
            t.worstRatioWhat = String.format("%s (error %.2e, bound %.2e)", what, error, bound);
        }
    }

    /** Keeps the largest value seen of a named measure (e.g. finite-difference error / allowance). */
    public static synchronized void worst(String measure, double value) {
        totals(current).worst.merge(measure, value, (a, b) -> Double.isNaN(b) || b > a ? b : a);
    }

    /** Counts one generated value of a category label. */
    public static synchronized void countCategory(String label, String value) {
        totals(current).categories.computeIfAbsent(label, k -> new TreeMap<>()).merge(value, 1L, Long::sum);
    }

    /** Whether anything was booked. */
    public static synchronized boolean isEmpty() {
        return TOTALS.isEmpty();
    }

    /**
     * The summary, one block per implementation under test; implementations named {@code mutant-*} (the suite's
     * self-test, deliberately broken) get one line each saying which properties caught them.
     */
    public static synchronized String render() {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, Totals> e : TOTALS.entrySet()) {
            Totals t = e.getValue();
            if (e.getKey().startsWith("mutant-")) {
                continue;
            }
            sb.append(String.format("SwiAttn property suite summary [%s]: %d properties, %d tries, %d checks, "
                    + "%d failed%s%n", e.getKey(), t.properties, t.tries, t.checks, t.failed.size(),
                    t.failed.isEmpty() ? "" : " " + t.failed));
            if (t.oracleComparisons > 0) {
                sb.append(String.format("  worst error vs Dfp oracle over %d cases: O %.3e, LSE %.3e%n"
                        + "    (worst O case: %s)%n", t.oracleComparisons, t.worstOracleO, t.worstOracleLse,
                        t.worstOracleCase));
            }
            if (t.worstRatio > 0) {
                sb.append(String.format("  worst error/bound of the tolerance-judged comparisons (reference, EJML):"
                        + " %.3g at %s%n", t.worstRatio, t.worstRatioWhat));
            }
            for (Map.Entry<String, Double> w : t.worst.entrySet()) {
                sb.append(String.format("  worst %s: %.3g%n", w.getKey(), w.getValue()));
            }
            for (Map.Entry<String, Map<String, Long>> c : t.categories.entrySet()) {
                sb.append("  coverage ").append(c.getKey()).append(": ").append(c.getValue()).append('\n');
            }
        }
        for (Map.Entry<String, Totals> e : TOTALS.entrySet()) {
            Totals t = e.getValue();
            if (e.getKey().startsWith("mutant-")) {
                sb.append(String.format("  self-test %s: caught by %d of %d properties run %s%n", e.getKey(),
                        t.failed.size(), t.properties, t.failed));
            }
        }
        return sb.toString();
    }
}
