package org.swiattn.golden;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.swiattn.reference.Mistake;
import org.swiattn.spec.Route;

/**
 * The text {@code swiattn check} prints under a failing candidate: by default a short hint (where the error of each
 * failing tensor lies, {@link Breakdown}); with {@code --explain} also the catalogue of classic mistakes tested
 * against it ({@link MistakeFinder}).
 */
public final class Explanation {
    private Explanation() {
    }

    /**
     * Per failing tensor: its heads and rows (two lines each).
     *
     * @param compared one candidate's tensors as compared; not modified
     */
    public static List<String> breakdown(List<CandidateChecker.Compared> compared) {
        List<String> out = new ArrayList<>();
        if (compared.isEmpty()) {
            return out;
        }
        CaseSpec c = Suites.find(compared.get(0).entry().name());
        Route route = CaseInputs.route(c);
        boolean[] full = route.mask();
        for (CandidateChecker.Compared t : compared) {
            if (t.check().pass()) {
                continue;
            }
            List<String> lines = Breakdown.of(t, full, c.shape().seqLen()).lines();
            String head = String.format(Locale.ROOT, "%-20s", t.tensor() + ":");
            for (int n = 0; n < lines.size(); n++) {
                out.add((n == 0 ? head : " ".repeat(head.length())) + lines.get(n));
            }
        }
        if (!out.isEmpty()) {
            out.add(0, String.format(Locale.ROOT, "where the error lies (w=%d, S=%d; a row or head is wrong when its "
                    + "error exceeds its equal share of the bound):", c.window(), c.shape().seqLen()));
        }
        return out;
    }

    /** The one-line pointer to --explain printed under the hint. */
    public static String explainHint() {
        return "run again with --explain to test the " + Mistake.values().length + " catalogued mistakes (window "
                + "off by one, LSE base, GQA head mapping, scale, route ties, 1 - p by subtraction, ...; SPEC.md "
                + "section 10.1)";
    }

    /**
     * The catalogue's verdicts: the matches with what they compute and their usual cause, then one line on the rest.
     *
     * @param verdicts best first ({@link MistakeFinder#find}); not modified
     */
    public static List<String> catalogue(List<MistakeFinder.Verdict> verdicts) {
        List<String> out = new ArrayList<>();
        out.add("known mistakes (SPEC.md section 10.1), the reference re-run with each one planted:");
        boolean named = false;
        for (MistakeFinder.Verdict v : verdicts) {
            if (v.status() != MistakeFinder.Status.MATCHES && v.status() != MistakeFinder.Status.EXPLAINS_MOST) {
                continue;
            }
            named = true;
            out.add(String.format(Locale.ROOT, "  %s %s (worst err/bound against the planted reference %s)",
                    v.status() == MistakeFinder.Status.MATCHES ? "MATCHES" : "EXPLAINS MOST OF THE ERROR:",
                    v.mistake().id(), TextTable.cell(v.worstRatio())));
            out.add("    what: " + v.mistake().what());
            out.add("    usual cause: " + v.mistake().cause());
        }
        if (!named) {
            out.add("  none matches: the candidate has another error, or several at once (closest: "
                    + verdicts.get(0).mistake().id() + ", worst err/bound " + TextTable.cell(verdicts.get(0)
                    .worstRatio()) + ")");
        }
        StringBuilder rest = new StringBuilder("  others:");
        for (MistakeFinder.Verdict v : verdicts) {
            if (v.status() == MistakeFinder.Status.MATCHES || v.status() == MistakeFinder.Status.EXPLAINS_MOST) {
                continue;
            }
            rest.append(' ').append(v.mistake().id()).append(" (").append(switch (v.status()) {
                case NO_MATCH -> "no match, " + TextTable.cell(v.worstRatio());
                case NO_EFFECT -> "no effect on this case";
                default -> "cannot show on this case";
            }).append(')');
        }
        out.add(rest.toString());
        return out;
    }
}
