package org.swiattn.training;

import org.swiattn.spec.InvalidInputException;

/** Argument checks of the training module: a failed check throws {@link InvalidInputException} naming the argument. */
public final class Check {
    private Check() {
    }

    /** Throws {@code InvalidInputException(argument, message)} unless ok. */
    public static void require(boolean ok, String argument, String message) {
        if (!ok) {
            throw new InvalidInputException(argument, message);
        }
    }
}
