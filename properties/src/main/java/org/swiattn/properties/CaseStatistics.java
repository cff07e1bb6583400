package org.swiattn.properties;

import java.util.function.Predicate;

import net.jqwik.api.statistics.Statistics;

import org.swiattn.spec.Estimator;
import org.swiattn.spec.Shape;

/**
 * Statistics of generated cases and the coverage checks that prove the edges of {@link AttentionArbitraries} are
 * really generated (not merely possible). jqwik prints the tables after each property that collects; the counts
 * also go to {@link SuiteSummary} for the end-of-run summary.
 *
 * <p>Categories (one label each):
 * <pre>
 *   "S"        S=1 | S=2..4 | S=5..12 | S>12
 *   "w"        w=1 | w=S-1 | w=S | w=S+1 | 1<w<S-1 | w>S+1           (first that applies, in this order)
 *   "Hq/Hkv"   G=1 | G=2 | G=4 | G=8
 *   "D"        D=1 | D=2..8 | D=9..32 | D=33..128 | D=129..255 | D=256
 *   "route"    ALL_FULL | ALL_WINDOW | ALTERNATING | RANDOM
 * </pre>
 */
public final class CaseStatistics {
    private CaseStatistics() {
    }

    /** The S category of a shape. */
    public static String seqLenCategory(int s) {
        return s == 1 ? "S=1" : s <= 4 ? "S=2..4" : s <= 12 ? "S=5..12" : "S>12";
    }

    /** The window category: the first of w=1, w=S-1, w=S, w=S+1, inside, beyond that applies. */
    public static String windowCategory(int w, int s) {
        if (w == 1) {
            return "w=1";
        } else if (w == s - 1) {
            return "w=S-1";
        } else if (w == s) {
            return "w=S";
        } else if (w == s + 1) {
            return "w=S+1";
        } else if (w < s - 1) {
            return "1<w<S-1";
        }
        return "w>S+1";
    }

    /** The group-size category G = Hq/Hkv. */
    public static String groupCategory(Shape sh) {
        return "G=" + sh.groupSize();
    }

    /** The head-dimension category. */
    public static String headDimCategory(int d) {
        return d == 1 ? "D=1" : d <= 8 ? "D=2..8" : d <= 32 ? "D=9..32" : d <= 128 ? "D=33..128"
                : d <= 255 ? "D=129..255" : "D=256";
    }

    /** Collects every category of a case under its label (and counts it for the summary). */
    public static void collect(AttentionCase c) {
        Shape sh = c.shape();
        record("S", seqLenCategory(sh.seqLen()));
        record("w", windowCategory(c.window(), sh.seqLen()));
        record("Hq/Hkv", groupCategory(sh));
        record("D", headDimCategory(sh.headDim()));
        record("route", c.routeKind().name());
        record("scale", c.scaleKind().name());
    }

    /** Collects the estimator of a try under the label "estimator". */
    public static void collectEstimator(Estimator e) {
        record("estimator", e.name());
    }

    /** Collects one value under a label, for jqwik's report and for the suite summary. */
    public static void record(String label, String value) {
        Statistics.label(label).collect(value);
        SuiteSummary.countCategory(label, value);
    }

    /**
     * Requires every edge of {@link AttentionArbitraries#cases()} to have occurred at least once in this property:
     * S=1; w=1, w=S-1, w=S, w=S+1; G=1, 2, 4, 8; D=1 and D=256 and the ranges between; every route kind.
     * Call it in the body of a property that collects with {@link #collect}.
     */
    public static void checkCoverage() {
        Predicate<Integer> occurred = n -> n > 0;
        Statistics.label("S").coverage(cov -> {
            for (String s : new String[] {"S=1", "S=2..4", "S=5..12", "S>12"}) {
                cov.check(s).count(occurred);
            }
        });
        Statistics.label("w").coverage(cov -> {
            for (String s : new String[] {"w=1", "w=S-1", "w=S", "w=S+1"}) {
                cov.check(s).count(occurred);
            }
        });
        Statistics.label("Hq/Hkv").coverage(cov -> {
            for (int g : new int[] {1, 2, 4, 8}) {
                cov.check("G=" + g).count(occurred);
            }
        });
        Statistics.label("D").coverage(cov -> {
            for (String s : new String[] {"D=1", "D=2..8", "D=9..32", "D=33..128", "D=129..255", "D=256"}) {
                cov.check(s).count(occurred);
            }
        });
        Statistics.label("route").coverage(cov -> {
            for (AttentionCase.RouteKind k : AttentionCase.RouteKind.values()) {
                cov.check(k.name()).count(occurred);
            }
        });
    }

    /** Requires every estimator to have occurred under the label "estimator". */
    public static void checkEstimatorCoverage() {
        Statistics.label("estimator").coverage(cov -> {
            for (Estimator e : Estimator.values()) {
                cov.check(e.name()).count((Predicate<Integer>) n -> n > 0);
            }
        });
    }
}
