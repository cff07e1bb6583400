package org.swiattn.cli;

import java.io.FilterWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;

/**
 * Terminal-safe text: everything the command prints goes through here, so a file name, a tensor name, a metadata
 * value or a manifest field cannot move the cursor, clear the screen, recolour the output or reverse the text.
 *
 * <pre>
 *   safe(s)        one value on one line: every control character (C0 including \n and \r, DEL, C1), every
 *                  Unicode format character (bidirectional overrides, zero-width marks) and the line and paragraph
 *                  separators are written as escapes: \x1b, \n, \r, \t, \u202e
 *   writer(w)      a PrintWriter that does the same to everything written through it, except \n and \t (the
 *                  layout of tables); {@link TerminalWriter#control} writes the one \r of a progress bar
 * </pre>
 */
final class Terminal {
    private Terminal() {
    }

    /** Whether a character must not reach a terminal raw. */
    static boolean unsafe(int c) {
        if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
            return true;
        }
        int t = Character.getType(c);
        return t == Character.FORMAT || t == Character.LINE_SEPARATOR || t == Character.PARAGRAPH_SEPARATOR;
    }

    /** The escape of one character: \n, \r, \t, \x1b, \u202e. */
    static String escape(int c) {
        return switch (c) {
            case '\n' -> "\\n";
            case '\r' -> "\\r";
            case '\t' -> "\\t";
            default -> c < 0x100 ? String.format("\\x%02x", c) : String.format("\\u%04x", c);
        };
    }

    /** A value made safe to print on one line (null as "null"). */
    static String safe(Object value) {
        String s = String.valueOf(value);
        StringBuilder sb = null;
        for (int n = 0; n < s.length(); n++) {
            char c = s.charAt(n);
            if (unsafe(c)) {
                if (sb == null) {
                    sb = new StringBuilder(s.length() + 16).append(s, 0, n);
                }
                sb.append(escape(c));
            } else if (sb != null) {
                sb.append(c);
            }
        }
        return sb == null ? s : sb.toString();
    }

    /** A PrintWriter (autoflush) that escapes unsafe characters except \n and \t. */
    static TerminalWriter writer(Writer w) {
        return new TerminalWriter(w);
    }

    /** See {@link Terminal}. */
    static final class TerminalWriter extends PrintWriter {
        private final Writer raw;

        private TerminalWriter(Writer raw) {
            super(new Escaping(raw), true);
            this.raw = raw;
        }

        /** Writes a carriage return (progress bars only), bypassing the escaping. */
        void control(char c) {
            if (c != '\r') {
                throw new IllegalArgumentException("control: only \\r, got " + (int) c);
            }
            flush();
            try {
                raw.write(c);
                raw.flush();
            } catch (IOException e) {
                setError();
            }
        }
    }

    private static final class Escaping extends FilterWriter {
        Escaping(Writer out) {
            super(out);
        }

        @Override
        public void write(int c) throws IOException {
            if (c != '\n' && c != '\t' && unsafe(c)) {
                out.write(escape(c));
            } else {
                out.write(c);
            }
        }

        @Override
        public void write(char[] buf, int off, int len) throws IOException {
            int start = off;
            for (int n = off; n < off + len; n++) {
                char c = buf[n];
                if (c != '\n' && c != '\t' && unsafe(c)) {
                    out.write(buf, start, n - start);
                    out.write(escape(c));
                    start = n + 1;
                }
            }
            out.write(buf, start, off + len - start);
        }

        @Override
        public void write(String s, int off, int len) throws IOException {
            write(s.toCharArray(), off, len);
        }
    }
}
