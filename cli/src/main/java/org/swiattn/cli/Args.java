package org.swiattn.cli;

import org.swiattn.golden.BadInputException;

/**
 * Checks of option values, made before a command does any work: a value out of range is one line naming the
 * option, the rule and the value as given ({@code --lr: must be finite and > 0, got -1.0}); nothing is clamped.
 */
final class Args {
    private Args() {
    }

    /** Throws "OPTION: must be RULE, got VALUE" unless ok. */
    static void require(boolean ok, String option, String rule, Object value) {
        if (!ok) {
            throw new BadInputException(option + ": must be " + rule + ", got " + value);
        }
    }

    /** An integer option in [lo, hi]. */
    static void range(String option, long value, long lo, long hi) {
        require(value >= lo && value <= hi, option, hi >= Integer.MAX_VALUE ? ">= " + lo : "in [" + lo + ", " + hi + "]",
                value);
    }

    /** A finite option value {@code > 0} (positive) or {@code >= 0}. */
    static void finite(String option, double value, boolean positive) {
        require(Double.isFinite(value) && (positive ? value > 0 : value >= 0), option,
                "finite and " + (positive ? "> 0" : ">= 0"), value);
    }
}
