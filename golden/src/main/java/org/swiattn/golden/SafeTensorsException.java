package org.swiattn.golden;

import java.nio.file.Path;

/** A file that is not a valid safetensors file; the message names the file and the first defect found. */
public final class SafeTensorsException extends BadInputException {
    private static final long serialVersionUID = 1L;

    public SafeTensorsException(Path file, String message) {
        super(file + ": " + message);
    }

    public SafeTensorsException(Path file, String message, Throwable cause) {
        super(file + ": " + message, cause);
    }
}
