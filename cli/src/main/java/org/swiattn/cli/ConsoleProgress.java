package org.swiattn.cli;

import java.io.PrintWriter;
import org.swiattn.golden.Progress;

/**
 * Progress on stderr. On a terminal: one bar redrawn in place ({@code \r}); in a log (no console): one line per
 * tenth of a chunked phase, and one line per phase once a case has run for 3 s, so CI logs stay short.
 */
final class ConsoleProgress implements Progress {
    private final PrintWriter err;
    private final boolean tty;
    private final long start = System.nanoTime();
    private String label = "";
    private long lastTenth = -1;
    private String prefix = "";
    private long caseStart = System.nanoTime();

    ConsoleProgress(PrintWriter err) {
        this.err = err;
        this.tty = System.console() != null;
    }

    /** Text shown before every update, e.g. the case being generated. */
    void prefix(String p) {
        prefix = p;
        label = "";
        caseStart = System.nanoTime();
    }

    @Override
    public void update(String what, long done, long total) {
        double secs = (System.nanoTime() - start) / 1e9;
        if (tty) {
            int width = 30;
            int filled = total <= 0 ? width : (int) (width * done / total);
            carriageReturn();
            err.printf("%s %-28s [%s%s] %3d%% %6.0fs", prefix, what, "#".repeat(filled), " ".repeat(width - filled),
                    total <= 0 ? 100 : 100 * done / total, secs);
            if (done >= total && total > 1) {
                blank();
            }
            err.flush();
            return;
        }
        long tenth = total <= 1 ? -2 : 10 * done / total;
        boolean slowCase = System.nanoTime() - caseStart > 3_000_000_000L;
        if ((total > 1 || slowCase) && (!what.equals(label) || (total > 1 && tenth != lastTenth))) {
            if (total > 1) {
                err.printf("%s %s %d%% (%.0fs)%n", prefix, what, 100 * done / total, secs);
            } else {
                err.printf("%s %s (%.0fs)%n", prefix, what, secs);
            }
            err.flush();
            label = what;
            lastTenth = tenth;
        }
    }

    /** Ends a redrawn line. */
    void clear() {
        if (tty) {
            blank();
            err.flush();
        }
    }

    private void blank() {
        carriageReturn();
        err.print(" ".repeat(prefix.length() + 80));
        carriageReturn();
    }

    /** The one raw control character of the bar (the writer escapes every other one). */
    private void carriageReturn() {
        if (err instanceof Terminal.TerminalWriter t) {
            t.control('\r');
        } else {
            err.print('\r');
        }
    }
}
