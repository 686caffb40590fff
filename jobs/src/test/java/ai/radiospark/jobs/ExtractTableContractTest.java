package ai.radiospark.jobs;

import static ai.radiospark.jobs.ExtractFaultInjectionTest.MODEL;
import static ai.radiospark.jobs.ExtractFaultInjectionTest.ROW_112;
import static ai.radiospark.jobs.ExtractFaultInjectionTest.ROW_224;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.radiospark.RadioException;
import ai.radiospark.ml.DeviceSelector;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The embedding table's contract besides kills: an output that is not a Delta table, changed
 * settings (refused, or re-embedded with --reembed, resumably and deleting nothing not replaced),
 * append, error rows, tables written before rows recorded their settings, and concurrent runs.
 */
class ExtractTableContractTest {
    static SparkSession spark;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        spark = JobsTestSpark.start("ExtractTableContractTest", 2);
    }

    @AfterAll
    static void stop() {
        JobsTestSpark.stop(spark);
    }

    /**
     * native-buckets: the table records the mode (properties and rows), and each path gets its own image's
     * embedding although a chunk's rows come out grouped by shape (the merge is on path): every row equals
     * RadioEmbedder's at batch 1.
     */
    @Test
    void nativeBucketsRecordsTheModeAndEachPathGetsItsEmbedding() throws Exception {
        Path images = folder("buckets-images", 1, 6); // 104..144 x 64: 3:2 (104 wide) and 16:9 at 256
        Path table = tmp.resolve("buckets-table");
        Result r = run(
                "--input",
                images.toString(),
                "--output",
                table.toString(),
                "--resize-mode",
                "native-buckets",
                "--size",
                "256x256",
                "--batch-size",
                "4");
        assertEquals(0, r.code(), r.err());
        assertEquals(
                "native-buckets",
                EmbeddingTable.of(spark, table.toString()).properties().get("radio.resize_mode"));
        Map<String, Row> rows = rows(table);
        assertEquals(6, rows.size());
        List<Row> single = new ai.radiospark.ml.RadioEmbedder()
                .setModel(MODEL)
                .setResizeMode("native-buckets")
                .setImageSize(256)
                .setBatchSize(1)
                .setImageInfoCol("info")
                .transform(spark.read().format("binaryFile").load(images.toString()))
                .collectAsList();
        assertEquals(6, single.size());
        for (Row s : single) {
            String path = s.getAs("path");
            String name = path.substring(path.lastIndexOf('/') + 1);
            Row t = rows.get(name);
            assertNull(t.getAs("error"), name);
            assertTrue(((String) t.getAs("settings")).contains("resize_mode=native-buckets"), name);
            Row info = s.getAs("info");
            // 3:2 is 256x176, 16:9 256x144
            assertEquals(name.equals("img-1.png") ? 176 : 144, info.getInt(2), name);
            assertEquals(256, info.getInt(3), name);
            List<Float> expected = s.getList(s.fieldIndex("summary"));
            List<Float> actual = t.getList(t.fieldIndex("summary"));
            assertEquals(expected.size(), actual.size());
            for (int i = 0; i < expected.size(); i++) {
                assertEquals(expected.get(i), actual.get(i), 1e-4f, name + " summary[" + i + "]");
            }
        }
    }

    /** Exit code, standard output and standard error of {@code radio extract} with the tiny model. */
    record Result(int code, String out, String err) {}

    static Result run(String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream old = System.err;
        System.setErr(new PrintStream(err, true));
        Map.Entry<Integer, String> r;
        try {
            r = ExtractFaultInjectionTest.run(args);
        } finally {
            System.setErr(old);
        }
        System.err.print(err);
        return new Result(r.getKey(), r.getValue(), err.toString());
    }

    Path folder(String name, int from, int to) throws Exception {
        Path dir = tmp.resolve(name);
        Files.createDirectories(dir);
        for (int i = from; i <= to; i++) {
            ExtractJobTest.generatePng(dir.resolve("img-" + i + ".png"), i);
        }
        return dir;
    }

    static String qualified(Path table) {
        return EmbeddingTable.of(spark, table.toString()).name();
    }

    static long version(Path table) {
        return EmbeddingTable.of(spark, table.toString()).version();
    }

    static Map<String, Row> rows(Path table) {
        return spark.read().format("delta").load(table.toString()).collectAsList().stream()
                .collect(Collectors.toMap(
                        r -> ((String) r.getAs("path")).substring(((String) r.getAs("path")).lastIndexOf('/') + 1),
                        r -> r));
    }

    static Map<String, String> settingsByName(Path table) {
        return rows(table).entrySet().stream()
                .collect(Collectors.toMap(
                        Map.Entry::getKey,
                        e -> String.valueOf((Object) e.getValue().getAs("settings"))));
    }

    /**
     * The default dtype {@code auto} is resolved on the driver before anything is recorded: on this
     * CPU machine float32, so a table written with the former default, an explicit float32, takes
     * a rerun with the default as the same settings (no refusal, no --reembed) and its new rows and
     * properties say float32, never auto.
     */
    @Test
    void aFloat32TableRerunWithTheAutoDefaultOnTheCpuKeepsItsSettings() throws Exception {
        Path images = folder("images", 1, 2);
        Path table = tmp.resolve("table");
        Result first = run("--input", images.toString(), "--output", table.toString(), "--dtype", "float32");
        assertEquals(0, first.code(), first.err());
        Map<String, String> props = EmbeddingTable.of(spark, table.toString()).properties();
        assertEquals("float32", props.get("radio.dtype"));
        ExtractJobTest.generatePng(images.resolve("img-3.png"), 3);
        Result auto = run("--input", images.toString(), "--output", table.toString());
        assertEquals(0, auto.code(), auto.err());
        assertTrue(auto.out().contains("embedded   1 "), auto.out());
        assertEquals(props, EmbeddingTable.of(spark, table.toString()).properties());
        Map<String, Row> rows = rows(table);
        assertEquals(3, rows.size());
        for (Row r : rows.values()) {
            assertEquals(ROW_224, r.getAs("settings"));
            assertEquals("float32", r.getAs("dtype"));
        }
        Result explicit = run("--input", images.toString(), "--output", table.toString(), "--dtype", "auto");
        assertEquals(0, explicit.code(), explicit.err());
        assertTrue(explicit.out().contains("unchanged  3 "), explicit.out());
    }

    /**
     * dtype auto in local mode is decided by counting the GPUs PyTorch sees, which loads its engine: a
     * rerun with nothing to embed and a dry run, into a table whose dtype auto can stand for, never
     * count them and record nothing; a run with an image to embed counts them and records float32 (on
     * this CPU machine), as a run into a new table does.
     */
    @Test
    void dtypeAutoIsDecidedOnlyWhenSomethingIsEmbedded() throws Exception {
        Path images = folder("images", 1, 2);
        Path table = tmp.resolve("table");
        long asked = DeviceSelector.gpuCountRequests();
        Result first = into(images, table);
        assertEquals(0, first.code(), first.err());
        assertTrue(DeviceSelector.gpuCountRequests() > asked, "a run into a new table decides dtype auto");
        Map<String, String> props = properties(table);
        assertEquals("float32", props.get("radio.dtype"));
        long version = version(table);

        asked = DeviceSelector.gpuCountRequests();
        assertUnchanged(into(images, table), 2, table, version);
        ExtractJobTest.generatePng(images.resolve("img-3.png"), 3);
        Result dry = into(images, table, "--dry-run");
        assertEquals(0, dry.code(), dry.err());
        assertTrue(dry.out().contains("; 1 would be embedded into "), dry.out());
        assertEquals(asked, DeviceSelector.gpuCountRequests(), "the rerun or the dry run counted the GPUs");
        assertEquals(props, properties(table));
        assertEquals(version, version(table));

        assertEmbeddedInFloat32(into(images, table), 1, table);
        assertTrue(DeviceSelector.gpuCountRequests() > asked, "a run with an image to embed decides dtype auto");
        assertEquals(props, properties(table));
    }

    /**
     * A bfloat16 table rerun with dtype auto on this CPU machine: with nothing to embed, auto stands for
     * the table's dtype and the run changes nothing; with an image to embed, auto is decided (float32)
     * and the run is refused as a changed --dtype, naming --reembed, which then re-embeds every image in
     * float32.
     */
    @Test
    void aBfloat16TableRerunWithAutoOnTheCpuDecidesWhenItEmbeds() throws Exception {
        Path images = folder("images", 1, 2);
        Path table = tmp.resolve("table");
        Result first = into(images, table, "--dtype", "bfloat16");
        assertEquals(0, first.code(), first.err());
        Map<String, String> props = properties(table);
        assertEquals("bfloat16", props.get("radio.dtype"));
        long version = version(table);
        assertUnchanged(into(images, table), 2, table, version);

        ExtractJobTest.generatePng(images.resolve("img-3.png"), 3);
        Result refused = into(images, table);
        assertEquals(1, refused.code(), refused.out());
        assertTrue(
                refused.err().contains("other settings than this run's: --dtype float32 (the table: bfloat16)."),
                refused.err());
        assertEquals(version, version(table));
        assertEquals(props, properties(table));

        assertEmbeddedInFloat32(into(images, table, "--reembed"), 3, table);
        assertEquals("float32", properties(table).get("radio.dtype"));
    }

    /** {@code radio extract --input images --output table} and {@code extra}. */
    static Result into(Path images, Path table, String... extra) {
        List<String> args = new ArrayList<>(List.of("--input", images.toString(), "--output", table.toString()));
        args.addAll(List.of(extra));
        return run(args.toArray(new String[0]));
    }

    static Map<String, String> properties(Path table) {
        return EmbeddingTable.of(spark, table.toString()).properties();
    }

    /** The run succeeded, found {@code images} unchanged and left the table at {@code version}. */
    static void assertUnchanged(Result r, int images, Path table, long version) {
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("unchanged  " + images + " "), r.out());
        assertEquals(version, version(table));
    }

    /** The run succeeded and embedded {@code images}; every row of the table is float32 at 224x224. */
    static void assertEmbeddedInFloat32(Result r, int images, Path table) {
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("embedded   " + images + " "), r.out());
        Map<String, Row> rows = rows(table);
        assertEquals(3, rows.size());
        for (Row row : rows.values()) {
            assertEquals(ROW_224, row.getAs("settings"));
            assertEquals("float32", row.getAs("dtype"));
        }
    }

    /** Item 1: leftovers of an aborted first write are removed; anything else that is not a table is refused. */
    @Test
    void anOutputThatIsNotADeltaTable() throws Exception {
        Path images = folder("images", 1, 2);
        // What a first write that died before its commit leaves: a log without commits, data files.
        Path aborted = tmp.resolve("aborted");
        Files.createDirectories(aborted.resolve("_delta_log/_staged_commits"));
        Files.writeString(aborted.resolve("_delta_log/_staged_commits/00000000000000000000.3f2a.json"), "{}");
        Files.writeString(aborted.resolve("part-00000-3f2a-c000.snappy.parquet"), "uncommitted");
        Files.writeString(aborted.resolve(".part-00000-3f2a-c000.snappy.parquet.crc"), "crc");
        Files.createDirectories(aborted.resolve("resolution=224x224"));
        Files.writeString(aborted.resolve("resolution=224x224/part-00001-3f2a-c000.snappy.parquet"), "uncommitted");
        Result r = run("--input", images.toString(), "--output", aborted.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("removed what an aborted first write left in " + qualified(aborted)), r.out());
        assertEquals(2, rows(aborted).size());
        assertFalse(Files.exists(aborted.resolve("resolution=224x224")));

        Path file = tmp.resolve("table.txt");
        Files.writeString(file, "mine");
        Result onFile = run("--input", images.toString(), "--output", file.toString());
        assertEquals(1, onFile.code());
        // Found before Spark starts (LocalPaths), for local outputs.
        assertEquals(
                "radio extract: --output " + file + " is a file, not a folder, so no table can be written there. "
                        + "Choose another --output.",
                onFile.err().strip());
        assertEquals("mine", Files.readString(file));

        Path foreign = tmp.resolve("foreign");
        Files.createDirectories(foreign.resolve("_delta_log"));
        Files.writeString(foreign.resolve("notes.txt"), "mine");
        Result onFolder = run("--input", images.toString(), "--output", foreign.toString());
        assertEquals(1, onFolder.code());
        assertEquals(
                "radio extract: --output " + qualified(foreign) + " is a folder that is not a Delta table and holds "
                        + "a file notes.txt: radio extract writes only to a Delta table, a new path or an empty folder. Give another "
                        + "--output, or empty the folder.",
                onFolder.err().strip());
        assertEquals("mine", Files.readString(foreign.resolve("notes.txt")));
        assertTrue(Files.isDirectory(foreign.resolve("_delta_log")));
    }

    /** A first run whose tasks all failed (say --dtype float16 on a CPU) leaves an empty table: the next run's settings win. */
    @Test
    void anEmptyTableTakesTheNextRunsSettings() throws Exception {
        Path images = folder("images", 1, 2);
        Path table = tmp.resolve("table");
        System.setProperty(ExtractFaults.FAULT_POINT, "task-failure");
        try {
            // An unexpected exception in every task: an internal error under the error contract (exit 4).
            assertEquals(
                    4,
                    run("--input", images.toString(), "--output", table.toString(), "--size", "112x112")
                            .code());
        } finally {
            System.clearProperty(ExtractFaults.FAULT_POINT);
        }
        assertEquals(
                "112x112",
                EmbeddingTable.of(spark, table.toString()).properties().get("radio.resolution"));
        assertEquals(0, rows(table).size());
        Result r = run("--input", images.toString(), "--output", table.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals(
                "224x224",
                EmbeddingTable.of(spark, table.toString()).properties().get("radio.resolution"));
        Map<String, String> settings = settingsByName(table);
        assertEquals(2, settings.size());
        assertTrue(settings.values().stream().allMatch(ROW_224::equals), settings.toString());
    }

    /**
     * Items 2, 3, 4, 5: every setting that changes the vectors is refused naming both values, in
     * merge and append mode; --reembed --limit deletes nothing; a merge run with the new settings
     * finishes it, embedding only what is left, and then drops the old rows of unlisted paths only.
     */
    @Test
    void changedSettingsAreRefusedOrReembedded() throws Exception {
        Path images = folder("images", 1, 6);
        Path table = tmp.resolve("table");
        assertEquals(
                0,
                run("--input", images.toString(), "--output", table.toString()).code());
        long version = version(table);
        Map<String, String> props = EmbeddingTable.of(spark, table.toString()).properties();
        String prefix = "radio extract: The table " + qualified(table) + " holds embeddings made with other settings "
                + "than this run's: ";
        String merge =
                ". Embeddings made differently must not be mixed: pass --reembed to re-embed every image with the "
                        + "new model and settings (a killed --reembed resumes with the same command), or write to another --output.";
        for (List<String> change : List.of(
                List.of("--size", "112x112", "--size 112x112 (the table: 224x224)"),
                List.of("--resize-mode", "native", "--resize-mode native (the table: fixed)"),
                List.of("--features", "pooled:2x2", "--features pooled:2x2 (the table: none)"),
                List.of("--features-type", "float16", "--features-type float16 (the table: float32)"))) {
            Result r = run("--input", images.toString(), "--output", table.toString(), change.get(0), change.get(1));
            assertEquals(1, r.code(), r.out());
            assertEquals(prefix + change.get(2) + merge, r.err().strip());
        }
        Result two = run(
                "--input", images.toString(), "--output", table.toString(), "--size", "112x112", "--dtype", "bfloat16");
        assertEquals(
                prefix + "--size 112x112 (the table: 224x224); --dtype bfloat16 (the table: float32)" + merge,
                two.err().strip());
        Path otherModel = tmp.resolve("other-model");
        assertEquals(0, RadioCli.run("init", "--shape", "tiny", "--output", otherModel.toString(), "--seed", "3"));
        ByteArrayOutputStream modelErr = new ByteArrayOutputStream();
        PrintStream oldErr = System.err;
        System.setErr(new PrintStream(modelErr, true));
        try {
            assertEquals(
                    1,
                    ExtractJobTest.extract(
                                    "--input",
                                    images.toString(),
                                    "--output",
                                    table.toString(),
                                    "--model",
                                    otherModel.toString())
                            .getKey());
        } finally {
            System.setErr(oldErr);
        }
        Result model = new Result(1, "", modelErr.toString());
        assertTrue(model.err().startsWith(prefix + "--model file:" + otherModel + " is checkpoint "), model.err());
        assertTrue(
                model.err()
                        .contains("(the table: file:" + MODEL + ", checkpoint "
                                + props.get("radio.checkpoint_sha256").substring(0, 12) + ")"),
                model.err());
        Result append = run(
                "--input", images.toString(), "--output", table.toString(), "--mode", "append", "--size", "112x112");
        assertEquals(
                prefix + "--size 112x112 (the table: 224x224). Embeddings made differently must not be mixed: "
                        + "--mode append never changes a table's settings: use --mode merge --reembed to re-embed every image with "
                        + "this run's, or write to another --output.",
                append.err().strip());
        // Nothing was committed by the refused runs.
        assertEquals(version, version(table));
        assertEquals(props, EmbeddingTable.of(spark, table.toString()).properties());

        // --reembed --limit 2: two rows replaced, none deleted; the table's target is now 112x112.
        Result limited = run(
                "--input",
                images.toString(),
                "--output",
                table.toString(),
                "--size",
                "112x112",
                "--reembed",
                "--limit",
                "2");
        assertEquals(0, limited.code(), limited.err());
        Map<String, String> settings = settingsByName(table);
        assertEquals(6, settings.size());
        assertEquals(2, settings.values().stream().filter(ROW_112::equals).count());
        assertEquals(4, settings.values().stream().filter(ROW_224::equals).count());
        Map<String, String> mid = EmbeddingTable.of(spark, table.toString()).properties();
        assertEquals("112x112", mid.get("radio.resolution"));
        assertEquals("true", mid.get(TableSettings.REEMBED_MARKER));

        // radio similar compares only the rows made as the table's properties say.
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream old = System.out;
        System.setOut(new PrintStream(out, true));
        try {
            assertEquals(
                    0,
                    RadioCli.run(
                            "similar",
                            "--table",
                            table.toString(),
                            "--image",
                            images.resolve("img-1.png").toString(),
                            "--k",
                            "10",
                            "--master",
                            "local[2]"));
        } finally {
            System.setOut(old);
        }
        String[] lines = out.toString().split("\n");
        assertTrue(lines[0].startsWith("search: exact scan (no index at "), lines[0]);
        assertEquals("Nearest 2 of " + table + " to " + images.resolve("img-1.png") + ":", lines[1]);
        assertEquals(
                "(4 rows made with another model or settings than the table's skipped: a --reembed is not "
                        + "finished; rerun it to include them)",
                lines[2]);
        assertTrue(lines[3].matches("\\s+1\\s+1\\.0000\\d\\d\\s+.*img-1\\.png"), lines[3]);

        // The same settings without --reembed finish it: only the 3 left of the listed 5 are embedded,
        // and the old row of img-6, no longer listed, goes in the last MERGE.
        Files.delete(images.resolve("img-6.png"));
        Result finish = run("--input", images.toString(), "--output", table.toString(), "--size", "112x112");
        assertEquals(0, finish.code(), finish.err());
        assertEquals(3, ExtractJobTest.count(finish.out(), "embedded"));
        settings = settingsByName(table);
        assertEquals(5, settings.size(), settings.toString());
        assertTrue(settings.values().stream().allMatch(ROW_112::equals), settings.toString());
        assertNull(EmbeddingTable.of(spark, table.toString()).properties().get(TableSettings.REEMBED_MARKER));
        long done = version(table);
        Result again =
                run("--input", images.toString(), "--output", table.toString(), "--size", "112x112", "--reembed");
        assertEquals(0, ExtractJobTest.count(again.out(), "embedded"));
        assertEquals(done, version(table));
    }

    /**
     * Item 7: a row whose bytes were never read is retried on every run; a refused image is skipped
     * while its file is unchanged, and retried with --retry-errors.
     */
    @Test
    void errorRowsAreRetriedAsDocumented() throws Exception {
        Path images = folder("images", 1, 2);
        Path good = tmp.resolve("good.png");
        ExtractJobTest.generatePng(good, 7);
        byte[] png = Files.readAllBytes(good);
        Path bad = images.resolve("bad.png");
        Files.write(bad, new byte[png.length]); // zeros: read, and refused
        FileTime mtime = FileTime.fromMillis(1_700_000_000_000L);
        Files.setLastModifiedTime(bad, mtime);
        Path table = tmp.resolve("table");
        String[] args = {"--input", images.toString(), "--output", table.toString(), "--max-failed-fraction", "1"};
        assertEquals(0, run(args).code());
        Row refused = rows(table).get("bad.png");
        assertNotNull(refused.getAs("error"));
        assertNotNull(refused.getAs("content_sha256"));

        // Fixed with the same size and modification time: skipped as unchanged until --retry-errors.
        Files.write(bad, png);
        Files.setLastModifiedTime(bad, mtime);
        long version = version(table);
        Result skipped = run(args);
        assertEquals(3, ExtractJobTest.count(skipped.out(), "unchanged"));
        assertEquals(version, version(table));
        List<String> retry = new ArrayList<>(List.of(args));
        retry.add("--retry-errors");
        Result retried = run(retry.toArray(new String[0]));
        assertEquals(1, ExtractJobTest.count(retried.out(), "embedded"));
        assertNull(rows(table).get("bad.png").getAs("error"));

        // A read error (no bytes, so no content hash) is retried by the next run, though the file is unchanged.
        spark.sql("UPDATE delta.`" + qualified(table) + "` SET error = 'cannot read', content_sha256 = NULL, "
                + "summary = NULL WHERE path LIKE '%img-1.png'");
        Result reread = run(args);
        assertEquals(1, ExtractJobTest.count(reread.out(), "embedded"));
        assertEquals(2, ExtractJobTest.count(reread.out(), "unchanged"));
        Row img1 = rows(table).get("img-1.png");
        assertNull(img1.getAs("error"));
        assertNotNull(img1.getAs("summary"));
    }

    /** A table written before rows recorded their settings: its rows are the properties' settings. */
    @Test
    void aTableWithoutTheSettingsColumnKeepsWorking() throws Exception {
        Path images = folder("images", 1, 4);
        Path fresh = tmp.resolve("fresh");
        assertEquals(
                0,
                run("--input", images.toString(), "--output", fresh.toString()).code());
        Path legacy = tmp.resolve("legacy");
        var w = spark.read()
                .format("delta")
                .load(fresh.toString())
                .drop("settings")
                .writeTo("delta.`" + legacy.toAbsolutePath() + "`")
                .using("delta");
        for (Map.Entry<String, String> e :
                EmbeddingTable.of(spark, fresh.toString()).properties().entrySet()) {
            if (e.getKey().startsWith("radio.")) {
                w = w.tableProperty(e.getKey(), e.getValue());
            }
        }
        w.create();
        Result r = run("--input", images.toString(), "--output", legacy.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals(4, ExtractJobTest.count(r.out(), "unchanged"));
        assertEquals(0, ExtractJobTest.count(r.out(), "embedded"));
        long version = version(legacy);
        assertEquals(
                0,
                ExtractJobTest.count(
                        run("--input", images.toString(), "--output", legacy.toString())
                                .out(),
                        "embedded"));
        assertEquals(version, version(legacy));
        // A re-embedding first records the old rows' settings, then replaces some of them.
        assertEquals(
                0,
                run(
                                "--input",
                                images.toString(),
                                "--output",
                                legacy.toString(),
                                "--size",
                                "112x112",
                                "--reembed",
                                "--limit",
                                "1")
                        .code());
        Map<String, String> settings = settingsByName(legacy);
        assertEquals(1, settings.values().stream().filter(ROW_112::equals).count(), settings.toString());
        assertEquals(3, settings.values().stream().filter(ROW_224::equals).count(), settings.toString());
    }

    /** Runs {@code radio extract} on its own SparkSession of the shared SparkContext; returns the error, if any. */
    static CompletableFuture<Throwable> extractAsync(String... args) {
        return CompletableFuture.supplyAsync(() -> {
            ExtractCommand c = new ExtractCommand();
            List<String> all =
                    new ArrayList<>(List.of("--model", MODEL, "--commit-every", "2", "--progress-seconds", "60"));
            all.addAll(List.of(args));
            new CommandLine(c).parseArgs(all.toArray(new String[0]));
            try {
                new ExtractJob(spark.newSession(), c.options(), new PrintStream(new ByteArrayOutputStream())).run();
                return null;
            } catch (Throwable t) {
                return t;
            }
        });
    }

    /** Both runs finish, or the loser fails with one line; the table has exactly one row per image. */
    static void assertConcurrentRuns(
            Path table, int images, CompletableFuture<Throwable> a, CompletableFuture<Throwable> b) throws Exception {
        for (Throwable t : List.of(a, b).stream().map(CompletableFuture::join).toList()) {
            if (t != null) {
                t.printStackTrace();
                assertTrue(t instanceof RadioException, () -> "not a one-line error: " + t);
                assertFalse(t.getMessage().contains("\n"), t.getMessage());
                assertTrue(t.getMessage().contains("run the same command again"), t.getMessage());
            }
        }
        var all = spark.read().format("delta").load(table.toString());
        assertEquals(images, all.count());
        assertEquals(images, all.select("path").distinct().count());
        assertEquals(1, all.select("settings").distinct().count());
    }

    /** Item 10: two runs at once, into a new table with the same input, and into an existing one with disjoint inputs. */
    @Test
    void concurrentRunsEndWithOneRowPerImage() throws Exception {
        Path images = folder("images", 1, 4);
        Path created = tmp.resolve("created");
        assertConcurrentRuns(
                created,
                4,
                extractAsync("--input", images.toString(), "--output", created.toString()),
                extractAsync("--input", images.toString(), "--output", created.toString()));

        Path left = folder("left", 11, 14);
        Path right = folder("right", 21, 24);
        Path existing = tmp.resolve("existing");
        assertEquals(
                0,
                run("--input", left.toString(), "--output", existing.toString(), "--limit", "1")
                        .code());
        assertConcurrentRuns(
                existing,
                8,
                extractAsync("--input", left.toString(), "--output", existing.toString()),
                extractAsync("--input", right.toString(), "--output", existing.toString()));
    }
}
