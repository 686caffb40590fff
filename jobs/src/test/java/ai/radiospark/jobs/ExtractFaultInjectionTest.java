package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fault-injection suite of {@code radio extract}: the driver is killed with SIGKILL at each
 * fault point ({@code -Dradio.extract.faultPoint}, in a child JVM), or a task or the model load
 * fails. After each, the same command rerun succeeds and leaves exactly one row per image, made
 * with the intended model and settings; a further rerun commits nothing.
 */
class ExtractFaultInjectionTest {
    static final String MODEL =
            Path.of("../samples/model-tiny-random").toAbsolutePath().normalize().toString();
    static final String ROW_224 = "size=224x224;resize_mode=fixed;dtype=float32;features=none;features_type=float32";
    static final String ROW_112 = "size=112x112;resize_mode=fixed;dtype=float32;features=none;features_type=float32";

    static SparkSession spark;

    @TempDir
    static Path shared;
    /** Six generated images, and a table of them made once (224x224), copied by the tests that need one. */
    static Path images;

    static Path prepared;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        spark = JobsTestSpark.start("ExtractFaultInjectionTest", 2);
        images = shared.resolve("images");
        Files.createDirectories(images);
        for (int i = 1; i <= 6; i++) {
            ExtractJobTest.generatePng(images.resolve("img-" + i + ".png"), i);
        }
        prepared = shared.resolve("prepared");
        assertEquals(
                0,
                run("--input", images.toString(), "--output", prepared.toString())
                        .getKey());
    }

    @AfterAll
    static void stop() {
        JobsTestSpark.stop(spark);
    }

    /** {@code radio extract} with the tiny model, 2 images per commit, in this JVM. */
    static Map.Entry<Integer, String> run(String... args) {
        List<String> all = new ArrayList<>(List.of("--model", MODEL, "--commit-every", "2"));
        all.addAll(List.of(args));
        return ExtractJobTest.extract(all.toArray(new String[0]));
    }

    /** Runs the command in a child JVM held at {@code point}, and kills it with SIGKILL there. */
    Path killAt(String point, String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("--add-opens")
                        || a.startsWith("-Dlog4j2")
                        || a.startsWith("-XX:+Ignore")
                        || a.startsWith("-Djdk.reflect")
                        || a.startsWith("-Dio.netty"))
                .toList());
        cmd.add("-D" + ExtractFaults.FAULT_POINT + "=" + point);
        cmd.addAll(List.of(
                "-cp",
                System.getProperty("java.class.path"),
                RadioCli.class.getName(),
                "extract",
                "--model",
                MODEL,
                "--commit-every",
                "2",
                "--master",
                "local[1]",
                "--progress-seconds",
                "60"));
        cmd.addAll(List.of(args));
        Path log = tmp.resolve("child-" + point + ".log");
        Process p = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        // 300 s: at a load of 17 on two cores a child took over 180 s to reach its fault point.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
        try {
            while (p.isAlive()
                    && System.nanoTime() < deadline
                    && !(Files.exists(log) && Files.readString(log).contains("radio-fault: " + point))) {
                Thread.sleep(100);
            }
            assertTrue(
                    Files.readString(log).contains("radio-fault: " + point),
                    "the child never reached " + point + ":\n" + Files.readString(log));
        } finally {
            p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
        return log;
    }

    Path copyOfPrepared() throws Exception {
        Path table = tmp.resolve("table");
        try (var s = Files.walk(prepared)) {
            for (Path p : s.toList()) {
                Files.copy(p, table.resolve(prepared.relativize(p).toString()));
            }
        }
        return table;
    }

    static List<Row> rows(Path table) {
        return spark.read().format("delta").load(table.toString()).collectAsList();
    }

    static long version(Path table) {
        return EmbeddingTable.of(spark, table.toString()).version();
    }

    /**
     * Exactly one row per image of {@code folder}, each embedded (no error) with the tiny model and
     * {@code rowSettings}, and the table's properties say the same, with no re-embedding pending.
     */
    static void assertComplete(Path table, Path folder, String rowSettings) throws Exception {
        List<Row> rows = rows(table);
        TreeSet<String> names = new TreeSet<>();
        for (Row r : rows) {
            String path = r.getAs("path");
            names.add(path.substring(path.lastIndexOf('/') + 1));
            assertEquals("file:" + MODEL, r.getAs("model"), path);
            assertEquals(rowSettings, r.getAs("settings"), path);
            assertNull(r.getAs("error"), path);
        }
        TreeSet<String> expected = new TreeSet<>();
        try (var s = Files.list(folder)) {
            s.forEach(p -> expected.add(p.getFileName().toString()));
        }
        assertEquals(expected, names);
        assertEquals(expected.size(), rows.size());
        Map<String, String> props = EmbeddingTable.of(spark, table.toString()).properties();
        assertEquals("file:" + MODEL, props.get("radio.model"));
        assertEquals(rowSettings.substring(5, rowSettings.indexOf(';')), props.get("radio.resolution"));
        assertNull(props.get(TableSettings.REEMBED_MARKER));
    }

    /** The rerun after the fault finishes the job; the one after it commits nothing. */
    static void assertRerunFinishes(Path table, Path folder, String rowSettings, String... args) throws Exception {
        var rerun = run(args);
        assertEquals(0, rerun.getKey(), rerun.getValue());
        assertComplete(table, folder, rowSettings);
        long version = version(table);
        List<String> again = new ArrayList<>(List.of(args));
        int mode = again.indexOf("--mode");
        if (mode >= 0) {
            again.set(mode + 1, "merge"); // an overwrite always commits: the merge after it must not
        }
        var further = run(again.toArray(new String[0]));
        assertEquals(0, further.getKey(), further.getValue());
        assertEquals(0, ExtractJobTest.count(further.getValue(), "embedded"));
        assertEquals(version, version(table));
    }

    @Test
    void killedBeforeTheFirstCommitLeavesNoTable() throws Exception {
        Path table = tmp.resolve("table");
        String[] args = {"--input", images.toString(), "--output", table.toString()};
        killAt("before-first-commit", args);
        assertFalse(EmbeddingTable.of(spark, table.toString()).exists());
        assertRerunFinishes(table, images, ROW_224, args);
    }

    @Test
    void killedJustAfterCreatingTheTableLeavesAnEmptyTable() throws Exception {
        Path table = tmp.resolve("table");
        String[] args = {"--input", images.toString(), "--output", table.toString()};
        killAt("after-create", args);
        assertEquals(0, rows(table).size());
        assertEquals(
                "file:" + MODEL,
                EmbeddingTable.of(spark, table.toString()).properties().get("radio.model"));
        assertRerunFinishes(table, images, ROW_224, args);
    }

    @Test
    void killedDuringAMergeOfTheSecondChunk() throws Exception {
        Path table = tmp.resolve("table");
        Path folder = tmp.resolve("more");
        Files.createDirectories(folder);
        for (int i = 1; i <= 4; i++) {
            Files.copy(images.resolve("img-" + i + ".png"), folder.resolve("img-" + i + ".png"));
        }
        assertEquals(
                0,
                run("--input", folder.toString(), "--output", table.toString(), "--limit", "2")
                        .getKey());
        String[] args = {"--input", folder.toString(), "--output", table.toString()};
        killAt("in-merge", args);
        assertEquals(2, rows(table).size());
        assertRerunFinishes(table, folder, ROW_224, args);
    }

    @Test
    void killedBetweenChunks() throws Exception {
        Path table = tmp.resolve("table");
        String[] args = {"--input", images.toString(), "--output", table.toString()};
        killAt("between-chunks", args);
        assertEquals(2, rows(table).size());
        var rerun = run(args);
        assertEquals(2, ExtractJobTest.count(rerun.getValue(), "unchanged"));
        assertEquals(4, ExtractJobTest.count(rerun.getValue(), "embedded"));
        assertComplete(table, images, ROW_224);
        assertRerunFinishes(table, images, ROW_224, args);
    }

    /** A killed --reembed: the rerun embeds only what is left and then drops nothing that is listed. */
    @Test
    void killedDuringAReembedResumes() throws Exception {
        Path table = copyOfPrepared();
        String[] args = {"--input", images.toString(), "--output", table.toString(), "--size", "112x112", "--reembed"};
        killAt("between-chunks", args);
        List<Row> mixed = rows(table);
        assertEquals(6, mixed.size());
        assertEquals(
                2,
                mixed.stream().filter(r -> ROW_112.equals(r.getAs("settings"))).count());
        Map<String, String> props = EmbeddingTable.of(spark, table.toString()).properties();
        assertEquals("112x112", props.get("radio.resolution"));
        assertEquals("true", props.get(TableSettings.REEMBED_MARKER));
        // The old settings are refused now: the table's target is the new ones.
        assertEquals(
                1,
                run("--input", images.toString(), "--output", table.toString()).getKey());
        // Resumed without --reembed (the target is this run's settings): only the 4 left are embedded.
        String[] resume = {"--input", images.toString(), "--output", table.toString(), "--size", "112x112"};
        var rerun = run(resume);
        assertEquals(0, rerun.getKey());
        assertEquals(4, ExtractJobTest.count(rerun.getValue(), "embedded"));
        assertComplete(table, images, ROW_112);
        assertRerunFinishes(table, images, ROW_112, args);
    }

    /** An overwrite killed while staging, or just before it replaces the table: the old table is intact. */
    @Test
    void killedOverwriteLeavesTheOldTableIntact() throws Exception {
        Path table = copyOfPrepared();
        long before = version(table);
        Path few = tmp.resolve("few");
        Files.createDirectories(few);
        for (int i = 5; i <= 8; i++) {
            ExtractJobTest.generatePng(few.resolve("few-" + i + ".png"), 10 + i);
        }
        String[] args = {"--input", few.toString(), "--output", table.toString(), "--mode", "overwrite"};
        killAt("between-chunks", args);
        assertEquals(before, version(table));
        assertComplete(table, images, ROW_224);
        assertTrue(Files.isDirectory(table.resolve(EmbeddingTable.STAGING)));

        killAt("before-replace", args);
        assertEquals(before, version(table));
        assertComplete(table, images, ROW_224);

        // The rerun finishes the staging table and replaces the table in one commit.
        var rerun = run(args);
        assertEquals(0, rerun.getKey(), rerun.getValue());
        assertEquals(before + 1, version(table));
        assertComplete(table, few, ROW_224);
        assertFalse(Files.exists(table.resolve(EmbeddingTable.STAGING)));
        assertRerunFinishes(table, few, ROW_224, args);
    }

    @Test
    void aFailedTaskCommitsNothingAndTheRerunFinishes() throws Exception {
        Path table = tmp.resolve("table");
        String[] args = {"--input", images.toString(), "--output", table.toString()};
        System.setProperty(ExtractFaults.FAULT_POINT, "task-failure");
        Map.Entry<Integer, String> failed;
        try {
            failed = run(args);
        } finally {
            System.clearProperty(ExtractFaults.FAULT_POINT);
        }
        assertEquals(4, failed.getKey(), "an unexpected exception in the tasks is an internal error");
        assertEquals(0, rows(table).size());
        assertRerunFinishes(table, images, ROW_224, args);
    }

    @Test
    void aFailedModelLoadWritesNothingAndTheRerunFinishes() throws Exception {
        Path table = tmp.resolve("table");
        String[] args = {"--input", images.toString(), "--output", table.toString()};
        List<String> limited = new ArrayList<>(List.of(args));
        limited.addAll(List.of("--limit", "3"));
        assertEquals(0, run(limited.toArray(new String[0])).getKey());
        long before = version(table);
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream oldErr = System.err;
        System.setProperty(ExtractFaults.FAULT_POINT, "model-load");
        System.setErr(new PrintStream(err, true));
        try {
            assertEquals(1, run(args).getKey());
        } finally {
            System.clearProperty(ExtractFaults.FAULT_POINT);
            System.setErr(oldErr);
        }
        assertEquals(
                "radio extract: Injected fault: the checkpoint failed to load.",
                err.toString().strip());
        assertEquals(before, version(table));
        assertEquals(3, rows(table).size());
        assertRerunFinishes(table, images, ROW_224, args);
    }
}
