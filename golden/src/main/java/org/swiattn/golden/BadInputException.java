package org.swiattn.golden;

/**
 * Bad input to the golden tools: a corrupt or malformed file, an unknown case id, a candidate tensor with the wrong
 * shape or dtype, a missing tensor. The message is one line that says what is wrong and where; the {@code swiattn}
 * command prints it and exits with status 2.
 */
public class BadInputException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public BadInputException(String message) {
        super(message);
    }

    public BadInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
