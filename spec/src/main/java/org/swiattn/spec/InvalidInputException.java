package org.swiattn.spec;

/**
 * Bad input to an implementation of the contract: shapes that disagree, a window below 1, a non-finite value, ...
 * The message always names the argument and the offending value or index; {@link #argument()} gives the name alone.
 */
public final class InvalidInputException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;
    private final String argument;

    public InvalidInputException(String argument, String message) {
        super(argument + ": " + message);
        this.argument = argument;
    }

    /** Name of the offending argument, e.g. {@code "q"}, {@code "window"}, {@code "route"}. */
    public String argument() {
        return argument;
    }

    /** Throws {@code new InvalidInputException(argument, message)} unless {@code ok}. */
    public static void require(boolean ok, String argument, String message) {
        if (!ok) {
            throw new InvalidInputException(argument, message);
        }
    }
}
