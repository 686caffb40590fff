package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.radiospark.model.Checkpoint;
import ai.radiospark.model.RadioWeights;
import ai.radiospark.model.SafetensorsFile;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import javax.imageio.ImageIO;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The extraction job end to end on local Spark: golden images plus generated ones into a Delta
 * table, read back with {@code spark.read.format("delta")}.
 */
class ExtractJobTest {
    static final Path GOLDEN = ai.radiospark.model.GoldenResources.dir();
    static final String MODEL =
            GOLDEN.resolve("tiny-vit/checkpoint").toAbsolutePath().toString();
    /** Lossless sources differ from the reference pixels by ≤ 2/255; JPEG decoders differ slightly more (image issue). */
    static final double LOSSLESS_COSINE = 0.9999;

    static final double JPEG_COSINE = 0.999;

    static SparkSession spark;

    @TempDir
    Path tmp;

    /** The checkpoint hash cache (README: RADIO_CACHE_DIR / -Dradio.cache.dir), here and not in ~/.cache. */
    @TempDir
    static Path cache;

    @BeforeAll
    static void start() {
        System.setProperty("radio.cache.dir", cache.toString());
        spark = JobsTestSpark.start("ExtractJobTest", 2);
    }

    @AfterAll
    static void stop() {
        JobsTestSpark.stop(spark);
        System.clearProperty("radio.cache.dir");
    }

    /** Runs {@code radio extract} in this JVM; returns exit code and standard output. */
    static Map.Entry<Integer, String> extract(String... args) {
        return extractEvery(60, args);
    }

    /** {@link #extract} with a progress line every {@code progressSeconds}. */
    static Map.Entry<Integer, String> extractEvery(int progressSeconds, String... args) {
        List<String> all = new ArrayList<>(
                List.of("extract", "--master", "local[2]", "--progress-seconds", String.valueOf(progressSeconds)));
        all.addAll(List.of(args));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream old = System.out;
        int code;
        System.setOut(new PrintStream(out, true));
        try {
            code = RadioCli.run(all.toArray(new String[0]));
        } finally {
            System.setOut(old);
        }
        String text = out.toString();
        System.out.println(text);
        return Map.entry(code, text);
    }

    /** The options of a run of the tiny model over {@code images} into {@code table}, bad images allowed. */
    static String[] allInto(Path images, String table) {
        return new String[] {
            "--input", images.toString(), "--output", table, "--model", MODEL, "--max-failed-fraction", "0.5"
        };
    }

    /** The table version the summary printed. */
    static long tableVersion(String output) {
        for (String line : output.split("\n")) {
            String t = line.trim();
            if (t.startsWith("table ")) {
                return Long.parseLong(t.substring(t.lastIndexOf("version ") + 8).trim());
            }
        }
        throw new AssertionError("no table line in:\n" + output);
    }

    static long count(String output, String label) {
        for (String line : output.split("\n")) {
            String t = line.trim();
            if (t.startsWith(label + " ")) {
                return Long.parseLong(
                        t.substring(label.length()).trim().split(" ")[0].replace(",", ""));
            }
        }
        throw new AssertionError("no line '" + label + "' in:\n" + output);
    }

    /**
     * The golden images, a zero-byte file and two generated PNGs. The zero-byte {@code empty.jpg} is
     * listed and becomes an error row ("the file is empty"), as every bad image does.
     */
    Path imageFolder() throws Exception {
        Path dir = tmp.resolve("images");
        Files.createDirectories(dir.resolve("nested"));
        try (var s = Files.list(GOLDEN.resolve("images"))) {
            for (Path p : s.toList()) {
                Path target = p.getFileName().toString().endsWith(".png")
                        ? dir.resolve("nested").resolve(p.getFileName())
                        : dir.resolve(p.getFileName());
                Files.copy(p, target);
            }
        }
        Files.createFile(dir.resolve("empty.jpg"));
        Files.writeString(dir.resolve("notes.txt"), "not an image extension: never listed");
        generatePng(dir.resolve("generated-1.png"), 1);
        generatePng(dir.resolve("generated-2.png"), 2);
        return dir;
    }

    static void generatePng(Path file, long seed) throws Exception {
        Random r = new Random(seed);
        BufferedImage img = new BufferedImage(96 + (int) seed * 8, 64, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                img.setRGB(x, y, r.nextInt(1 << 24));
            }
        }
        ImageIO.write(img, "png", file.toFile());
    }

    static Map<String, Row> rowsByName(String table) {
        Map<String, Row> byName = new HashMap<>();
        for (Row r : spark.read().format("delta").load(table).collectAsList()) {
            String path = r.getAs("path");
            byName.put(path.substring(path.lastIndexOf('/') + 1), r);
        }
        return byName;
    }

    static float[] floats(List<Float> list) {
        float[] v = new float[list.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = list.get(i);
        }
        return v;
    }

    @Test
    void folderToDeltaMatchesTheReferenceWithErrorRowsThenRunsIncrementally() throws Exception {
        Path images = imageFolder();
        String table = tmp.resolve("table").toString();
        var first = extract(
                "--input",
                images.toString(),
                "--output",
                table,
                "--model",
                MODEL,
                "--features",
                "full",
                "--max-failed-fraction",
                "0.5",
                "--commit-every",
                "7");
        assertEquals(0, first.getKey());
        Map<String, Row> rows = rowsByName(table);
        // 12 golden files + 2 generated + empty.jpg; notes.txt is not an image extension.
        assertEquals(15, rows.size(), rows.keySet().toString());
        assertEquals(
                15,
                spark.read()
                        .format("delta")
                        .load(table)
                        .select("path")
                        .distinct()
                        .count());
        assertEquals(12, count(first.getValue(), "embedded"));
        assertEquals(3, count(first.getValue(), "failed"));
        String emptyError = rows.get("empty.jpg").getAs("error");
        assertTrue(emptyError.contains("the file is empty (0 bytes)"), emptyError);
        // The summary's version is the table's last commit (Delta's history says the same).
        assertEquals(EmbeddingTable.of(spark, table).version(), tableVersion(first.getValue()));

        SafetensorsFile reference = SafetensorsFile.open(GOLDEN.resolve("images-tiny-vit-outputs-224.safetensors"));
        for (String name : List.of(
                "camera.png",
                "chelsea.png",
                "palette.png",
                "rgba.png",
                "tiny.bmp",
                "china.jpg",
                "cmyk.jpg",
                "gray.jpg",
                "progressive.jpg")) {
            Row r = rows.get(name);
            assertNull(r.getAs("error"), name);
            double cos = ai.radiospark.Cosine.similarity(
                    reference.floats(name + ".summary"), floats(r.getList(r.fieldIndex("summary"))));
            double bound = name.endsWith(".jpg") ? JPEG_COSINE : LOSSLESS_COSINE;
            assertTrue(cos >= bound, name + " summary cosine " + cos);
            Row features = r.getStruct(r.fieldIndex("features"));
            assertEquals(14, features.getInt(0));
            assertEquals(14, features.getInt(1));
            assertEquals(64, features.getInt(2));
            double fcos =
                    ai.radiospark.Cosine.similarity(reference.floats(name + ".features"), floats(features.getList(3)));
            assertTrue(fcos >= bound, name + " features cosine " + fcos);
            assertEquals("224x224", r.getAs("resolution"));
            assertEquals("float32", r.getAs("dtype"));
            assertEquals("file:" + MODEL, r.getAs("model"));
            assertEquals(64, ((String) r.getAs("checkpoint_sha256")).length());
        }
        Row china = rows.get("china.jpg");
        assertEquals(640, (int) china.getAs("width"));
        assertEquals(427, (int) china.getAs("height"));
        byte[] chinaBytes = Files.readAllBytes(GOLDEN.resolve("images/china.jpg"));
        assertEquals(chinaBytes.length, (long) china.getAs("byte_size"));
        assertEquals(
                HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(chinaBytes)),
                china.getAs("content_sha256"));
        assertNotNull(china.getAs("processed_at"));
        assertNotNull(china.getAs("modification_time"));
        for (String bad : List.of("truncated.jpg", "not-an-image.jpg")) {
            Row r = rows.get(bad);
            assertNotNull(r.getAs("error"), bad);
            String error = r.getAs("error");
            assertTrue(error.contains(bad), error);
            assertNull(r.getAs("summary"), bad);
        }
        assertNull(rows.get("gray16.png").getAs("error"));
        Map<String, String> props = EmbeddingTable.of(spark, table).properties();
        assertEquals("file:" + MODEL, props.get("radio.model"));
        assertEquals("224x224", props.get("radio.resolution"));

        // A second run adds nothing and commits nothing, and reads no weight: the checkpoint's SHA-256
        // comes from its cache, and the weights are only read when there is something to embed.
        long version = EmbeddingTable.of(spark, table).version();
        long hashes = Checkpoint.hashesComputed();
        long resolved = RadioWeights.weightsResolved();
        var second = extract("--input", images.toString(), "--output", table, "--model", MODEL, "--features", "full");
        assertEquals(hashes, Checkpoint.hashesComputed(), "the rerun hashed the checkpoint again");
        assertEquals(resolved, RadioWeights.weightsResolved(), "the rerun read the weights");
        assertEquals(0, second.getKey());
        assertEquals(15, count(second.getValue(), "unchanged"));
        assertEquals(0, count(second.getValue(), "embedded"));
        assertEquals(15, spark.read().format("delta").load(table).count());
        assertEquals(version, EmbeddingTable.of(spark, table).version());
        assertEquals(version, tableVersion(second.getValue()));

        // Three new images are the only ones embedded; a copy of a known image reuses its embedding.
        for (int i = 3; i <= 5; i++) {
            generatePng(images.resolve("nested").resolve("new-" + i + ".png"), i);
        }
        Files.copy(GOLDEN.resolve("images/chelsea.png"), images.resolve("chelsea-copy.png"));
        Map<String, Object> before = rowsByName(table).entrySet().stream()
                .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().getAs("processed_at")));
        var third = extract("--input", images.toString(), "--output", table, "--model", MODEL, "--features", "full");
        assertEquals(3, count(third.getValue(), "embedded"));
        assertEquals(1, count(third.getValue(), "reused"));
        assertEquals(15, count(third.getValue(), "unchanged"));
        assertEquals(EmbeddingTable.of(spark, table).version(), tableVersion(third.getValue()));
        assertTrue(tableVersion(third.getValue()) > version);
        Map<String, Row> after = rowsByName(table);
        assertEquals(19, after.size());
        before.forEach(
                (name, processedAt) -> assertEquals(processedAt, after.get(name).getAs("processed_at"), name));
        assertEquals(
                after.get("chelsea.png").getList(after.get("chelsea.png").fieldIndex("summary")),
                after.get("chelsea-copy.png")
                        .getList(after.get("chelsea-copy.png").fieldIndex("summary")));

        // A changed model is refused, naming --reembed; --reembed re-embeds everything with it.
        Path otherModel = tmp.resolve("other-model");
        assertEquals(0, RadioCli.run("init", "--shape", "tiny", "--output", otherModel.toString(), "--seed", "3"));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream oldErr = System.err;
        System.setErr(new PrintStream(err, true));
        try {
            var refused = extract("--input", images.toString(), "--output", table, "--model", otherModel.toString());
            assertEquals(1, refused.getKey());
        } finally {
            System.setErr(oldErr);
        }
        assertTrue(
                err.toString().contains("pass --reembed to re-embed every image with the new model"), err.toString());
        var reembed = extract(
                "--input",
                images.toString(),
                "--output",
                table,
                "--model",
                otherModel.toString(),
                "--reembed",
                "--max-failed-fraction",
                "0.5");
        assertEquals(0, reembed.getKey());
        List<Row> shas = spark.read()
                .format("delta")
                .load(table)
                .select("checkpoint_sha256")
                .distinct()
                .collectAsList();
        assertEquals(1, shas.size());
        assertEquals(19, spark.read().format("delta").load(table).count());
        // After the re-embedding merge, the delete of other models' rows and the new properties.
        assertEquals(EmbeddingTable.of(spark, table).version(), tableVersion(reembed.getValue()));
    }

    /**
     * A run with images to embed: the last progress line (every image done) is printed once, just
     * before the summary (the ticker, every second here, is still running for 2.5 s after the last
     * commit and prints no line of its own once every image is done); and the driver opens the
     * checkpoint once, its SHA-256 (before anything is recorded) and its weights coming from the same
     * opened checkpoint.
     */
    @Test
    void theLastProgressLineIsPrintedOnceAndTheCheckpointOpenedOnce() throws Exception {
        Path images = imageFolder();
        String table = tmp.resolve("table").toString();
        long opened = Checkpoint.opened();
        long resolved = RadioWeights.weightsResolved();
        System.setProperty("radio.extract.pauseAfterCommitMs", "2500");
        Map.Entry<Integer, String> r;
        try {
            r = extractEvery(1, allInto(images, table));
        } finally {
            System.clearProperty("radio.extract.pauseAfterCommitMs");
        }
        assertEquals(0, r.getKey(), r.getValue());
        assertEquals(12, count(r.getValue(), "embedded"));
        List<String> lines = r.getValue().lines().toList();
        List<String> complete = lines.stream()
                .filter(l -> l.startsWith("progress: 15/15 images (100.0%)"))
                .toList();
        assertEquals(1, complete.size(), r.getValue());
        int at = lines.indexOf(complete.get(0));
        assertTrue(lines.get(at + 1).startsWith("radio extract: done in "), r.getValue());
        assertTrue(complete.get(0).endsWith(", 3 failed, ETA 0 s"), complete.get(0));
        assertEquals(1, RadioWeights.weightsResolved() - resolved, "the weights were read once");
        assertEquals(1, Checkpoint.opened() - opened, "the checkpoint was opened once");
    }

    @Test
    void overwriteReplacesTheTableAndDryRunWritesNothing() throws Exception {
        Path images = imageFolder();
        String table = tmp.resolve("table").toString();
        assertEquals(
                0,
                extract(
                                "--input",
                                images.toString(),
                                "--output",
                                table,
                                "--model",
                                MODEL,
                                "--max-failed-fraction",
                                "0.5")
                        .getKey());
        assertEquals(15, spark.read().format("delta").load(table).count());
        Path few = tmp.resolve("few");
        Files.createDirectories(few);
        Files.copy(GOLDEN.resolve("images/china.jpg"), few.resolve("china.jpg"));
        Files.copy(GOLDEN.resolve("images/camera.png"), few.resolve("camera.png"));
        assertEquals(
                0,
                extract("--input", few.toString(), "--output", table, "--model", MODEL, "--mode", "overwrite")
                        .getKey());
        assertEquals(
                Map.of("china.jpg", 1, "camera.png", 1),
                rowsByName(table).keySet().stream().collect(Collectors.toMap(k -> k, k -> 1)));

        String dryTable = tmp.resolve("dry").toString();
        var dry = extract("--input", images.toString(), "--output", dryTable, "--model", MODEL, "--dry-run");
        assertEquals(0, dry.getKey());
        assertTrue(dry.getValue().contains("Dry run: 15 images listed"), dry.getValue());
        assertTrue(!Files.exists(Path.of(dryTable)));
    }

    @Test
    void similarRanksAnExactDuplicateFirst() throws Exception {
        Path images = imageFolder();
        Files.copy(GOLDEN.resolve("images/china.jpg"), images.resolve("nested/china-duplicate.jpg"));
        String table = tmp.resolve("table").toString();
        assertEquals(
                0,
                extract(
                                "--input",
                                images.toString(),
                                "--output",
                                table,
                                "--model",
                                MODEL,
                                "--max-failed-fraction",
                                "0.5")
                        .getKey());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream old = System.out;
        System.setOut(new PrintStream(out, true));
        try {
            assertEquals(
                    0,
                    RadioCli.run(
                            "similar",
                            "--table",
                            table,
                            "--image",
                            GOLDEN.resolve("images/china.jpg").toString(),
                            "--k",
                            "3",
                            "--master",
                            "local[2]"));
            assertEquals(
                    0,
                    RadioCli.run(
                            "similar",
                            "--table",
                            table,
                            "--path",
                            rowsByName(table).get("china.jpg").getAs("path"),
                            "--k",
                            "1",
                            "--master",
                            "local[2]"));
        } finally {
            System.setOut(old);
        }
        String[] lines = out.toString().split("\n");
        System.out.println(out);
        // Query by file (no index: the exact scan): both copies of china.jpg first, with similarity 1.
        assertTrue(lines[0].startsWith("search: exact scan (no index at "), lines[0]);
        assertTrue(lines[2].matches("\\s+1\\s+1\\.0000\\d\\d\\s+.*(china\\.jpg|china-duplicate\\.jpg)"), lines[2]);
        assertTrue(lines[3].matches("\\s+2\\s+1\\.0000\\d\\d\\s+.*(china\\.jpg|china-duplicate\\.jpg)"), lines[3]);
        // Query by path: the image itself is left out, its duplicate comes first.
        assertTrue(lines[7].matches("\\s+1\\s+1\\.0000\\d\\d\\s+.*china-duplicate\\.jpg"), lines[7]);
    }

    /** A driver killed between two commits: the rerun ends with every image present exactly once. */
    @Test
    void killedRunThenRerunGivesEveryImageExactlyOnce() throws Exception {
        Path images = imageFolder();
        String table = tmp.resolve("table").toString();
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("--add-opens")
                        || a.startsWith("-Dlog4j2")
                        || a.startsWith("-XX:+Ignore")
                        || a.startsWith("-Djdk.reflect")
                        || a.startsWith("-Dio.netty"))
                .toList());
        cmd.add("-Dradio.extract.pauseAfterCommitMs=600000");
        cmd.addAll(List.of(
                "-cp",
                System.getProperty("java.class.path"),
                RadioCli.class.getName(),
                "extract",
                "--input",
                images.toString(),
                "--output",
                table,
                "--model",
                MODEL,
                "--commit-every",
                "4",
                "--master",
                "local[1]",
                "--max-failed-fraction",
                "0.5"));
        Process p = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(tmp.resolve("child.log").toFile())
                .start();
        // Version 0 creates the table empty; version 1 is the first chunk.
        Path firstCommit = Path.of(table, "_delta_log", "00000000000000000001.json");
        // 300 s: on two cores shared with other builds (load 17) the child took over 120 s to its first commit.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
        while (!Files.exists(firstCommit) && p.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        assertTrue(
                Files.exists(firstCommit),
                "the child job never committed:\n" + Files.readString(tmp.resolve("child.log")));
        p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        long partial = spark.read().format("delta").load(table).count();
        assertTrue(partial > 0 && partial < 15, "rows after the kill: " + partial);

        var rerun = extract(
                "--input",
                images.toString(),
                "--output",
                table,
                "--model",
                MODEL,
                "--commit-every",
                "4",
                "--max-failed-fraction",
                "0.5");
        assertEquals(0, rerun.getKey());
        assertEquals(partial, count(rerun.getValue(), "unchanged"));
        var all = spark.read().format("delta").load(table);
        assertEquals(15, all.count());
        assertEquals(15, all.select("path").distinct().count());
        File[] logs = Path.of(table, "_delta_log").toFile().listFiles((d, n) -> n.endsWith(".json"));
        assertTrue(logs.length >= 2);
    }
}
