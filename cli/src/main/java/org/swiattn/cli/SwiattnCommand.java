package org.swiattn.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import org.swiattn.golden.BadInputException;
import org.swiattn.spec.InvalidInputException;
import org.swiattn.spec.SpecVersion;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code swiattn} command. Subcommands are listed in {@code subcommands} below: to add one, append its class to
 * that list (one line).
 *
 * <p>Exit status: 0 success; 1 a check or verification failed (a tolerance or a reproduction failure);
 * 2 bad input or usage (unknown case, corrupt file, wrong shape/dtype, missing tensor, bad option), reported as
 * one line on stderr; 3 an internal error (a bug: the stack trace is printed).
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
    /** Exit status of bad input or usage. */
    public static final int EXIT_BAD_INPUT = 2;
    /** Exit status of an internal error. */
    public static final int EXIT_INTERNAL = 3;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the command line and returns the exit status (tests call this instead of main). */
    public static int execute(String... args) {
        CommandLine cl = commandLine();
        int rc = cl.execute(args);
        cl.getOut().flush();
        cl.getErr().flush();
        return rc;
    }

    /** The configured command line: bad input becomes a one-line error and exit status 2. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new SwiattnCommand());
        cl.setExecutionExceptionHandler((ex, line, parseResult) -> {
            PrintWriter err = line.getErr();
            Throwable e = ex instanceof UncheckedIOException u ? u.getCause() : ex;
            if (e instanceof BadInputException || e instanceof InvalidInputException) {
                err.println("swiattn: error: " + oneLine(e.getMessage()));
                return EXIT_BAD_INPUT;
            }
            if (e instanceof IOException) {
                err.println("swiattn: error: " + oneLine(e.getClass().getSimpleName() + ": " + e.getMessage()));
                return EXIT_BAD_INPUT;
            }
            if (e instanceof OutOfMemoryError) {
                err.println("swiattn: error: out of memory (32K cases need about 3 GB of heap; set "
                        + "SWIATTN_JAVA_OPTS=-Xmx6g)");
                return EXIT_INTERNAL;
            }
            e.printStackTrace(err);
            return EXIT_INTERNAL;
        });
        cl.setParameterExceptionHandler((ex, args) -> {
            CommandLine c = ex.getCommandLine();
            c.getErr().println("swiattn: error: " + oneLine(ex.getMessage()) + " (see `" + c.getCommandSpec()
                    .qualifiedName() + " --help`)");
            return EXIT_BAD_INPUT;
        });
        return cl;
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
