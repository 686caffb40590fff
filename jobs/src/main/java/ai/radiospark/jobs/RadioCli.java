package ai.radiospark.jobs;

import ai.radiospark.RadioException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.AnalysisException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * The {@code radio} command-line tool ({@code scripts/radio}): one entry point for every job, and
 * one error contract for all of them.
 *
 * <table>
 *   <caption>Exit codes</caption>
 *   <tr><td>0</td><td>done</td></tr>
 *   <tr><td>1</td><td>user or data error: one line saying what, why and how to fix ({@link RadioException})</td></tr>
 *   <tr><td>2</td><td>bad option or value, found before Spark starts: one line naming the option</td></tr>
 *   <tr><td>3</td><td>more than {@code --max-failed-fraction} of the images failed ({@code radio extract})</td></tr>
 *   <tr><td>4</td><td>internal error: one line, and with {@code --verbose} the stack trace</td></tr>
 * </table>
 *
 * <p>An error raised on an executor reaches the driver wrapped in Spark's and Delta's exceptions;
 * the first {@link RadioException} in the chain is what is reported. Spark's analysis errors (no
 * such table, column or path) are user errors too: their first line is reported, with exit code 1.
 *
 * <pre>
 * radio init --shape base --output /tmp/base
 * radio forward --model /tmp/base --input in.safetensors --output out.safetensors
 * radio preprocess --size 224x224 --output px.safetensors cat.jpg
 * </pre>
 */
@Command(
        name = "radio",
        mixinStandardHelpOptions = true,
        version = "radio-spark " + RadioCli.VERSION,
        description = "RADIO image embeddings at Spark scale.",
        subcommands = {
            ExtractCommand.class,
            ShowCommand.class,
            SimilarCommand.class,
            IndexCommand.class,
            DedupCommand.class,
            InitCommand.class,
            ForwardCommand.class,
            PreprocessCommand.class,
            BenchCommand.class,
            DoctorCommand.class
        })
public final class RadioCli {
    /** radio-spark's version, as {@code radio --version} and {@code radio doctor} print it. */
    static final String VERSION = "0.1.0";

    static final int EXIT_USER_ERROR = 1;
    static final int EXIT_BAD_OPTION = 2;
    static final int EXIT_TOO_MANY_FAILED = 3;
    static final int EXIT_INTERNAL_ERROR = 4;

    @Option(names = "--verbose", scope = ScopeType.INHERIT, description = "On an error, also print its stack trace.")
    boolean verbose;

    /** Runs the CLI and returns its exit code. */
    public static int run(String... args) {
        return run(null, null, args);
    }

    /** Runs the CLI writing to {@code out} and {@code err} (null: standard output and error). */
    static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cli = withErrorContract(new CommandLine(new RadioCli()));
        if (out != null) {
            cli.setOut(out);
        }
        if (err != null) {
            cli.setErr(err);
        }
        return cli.execute(args);
    }

    /** Sets the exception handlers of the error contract (exit codes 1, 2 and 4) on a command line. */
    static CommandLine withErrorContract(CommandLine cli) {
        cli.setParameterExceptionHandler((e, argv) -> badOptions(e));
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> failed(e, cmd, verbose(parsed)));
        return cli;
    }

    /** Whether {@code --verbose} was given, to the command or a subcommand. */
    private static boolean verbose(ParseResult parsed) {
        for (ParseResult p = parsed; p != null; p = p.subcommand()) {
            if (p.hasMatchedOption("--verbose")) {
                return true;
            }
        }
        return false;
    }

    /** Exit 2: what picocli could not parse, in one line naming the option. */
    private static int badOptions(ParameterException e) {
        CommandLine cmd = e.getCommandLine();
        PrintWriter err = cmd.getErr();
        String message = e.getMessage();
        List<String> unmatched = cmd.getUnmatchedArguments();
        if (!(e instanceof UnmatchedArgumentException) && !unmatched.isEmpty()) {
            // An unknown option is why a required one looks missing: name the unknown one.
            e = new UnmatchedArgumentException(cmd, unmatched);
        }
        if (e instanceof UnmatchedArgumentException u) {
            List<String> unknown = new ArrayList<>(u.getUnmatched());
            String first = unknown.isEmpty() ? "?" : unknown.get(0);
            message = (first.startsWith("-") ? "Unknown option: '" : "Unexpected argument: '") + first + "'";
            List<String> suggestions = u.getSuggestions();
            if (!suggestions.isEmpty()) {
                message += "; did you mean "
                        + String.join(" or ", suggestions.subList(0, Math.min(3, suggestions.size()))) + "?";
            } else {
                message += ".";
            }
        } else if (!message.endsWith(".")) {
            message += ".";
        }
        err.println(prefix(cmd) + oneLine(message) + " See '" + prefix(cmd).replace(": ", "") + " --help'.");
        err.flush();
        return EXIT_BAD_OPTION;
    }

    /** Exit 1, 2 or 4 for an exception a command threw. */
    private static int failed(Exception e, CommandLine cmd, boolean verbose) {
        PrintWriter err = cmd.getErr();
        RadioException user = userError(e);
        AnalysisException query = user == null ? queryError(e) : null;
        int code;
        if (user != null) {
            // Our messages are meant as one line: any line breaks in them (a parser's quoted message) become spaces.
            err.println(prefix(cmd) + user.getMessage().strip().replaceAll("\\s*\\R\\s*", " "));
            code = user instanceof OptionException ? EXIT_BAD_OPTION : EXIT_USER_ERROR;
        } else if (query != null) {
            // Spark's analysis errors name a table, column or path the user gave: its first line says which.
            err.println(prefix(cmd) + oneLine(query.getMessage()));
            code = EXIT_USER_ERROR;
        } else {
            err.println(prefix(cmd) + "internal error: " + oneLine(String.valueOf(e))
                    + (verbose ? "" : " (rerun with --verbose for the stack trace)"));
            code = EXIT_INTERNAL_ERROR;
        }
        if (verbose) {
            e.printStackTrace(err);
        }
        err.flush();
        return code;
    }

    /** The first {@link RadioException} in the cause chain: a task's error, under Spark's and Delta's. */
    static RadioException userError(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof RadioException r) {
                return r;
            }
        }
        return null;
    }

    /** The first Spark analysis error in the cause chain (no such table, column or path), or null. */
    static AnalysisException queryError(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof AnalysisException a) {
                return a;
            }
        }
        return null;
    }

    private static String prefix(CommandLine cmd) {
        return cmd.getCommandSpec().qualifiedName() + ": ";
    }

    /** A message as one line: the first line of a multi-line one (Spark's add plans and traces). */
    static String oneLine(String message) {
        if (message == null) {
            return "";
        }
        String s = message.strip();
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl).strip();
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }
}
