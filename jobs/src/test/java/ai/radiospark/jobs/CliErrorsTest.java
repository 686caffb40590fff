package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.radiospark.RadioException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.spark.SparkException;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The error contract of every command, one row per bad value: the exit code (1 user or data
 * error, 2 bad option), exactly one line on stderr naming the option or the file, no stack
 * trace, and the error found before any SparkSession exists.
 */
class CliErrorsTest {
    static final String MODEL =
            Path.of("../samples/model-tiny-random").toAbsolutePath().toString();
    static final String IMAGES = Path.of("../samples/images").toAbsolutePath().toString();
    static Path tmp;

    @BeforeAll
    static void setUp() throws Exception {
        tmp = Files.createTempDirectory("radio-cli-errors");
        Files.writeString(tmp.resolve("a-file"), "not a folder");
        Files.writeString(tmp.resolve("not-an-image.jpg"), "hello, not a JPEG");
        Files.createDirectories(tmp.resolve("no-config"));
        Files.createDirectories(tmp.resolve("not-a-table"));
        Files.createDirectories(tmp.resolve("checkpoint"));
        Files.writeString(tmp.resolve("checkpoint/config.json"), "{ not json");
        // Tests before this class may have left a session: none may exist while these run.
        stopSessions();
    }

    @AfterAll
    static void cleanUp() throws IOException {
        try (Stream<Path> all = Files.walk(tmp)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /** A case that wrongly started Spark fails alone, not every case after it. */
    @AfterEach
    void stopSpark() {
        stopSessions();
    }

    private static void stopSessions() {
        SparkSession.getDefaultSession().foreach(s -> {
            s.stop();
            return null;
        });
        SparkSession.clearActiveSession();
        SparkSession.clearDefaultSession();
    }

    record Case(int exit, String says, String... args) {
        @Override
        public String toString() {
            return String.join(" ", args)
                    .replace(tmp.toString(), "$TMP")
                    .replace(MODEL, "$MODEL")
                    .replace(IMAGES, "$IMAGES");
        }
    }

    static String[] extract(String... extra) {
        List<String> a = new ArrayList<>(List.of(
                "extract", "--input", IMAGES, "--output", tmp.resolve("out").toString(), "--model", MODEL));
        a.addAll(List.of(extra));
        return a.toArray(new String[0]);
    }

    static Stream<Case> cases() {
        return Stream.concat(allMachines(), cpuMachines());
    }

    /** On a machine where PyTorch sees no GPU (CI), device auto runs on the CPU: float16 is refused before Spark. */
    static Stream<Case> cpuMachines() {
        if (ai.djl.engine.Engine.getEngine("PyTorch").getGpuCount() > 0) {
            return Stream.of();
        }
        return Stream.of(new Case(
                2,
                "Invalid value for option '--dtype' (float16): This machine has no GPU, so "
                        + "device=auto runs on the CPU. dtype=float16 on the CPU",
                extract("--dtype", "float16")));
    }

    static Stream<Case> allMachines() {
        String table = tmp.resolve("not-a-table").toString();
        return Stream.of(
                new Case(
                        2,
                        "Unknown option: '--inptu'; did you mean --input?",
                        "extract",
                        "--inptu",
                        IMAGES,
                        "--output",
                        tmp.resolve("out").toString(),
                        "--model",
                        MODEL),
                new Case(
                        2,
                        "Missing required option: '--model=DIR|HUB_ID'",
                        "extract",
                        "--input",
                        IMAGES,
                        "--output",
                        "x/y"),
                new Case(
                        2,
                        "Invalid value for option '--mode' (upsert): Unknown --mode \"upsert\"",
                        extract("--mode", "upsert")),
                new Case(
                        2,
                        "Invalid value for option '--batch-size' (0): Use a positive number",
                        extract("--batch-size", "0")),
                new Case(
                        2,
                        "Invalid value for option '--batch-size': 'many' is not an int",
                        extract("--batch-size", "many")),
                new Case(
                        2,
                        "Invalid value for option '--size' (100x100): Size 100x100 does not fit the patch size 16",
                        extract("--size", "100x100")),
                new Case(2, "Invalid value for option '--size' (0x0): Use \"HxW\"", extract("--size", "0x0")),
                new Case(
                        2,
                        "Invalid value for option '--resize-mode' (squash): Use fixed, shortest-edge, native or native-buckets.",
                        extract("--resize-mode", "squash")),
                new Case(
                        2,
                        "Invalid value for option '--features' (pooled:0x3): Use none, full, or pooled:RxC",
                        extract("--features", "pooled:0x3")),
                new Case(
                        2,
                        "Invalid value for option '--device' (tpu): Use auto, cpu or gpu.",
                        extract("--device", "tpu")),
                new Case(
                        2,
                        "Invalid value for option '--dtype' (float64): Use auto, float32, bfloat16 or float16.",
                        extract("--dtype", "float64")),
                new Case(
                        2,
                        "Invalid value for option '--dtype' (float16): dtype=float16 on the CPU",
                        extract("--device", "cpu", "--dtype", "float16")),
                new Case(
                        2,
                        "Invalid value for option '--features-type' (float8): Use float32 or float16.",
                        extract("--features-type", "float8")),
                new Case(
                        2,
                        "Invalid value for option '--partition-by' (nosuch): The table has no column nosuch.",
                        extract("--partition-by", "nosuch")),
                new Case(2, "Invalid value for option '--commit-every' (0)", extract("--commit-every", "0")),
                new Case(
                        2,
                        "Invalid value for option '--max-failed-fraction' (2.0)",
                        extract("--max-failed-fraction", "2")),
                new Case(2, "Invalid value for option '--progress-seconds' (0)", extract("--progress-seconds", "0")),
                new Case(2, "Invalid value for option '--limit' (-1)", extract("--limit", "-1")),
                new Case(
                        2,
                        "Invalid value for option '--model' (" + tmp.resolve("no-config") + "): Model directory",
                        "extract",
                        "--input",
                        IMAGES,
                        "--output",
                        tmp.resolve("out").toString(),
                        "--model",
                        tmp.resolve("no-config").toString()),
                new Case(
                        2,
                        "Invalid value for option '--model' (/no/such/model): Model '/no/such/model': no such directory",
                        "extract",
                        "--input",
                        IMAGES,
                        "--output",
                        tmp.resolve("out").toString(),
                        "--model",
                        "/no/such/model"),
                new Case(
                        2,
                        "Invalid value for option '--model' (" + tmp.resolve("checkpoint") + "): Cannot read the RADIO "
                                + "config " + tmp.resolve("checkpoint/config.json") + ": it is not valid JSON",
                        "extract",
                        "--input",
                        IMAGES,
                        "--output",
                        tmp.resolve("out").toString(),
                        "--model",
                        tmp.resolve("checkpoint").toString()),
                new Case(
                        1,
                        "Cannot create the table /proc/x (--output): the folder /proc cannot be written",
                        "extract",
                        "--input",
                        IMAGES,
                        "--output",
                        "/proc/x",
                        "--model",
                        MODEL),
                new Case(
                        1,
                        "Cannot create the table " + tmp.resolve("a-file/t") + " (--output): " + tmp.resolve("a-file")
                                + " is a file, not a folder.",
                        "extract",
                        "--input",
                        IMAGES,
                        "--output",
                        tmp.resolve("a-file/t").toString(),
                        "--model",
                        MODEL),
                new Case(2, "Unknown option: '--tabel'; did you mean --table?", "show", "--tabel", table),
                new Case(2, "Invalid value for option '--limit' (-1)", "show", "--table", table, "--limit", "-1"),
                new Case(1, "There is no Delta table at " + table, "show", "--table", table),
                new Case(
                        2,
                        "Invalid value for option '--k' (0)",
                        "similar",
                        "--table",
                        table,
                        "--path",
                        "x",
                        "--k",
                        "0"),
                new Case(1, "There is no Delta table at " + table, "similar", "--table", table, "--path", "x"),
                new Case(
                        1,
                        "radio dedup: There is no Delta table at " + table,
                        "dedup",
                        "--table",
                        table,
                        "--output",
                        tmp.resolve("dedup").toString()),
                new Case(
                        2,
                        "Invalid value for option '--eps' (1.5): Use a number from 0 to below 1, e.g. 0.05 (cosine >= "
                                + "0.95).",
                        "dedup",
                        "--table",
                        table,
                        "--output",
                        tmp.resolve("dedup").toString(),
                        "--eps",
                        "1.5"),
                new Case(
                        2,
                        "Invalid value for option '--clusters-per-image' (0): Use 1 (its own cluster only) or more, "
                                + "e.g. 2.",
                        "dedup",
                        "--table",
                        table,
                        "--output",
                        tmp.resolve("dedup").toString(),
                        "--clusters-per-image",
                        "0"),
                new Case(
                        2,
                        "Invalid value for option '--block-size' (1): Use at least 2 rows per block, e.g. 1024.",
                        "dedup",
                        "--table",
                        table,
                        "--output",
                        tmp.resolve("dedup").toString(),
                        "--block-size",
                        "1"),
                new Case(
                        2,
                        "Invalid value for option '--output' (" + table + "/): It is the --table itself. Write the "
                                + "result to another table.",
                        "dedup",
                        "--table",
                        table,
                        "--output",
                        table + "/"),
                new Case(2, "Missing required option: '--output=PATH|TABLE'", "dedup", "--table", table),
                new Case(
                        2,
                        "Invalid value for option '--image' (" + tmp.resolve("missing.jpg") + "): No such file.",
                        "similar",
                        "--table",
                        table,
                        "--image",
                        tmp.resolve("missing.jpg").toString()),
                new Case(
                        1,
                        "The query image cannot be used: Cannot decode image " + tmp.resolve("not-an-image.jpg"),
                        "similar",
                        "--table",
                        table,
                        "--image",
                        tmp.resolve("not-an-image.jpg").toString()),
                new Case(
                        2,
                        "Error: --image=FILE, --path=P are mutually exclusive",
                        "similar",
                        "--table",
                        table,
                        "--image",
                        "a",
                        "--path",
                        "b"),
                new Case(
                        2,
                        "Invalid value for option '--shape' (gigantic): Unknown model shape",
                        "init",
                        "--shape",
                        "gigantic",
                        "--output",
                        tmp.resolve("x").toString()),
                new Case(
                        1,
                        tmp.resolve("checkpoint") + " already holds a checkpoint (config.json). Pass --force",
                        "init",
                        "--shape",
                        "tiny",
                        "--output",
                        tmp.resolve("checkpoint").toString()),
                new Case(
                        2,
                        "Error: Missing required argument (specify one of these): (--output=DIR)",
                        "init",
                        "--shape",
                        "tiny"),
                new Case(
                        2,
                        "Error: --output=DIR, --out=DIR are mutually exclusive",
                        "init",
                        "--shape",
                        "tiny",
                        "--output",
                        tmp.resolve("a").toString(),
                        "--out",
                        tmp.resolve("b").toString()),
                new Case(
                        2,
                        "Invalid value for option '--input' (missing.safetensors): No such file.",
                        "forward",
                        "--model",
                        MODEL,
                        "--input",
                        "missing.safetensors",
                        "--output",
                        tmp.resolve("o.safetensors").toString()),
                new Case(
                        2,
                        "Invalid value for option '--dtype' (float16): float16 is for GPUs",
                        "forward",
                        "--model",
                        MODEL,
                        "--input",
                        tmp.resolve("a-file").toString(),
                        "--output",
                        "o",
                        "--dtype",
                        "float16"),
                new Case(
                        2,
                        "Invalid value for option '--model' (/no/such/model)",
                        "forward",
                        "--model",
                        "/no/such/model",
                        "--input",
                        tmp.resolve("a-file").toString(),
                        "--output",
                        "o"),
                new Case(
                        2,
                        "Invalid value for option '--size' (0x0): Size 0x0 is impossible",
                        "preprocess",
                        "--size",
                        "0x0",
                        "-o",
                        tmp.resolve("p").toString(),
                        IMAGES + "/china.jpg"),
                new Case(
                        2,
                        "Invalid value for option '--resize-mode' (squash): Unknown resize mode 'squash'",
                        "preprocess",
                        "--resize-mode",
                        "squash",
                        "-o",
                        tmp.resolve("p").toString(),
                        IMAGES + "/china.jpg"),
                // the old name (a hidden alias) sets the same option, checked the same way
                new Case(
                        2,
                        "Invalid value for option '--resize-mode' (squash): Unknown resize mode 'squash'",
                        "preprocess",
                        "--mode",
                        "squash",
                        "-o",
                        tmp.resolve("p").toString(),
                        IMAGES + "/china.jpg"),
                new Case(
                        2,
                        "Invalid value for option '--mode' (native): --mode is the old name of --resize-mode: give only "
                                + "--resize-mode.",
                        "preprocess",
                        "--mode",
                        "native",
                        "--resize-mode",
                        "fixed",
                        "-o",
                        tmp.resolve("p").toString(),
                        IMAGES + "/china.jpg"),
                new Case(2, "Unknown option: '--jsn'; did you mean --json?", "doctor", "--jsn"),
                new Case(2, "Invalid value for option '--probe-seconds' (0.0)", "doctor", "--probe-seconds", "0"),
                new Case(2, "Invalid value for option '--batch-size' (0)", "doctor", "--batch-size", "0"),
                new Case(
                        2,
                        "Invalid value for option '--discovery-script' (/no/such/script.sh): No such file.",
                        "doctor",
                        "--discovery-script",
                        "/no/such/script.sh"),
                new Case(
                        2,
                        "Invalid value for option '--model' (/no/such/model)",
                        "doctor",
                        "--model",
                        "/no/such/model"),
                new Case(2, "Invalid value for option '--shape' (gigantic)", "bench", "--shape", "gigantic"),
                new Case(2, "Invalid value for option '--batch-size' (0)", "bench", "--batch-size", "0"),
                new Case(2, "Invalid value for option '--batch-size' (0)", "bench", "--batch", "0"),
                new Case(
                        2,
                        "Invalid value for option '--batch' (2): --batch is the old name of --batch-size: give only "
                                + "--batch-size.",
                        "bench",
                        "--batch",
                        "2",
                        "--batch-size",
                        "3"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void oneLineNamingTheProblemBeforeSparkStarts(Case c) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream oldErr = System.err;
        PrintStream oldOut = System.out;
        int code;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            code = RadioCli.run(c.args());
        } finally {
            System.setErr(oldErr);
            System.setOut(oldOut);
        }
        String text = err.toString(StandardCharsets.UTF_8);
        System.out.print("exit " + code + ": " + text);
        assertEquals(c.exit(), code, text);
        assertTrue(text.endsWith("\n"), text);
        assertEquals(1, text.lines().count(), "exactly one line on stderr: " + text);
        assertTrue(text.startsWith("radio " + c.args()[0] + ": "), text);
        assertTrue(text.contains(c.says()), text);
        assertFalse(text.contains("\tat "), text);
        assertEquals("", out.toString(StandardCharsets.UTF_8), "nothing on stdout");
        assertTrue(SparkSession.getDefaultSession().isEmpty(), "no SparkSession was created");
        assertTrue(SparkSession.getActiveSession().isEmpty(), "no SparkSession was created");
    }

    /** One vocabulary: --help names --output, --batch-size and --resize-mode, never the old names kept as aliases. */
    @Test
    void helpShowsTheNewNamesOnly() {
        String[][] commands = {
            {"init", "--output=DIR", "--out"},
            {"bench", "--batch-size=", "--batch"},
            {"preprocess", "--resize-mode=", "--mode"}
        };
        for (String[] c : commands) {
            StringWriter out = new StringWriter();
            assertEquals(0, RadioCli.run(new PrintWriter(out), new PrintWriter(new StringWriter()), c[0], "--help"));
            String help = out.toString();
            assertTrue(help.contains(c[1]), help);
            assertFalse(Pattern.compile(c[2] + "[= ]").matcher(help).find(), help);
        }
    }

    /** A command that fails the way commands do: an internal bug, or a task's user error under Spark's. */
    @Command(name = "fail")
    static final class Failing implements Callable<Integer> {
        @Option(names = "--verbose")
        boolean verbose;

        @Option(names = "--how")
        String how;

        @Override
        public Integer call() throws Exception {
            if (how.equals("task")) {
                throw new SparkException(
                        "Job aborted due to stage failure: Task 0 in stage 1.0 failed 1 times\n" + "Driver stacktrace:",
                        new RadioException("dtype=float16 on the CPU: use bfloat16 or float32."));
            }
            throw new IllegalStateException("a bug\nsecond line");
        }
    }

    static String[] runFailing(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = RadioCli.withErrorContract(new CommandLine(new Failing()));
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int code = cli.execute(args);
        return new String[] {String.valueOf(code), err.toString()};
    }

    @Test
    void aTaskErrorUnderSparksIsOneLineWithExitCode1() {
        String[] r = runFailing("--how", "task");
        assertEquals("1", r[0]);
        assertEquals("fail: dtype=float16 on the CPU: use bfloat16 or float32.\n", r[1].replace("\r", ""));
    }

    @Test
    void anInternalErrorIsOneLineWithExitCode4AndItsTraceWithVerbose() {
        String[] r = runFailing("--how", "bug");
        assertEquals("4", r[0]);
        assertEquals(
                "fail: internal error: java.lang.IllegalStateException: a bug (rerun with --verbose for the stack "
                        + "trace)\n",
                r[1].replace("\r", ""));
        String[] v = runFailing("--how", "bug", "--verbose");
        assertEquals("4", v[0]);
        assertTrue(v[1].startsWith("fail: internal error: java.lang.IllegalStateException: a bug\n"), v[1]);
        assertTrue(v[1].contains("\tat ai.radiospark.jobs.CliErrorsTest$Failing.call"), v[1]);
    }

    @Test
    void verboseIsAnOptionOfEveryCommand() {
        CommandLine cli = new CommandLine(new RadioCli());
        for (CommandLine sub : cli.getSubcommands().values()) {
            assertTrue(sub.getCommandSpec().findOption("--verbose") != null, sub.getCommandName());
        }
    }
}
