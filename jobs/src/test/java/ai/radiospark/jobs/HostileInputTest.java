package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Inputs that used to break a job: symbolic-link loops, a FIFO named like an image, a ':' in a
 * file name (folders), and a path in a table input whose file is gone.
 */
class HostileInputTest {
    static final Path IMAGES = ExtractJobTest.GOLDEN.resolve("images").toAbsolutePath();
    static final List<String> FIVE = List.of("camera.png", "chelsea.png", "china.jpg", "gray.jpg", "rgba.png");

    static SparkSession spark;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        spark = JobsTestSpark.start("HostileInputTest", 2);
    }

    @AfterAll
    static void stop() {
        JobsTestSpark.stop(spark);
    }

    /** The five images in {@code dir}, with {@code names[i]} as the name of FIVE[i] where given. */
    static Path fiveImages(Path dir, String... names) throws Exception {
        Files.createDirectories(dir);
        for (int i = 0; i < FIVE.size(); i++) {
            Files.copy(IMAGES.resolve(FIVE.get(i)), dir.resolve(i < names.length ? names[i] : FIVE.get(i)));
        }
        return dir;
    }

    static void mkfifo(Path p) throws Exception {
        Process mk = new ProcessBuilder("mkfifo", p.toString()).inheritIO().start();
        assertEquals(0, mk.waitFor(), "mkfifo " + p);
    }

    static Map<String, Row> rowsByName(String table) {
        Map<String, Row> byName = new TreeMap<>();
        for (Row r : spark.read().format("delta").load(table).collectAsList()) {
            String path = r.getAs("path");
            assertNull(byName.put(path.substring(path.lastIndexOf('/') + 1), r), "one row per name: " + path);
        }
        return byName;
    }

    static TreeSet<String> names(List<Row> listed) {
        TreeSet<String> out = new TreeSet<>();
        for (Row r : listed) {
            String path = r.getString(0);
            out.add(path.substring(path.lastIndexOf('/') + 1));
        }
        return out;
    }

    @Test
    void symlinkLoopsListEachImageOnce() throws Exception {
        Path dir = fiveImages(tmp.resolve("in"));
        Files.createDirectories(dir.resolve("sub"));
        Files.move(dir.resolve("gray.jpg"), dir.resolve("sub/gray.jpg"));
        Files.createSymbolicLink(dir.resolve("loop"), Path.of("."));
        ImageListing listing = ImageListing.of(spark, dir.toString(), ImageListing.DEFAULT_EXTENSIONS, "path", null);
        List<Row> listed = listing.listFolder();
        assertEquals(5, listed.size(), listed.size() + " rows: " + listed);
        assertEquals(new TreeSet<>(FIVE), names(listed));
        assertTrue(listed.stream().anyMatch(r -> r.getString(0).equals("file:" + dir.resolve("sub/gray.jpg"))));

        // Links up, and to a folder already listed, in a subfolder: still each image once, promptly.
        Files.createSymbolicLink(dir.resolve("sub/up"), Path.of(".."));
        Files.createSymbolicLink(dir.resolve("sub/again"), dir.resolve("sub"));
        assertEquals(listed, assertTimeoutPreemptively(Duration.ofSeconds(60), listing::listFolder));
    }

    @Test
    void foldersDeeperThanTheLimitAreNotListed() throws Exception {
        Path deep = tmp.resolve("in");
        for (int i = 0; i < FolderListing.MAX_DEPTH; i++) {
            deep = deep.resolve("d");
        }
        Files.createDirectories(deep.resolve("d"));
        Files.copy(IMAGES.resolve("china.jpg"), deep.resolve("at-the-limit.jpg"));
        Files.copy(IMAGES.resolve("china.jpg"), deep.resolve("d").resolve("below-the-limit.jpg"));
        List<Row> listed = ImageListing.of(
                        spark, tmp.resolve("in").toString(), ImageListing.DEFAULT_EXTENSIONS, "path", null)
                .listFolder();
        assertEquals(new TreeSet<>(List.of("at-the-limit.jpg")), names(listed));
    }

    /**
     * A FIFO named x.jpg, a ':' in a name, and a link loop, in one folder: the FIFO is an error row
     * (never opened, so nothing hangs), the ':' image is embedded, the loop adds nothing.
     */
    @Test
    void fifoColonAndLoopInAFolder() throws Exception {
        Path dir = fiveImages(tmp.resolve("hostile"), "camera:1.png");
        mkfifo(dir.resolve("x.jpg"));
        Files.createSymbolicLink(dir.resolve("loop"), Path.of("."));
        String table = tmp.resolve("table").toString();

        var run = assertTimeoutPreemptively(
                Duration.ofSeconds(300),
                () -> ExtractJobTest.extract(
                        "--input",
                        dir.toString(),
                        "--output",
                        table,
                        "--model",
                        ExtractJobTest.MODEL,
                        "--max-failed-fraction",
                        "0.5"));
        assertEquals(0, run.getKey(), run.getValue());
        Map<String, Row> rows = rowsByName(table);
        assertEquals(
                new TreeSet<>(List.of("camera:1.png", "chelsea.png", "china.jpg", "gray.jpg", "rgba.png", "x.jpg")),
                new TreeSet<>(rows.keySet()));
        for (String name : List.of("camera:1.png", "chelsea.png", "china.jpg", "gray.jpg", "rgba.png")) {
            assertNull(rows.get(name).getAs("error"), name);
            assertNotNull(rows.get(name).getAs("summary"), name);
        }
        Row colon = rows.get("camera:1.png");
        assertEquals("file:" + dir.resolve("camera:1.png"), colon.getAs("path"));
        assertEquals(Files.size(dir.resolve("camera:1.png")), (long) colon.getAs("byte_size"));
        Row fifo = rows.get("x.jpg");
        assertNull(fifo.getAs("summary"));
        assertEquals(
                "Cannot read image file file:" + dir.resolve("x.jpg") + ": IOException: it is not a regular file "
                        + "(a FIFO, socket or device?), so it is not opened: only regular files are read. Check the file, its "
                        + "permissions, and that executors can reach its file system; the next run retries it.",
                fifo.getAs("error"));
    }

    /** The pixel limit's message names --max-pixels, and radio extract takes it: refused below, embedded above. */
    @Test
    void maxPixelsOfExtractIsTheOptionTheMessageSuggests() throws Exception {
        Path dir = tmp.resolve("big");
        Files.createDirectories(dir);
        Files.copy(IMAGES.resolve("china.jpg"), dir.resolve("china.jpg")); // 640x427 = 273,280 pixels
        Files.copy(IMAGES.resolve("camera.png"), dir.resolve("camera.png")); // 512x512 = 262,144 pixels
        String low = tmp.resolve("low").toString();
        var run = ExtractJobTest.extract(
                "--input",
                dir.toString(),
                "--output",
                low,
                "--model",
                ExtractJobTest.MODEL,
                "--max-pixels",
                "270000",
                "--max-failed-fraction",
                "1");
        assertEquals(0, run.getKey(), run.getValue());
        Map<String, Row> rows = rowsByName(low);
        assertNotNull(rows.get("camera.png").getAs("summary"));
        String error = rows.get("china.jpg").getAs("error");
        assertEquals(
                "Refusing to decode image file:" + dir.resolve("china.jpg") + ": its header declares 640x427 = "
                        + "273,280 pixels, over the limit of 270,000 pixels (protects executors from decompression bombs and "
                        + "out-of-memory). Downscale the image, or raise the limit: --max-pixels of radio extract or radio "
                        + "preprocess, maxPixels of RadioEmbedder or ImagePreprocessor.",
                error);

        String high = tmp.resolve("high").toString();
        run = ExtractJobTest.extract(
                "--input", dir.toString(), "--output", high, "--model", ExtractJobTest.MODEL, "--max-pixels", "273280");
        assertEquals(0, run.getKey(), run.getValue());
        rows = rowsByName(high);
        assertNull(rows.get("china.jpg").getAs("error"));
        assertNotNull(rows.get("china.jpg").getAs("summary"));
        assertEquals(
                2,
                ExtractJobTest.extract(
                                "--input",
                                dir.toString(),
                                "--output",
                                high,
                                "--model",
                                ExtractJobTest.MODEL,
                                "--max-pixels",
                                "0")
                        .getKey(),
                "a bad option, refused before Spark starts");
    }

    /** A table of paths, one of whose files was deleted: that one is an error row, the others are embedded. */
    @Test
    void missingPathInATableInputIsAnErrorRow() throws Exception {
        Path dir = fiveImages(tmp.resolve("images"));
        StructType schema = new StructType().add("path", DataTypes.StringType).add("label", DataTypes.StringType);
        List<Row> data = new java.util.ArrayList<>();
        for (String name : FIVE) {
            // plain local paths and file: URIs both name a file
            String path = name.endsWith(".png") ? dir.resolve(name).toString() : "file:" + dir.resolve(name);
            data.add(RowFactory.create(path, "label-" + name));
        }
        String input = tmp.resolve("paths").toString();
        spark.createDataFrame(data, schema).write().format("delta").save(input);
        Files.delete(dir.resolve("chelsea.png"));
        String table = tmp.resolve("table").toString();

        var run = ExtractJobTest.extract(
                "--input", input, "--output", table, "--model", ExtractJobTest.MODEL, "--max-failed-fraction", "0.5");
        assertEquals(0, run.getKey(), run.getValue());
        Map<String, Row> rows = rowsByName(table);
        assertEquals(new TreeSet<>(FIVE), new TreeSet<>(rows.keySet()));
        Map<String, String> errors = new TreeMap<>();
        rows.forEach((name, r) -> {
            if (r.getAs("error") != null) {
                errors.put(name, r.getAs("error"));
            } else {
                assertNotNull(r.getAs("summary"), name);
                assertEquals("file:" + dir.resolve(name), r.getAs("path"));
            }
        });
        assertEquals(List.of("chelsea.png"), List.copyOf(errors.keySet()));
        String error = errors.get("chelsea.png");
        assertTrue(
                error.startsWith(
                        "Cannot read image file file:" + dir.resolve("chelsea.png") + ": FileNotFoundException: "),
                error);
        assertTrue(error.contains("Was it deleted or replaced since the listing?"), error);
        assertNull(rows.get("chelsea.png").getAs("summary"));
    }
}
