package org.swiattn.cli;

import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.file.FileSystemException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.swiattn.golden.BadInputException;
import org.swiattn.golden.SafeFiles;
import org.swiattn.spec.InvalidInputException;
import org.swiattn.spec.SpecVersion;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code swiattn} command. Subcommands are listed in {@code subcommands} below: to add one, append its class to
 * that list (one line).
 *
 * <p>Exit status, for every command and every input ({@link #EXIT_CODES}, printed by {@code --help}):
 * <pre>
 *   0  success: every check passed, the files were written
 *   1  conformance failure: a tensor out of tolerance, a golden file that does not reproduce
 *   2  bad input or environment: a bad option, an unknown case, a corrupt, missing or special file, a refused
 *      output target, out of memory, a JVM that does not start (launcher), an interruption (SIGINT, SIGTERM,
 *      SIGHUP), an internal error
 * </pre>
 * Every error is one line on stderr, {@code swiattn: error: ...}, terminal-safe ({@link Terminal}); no stack
 * trace unless {@code SWIATTN_DEBUG=1}. Only SIGKILL (137) escapes this.
 */
@Command(name = "swiattn", mixinStandardHelpOptions = true,
        versionProvider = SwiattnCommand.Version.class,
        description = "SwiAttn conformance reference: golden files, conformance checks, benchmarks.",
        subcommands = {
            GoldenCommand.class,
            CheckCommand.class,
            BenchCommand.class,
            DemoCommand.class,
            CommandLine.HelpCommand.class,
        })
public final class SwiattnCommand implements Runnable {
    /** Exit status of a failed check or verification. */
    public static final int EXIT_FAIL = 1;
    /** Exit status of bad input, usage or environment (and of anything else that stops a command). */
    public static final int EXIT_BAD_INPUT = 2;

    /** The exit codes as {@code --help} lists them (every command's help). */
    static final Map<String, String> EXIT_CODES = exitCodes();

    private static Map<String, String> exitCodes() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("0", "success: every check passed, the output was written");
        m.put("1", "conformance failure: a tensor out of tolerance, a golden file that does not reproduce");
        m.put("2", "bad input or environment: bad option, unknown case, corrupt/missing/special file, refused "
                + "output, out of memory, JVM start failure, interrupted (SIGINT/SIGTERM), internal error");
        return m;
    }

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        PrintWriter err = Terminal.writer(new OutputStreamWriter(System.err));
        onSignals(err);
        Thread.setDefaultUncaughtExceptionHandler((thread, t) -> System.exit(report(t, err)));   // worker threads
        int rc;
        try {
            rc = execute(args);
        } catch (Throwable t) {   // an Error thrown outside the command (picocli passes Errors through)
            rc = report(t, err);
        }
        err.flush();
        System.exit(rc);
    }

    /** Runs the command line on stdout and stderr and returns the exit status. */
    public static int execute(String... args) {
        return execute(new OutputStreamWriter(System.out), new OutputStreamWriter(System.err), args);
    }

    /** Runs the command line on the given writers and returns the exit status (tests call this). */
    public static int execute(Writer out, Writer err, String... args) {
        CommandLine cl = commandLine(out, err);
        int rc;
        try {
            rc = cl.execute(args);
        } catch (Throwable t) {
            rc = report(t, cl.getErr());
        }
        cl.getOut().flush();
        cl.getErr().flush();
        return rc;
    }

    /**
     * The configured command line on the given writers (wrapped terminal-safe): every exception and error becomes a
     * one-line message and exit status 2, a failed check exit status 1.
     */
    public static CommandLine commandLine(Writer out, Writer err) {
        CommandLine cl = new CommandLine(new SwiattnCommand());
        cl.setOut(Terminal.writer(out));
        cl.setErr(Terminal.writer(err));
        cl.setColorScheme(CommandLine.Help.defaultColorScheme(CommandLine.Help.Ansi.OFF));
        exitCodeHelp(cl);
        cl.setExecutionExceptionHandler((ex, line, parseResult) -> report(ex, line.getErr()));
        cl.setParameterExceptionHandler((ex, args) -> {
            CommandLine c = ex.getCommandLine();
            String m = oneLine(ex.getMessage()).replaceFirst("^Error: ", "");   // picocli's own prefix
            c.getErr().println("swiattn: error: " + Terminal.safe(m) + " (see `"
                    + c.getCommandSpec().qualifiedName() + " --help`)");
            c.getErr().flush();
            return EXIT_BAD_INPUT;
        });
        return cl;
    }

    /** Every command's help ends with the exit codes. */
    private static void exitCodeHelp(CommandLine cl) {
        cl.getCommandSpec().usageMessage().exitCodeListHeading("%nExit status:%n").exitCodeList(EXIT_CODES);
        for (CommandLine sub : cl.getSubcommands().values()) {
            exitCodeHelp(sub);
        }
    }

    /**
     * The one line of anything that stopped a command, and its exit status (2): bad input, an I/O failure, out of
     * memory, or an internal error (a bug: class, message and the first frame; SWIATTN_DEBUG=1 adds the trace).
     *
     * @param err written to (one line, flushed)
     */
    static int report(Throwable ex, PrintWriter err) {
        Throwable e = ex instanceof UncheckedIOException u && u.getCause() != null ? u.getCause() : ex;
        String line;
        if (e instanceof BadInputException || e instanceof InvalidInputException) {
            line = e.getMessage() == null ? "(no message)" : e.getMessage();   // a \n in a value shows as \n
        } else if (e instanceof IOException io) {
            line = describe(io);
        } else if (e instanceof OutOfMemoryError) {
            line = String.format(Locale.ROOT, "out of memory (the Java heap is limited to %d MB; the 32K cases need"
                    + " about 3 GB: set SWIATTN_JAVA_OPTS=-Xmx6g)", Runtime.getRuntime().maxMemory() >> 20);
        } else {
            StackTraceElement[] st = e.getStackTrace();
            line = "internal error (a bug; please report it with the command line): " + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : ": " + oneLine(e.getMessage()))
                    + (st.length > 0 ? " at " + st[0] : "") + " (SWIATTN_DEBUG=1 prints the stack trace)";
        }
        err.println("swiattn: error: " + Terminal.safe(line));
        if ("1".equals(System.getenv("SWIATTN_DEBUG"))) {
            e.printStackTrace(err);
        }
        err.flush();
        return EXIT_BAD_INPUT;
    }

    /** An I/O failure in words: the message of our own wrappers, or the file and the reason of a raw one. */
    static String describe(IOException e) {
        if (e instanceof FileSystemException f && !(e.getMessage() != null && e.getMessage().startsWith("cannot "))) {
            String file = f.getFile() == null ? "" : f.getFile() + ": ";
            return file + SafeFiles.reason(e);
        }
        return oneLine(e.getMessage() == null ? SafeFiles.reason(e) : e.getMessage());
    }

    /**
     * SIGINT, SIGTERM and SIGHUP end the command with one line and exit status 2; the shutdown hooks remove the
     * temporary file of a write in progress ({@link SafeFiles#atomicWrite}), so nothing half-written is left.
     */
    @SuppressWarnings("removal")
    static void onSignals(PrintWriter err) {
        for (String name : new String[] {"INT", "TERM", "HUP"}) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(name), sig -> {
                    err.println("swiattn: error: interrupted by SIG" + sig.getName() + " (files being written were "
                            + "removed; finished ones are kept)");
                    err.flush();
                    System.exit(EXIT_BAD_INPUT);
                });
            } catch (IllegalArgumentException e) {
                // the signal is reserved here (e.g. -Xrs): the JVM's own handling stays
            }
        }
    }

    static String oneLine(String s) {
        return s == null ? "(no message)" : s.replaceAll("\\s*\\R\\s*", " ").trim();
    }

    /** The version line: the spec version the code implements and the version of the values golden files carry. */
    public static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"swiattn (spec " + SpecVersion.VERSION + ", values " + SpecVersion.VALUES
                    + ", golden generator "
                    + org.swiattn.golden.GoldenGenerator.GENERATOR_VERSION + ")"};
        }
    }
}
