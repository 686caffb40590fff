package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.radiospark.RadioException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A folder input is listed on the driver as Spark's binaryFile source lists it (plus zero-byte files). */
class ImageListingTest {
    static SparkSession spark;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        spark = SparkSession.builder()
                .master("local[1]")
                .appName("ImageListingTest")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .getOrCreate();
    }

    @AfterAll
    static void stop() {
        spark.stop();
        SparkSession.clearActiveSession();
        SparkSession.clearDefaultSession();
    }

    private Path file(String relative, int bytes, long mtimeMs) throws Exception {
        Path p = tmp.resolve("in").resolve(relative);
        Files.createDirectories(p.getParent());
        Files.write(p, new byte[bytes]);
        Files.setLastModifiedTime(p, FileTime.fromMillis(mtimeMs));
        return p;
    }

    /** path -> "size@mtime" */
    private static Map<String, String> byPath(List<Row> rows) {
        Map<String, String> m = new TreeMap<>();
        for (Row r : rows) {
            m.put(r.getString(0), r.getLong(1) + "@" + r.getTimestamp(2).getTime());
        }
        return m;
    }

    @Test
    void tableWithContentIsListedByContentLengthAndReadFromTheTable() {
        List<Row> data = List.of(
                RowFactory.create("s3a://b/a.jpg", new byte[] {1, 2, 3}),
                RowFactory.create("s3a://b/b.png", new byte[0]),
                RowFactory.create("s3a://b/a.jpg", new byte[] {1, 2, 3}));
        StructType schema = new StructType().add("path", DataTypes.StringType).add("content", DataTypes.BinaryType);
        spark.createDataFrame(data, schema).createOrReplaceTempView("listing_images");

        ImageListing listing = ImageListing.of(spark, "listing_images", List.of("jpg"), "path", null);
        List<Row> listed = listing.files().orderBy("path").collectAsList();
        assertEquals(2, listed.size(), listed.toString()); // duplicates of a path listed once
        assertEquals("s3a://b/a.jpg", listed.get(0).getString(0));
        assertEquals(3L, listed.get(0).getLong(1));
        assertTrue(listed.get(0).isNullAt(2), "a table has no modification time");
        assertEquals(0L, listed.get(1).getLong(1));

        List<Row> read = listing.withContent(listed.subList(0, 1), 1).collectAsList();
        assertEquals(1, read.size());
        assertEquals(
                List.of("path", "byte_size", "modification_time", "content", "read_error"),
                List.of(read.get(0).schema().fieldNames()));
        assertEquals(List.of((byte) 1, (byte) 2, (byte) 3), toList((byte[])
                read.get(0).get(3)));
        assertTrue(read.get(0).isNullAt(4));
    }

    private static List<Byte> toList(byte[] b) {
        List<Byte> out = new java.util.ArrayList<>();
        for (byte x : b) {
            out.add(x);
        }
        return out;
    }

    @Test
    void folderListingMatchesSparksBinaryFileSourceAndKeepsZeroByteFiles() throws Exception {
        long t = 1_700_000_000_000L;
        file("a.jpg", 10, t);
        file("B.JPG", 11, t + 1000);
        file("nested/deep/c.png", 12, t + 2000);
        file("nested/d.jpeg", 13, t + 3000);
        file("year=2024/_part=1/e.jpg", 14, t + 4000); // '_' names with '=' are partition folders
        file("notes.txt", 15, t);
        file(".hidden.jpg", 16, t);
        file("_underscore.jpg", 17, t);
        file(".thumbnails/f.jpg", 18, t);
        file("_temporary/0/g.jpg", 19, t);
        file("copying.jpg._COPYING_", 20, t);
        Path empty = file("empty.jpg", 0, t);
        String root = tmp.resolve("in").toString();
        List<String> extensions = ImageListing.DEFAULT_EXTENSIONS;

        ImageListing listing = ImageListing.of(spark, root + "/", extensions, "path", null);
        assertTrue(listing.isFolder());
        Map<String, String> ours = byPath(listing.listFolder());
        Map<String, String> sparks = byPath(spark.read()
                .format("binaryFile")
                .option("pathGlobFilter", ImageListing.globFilter(extensions))
                .option("recursiveFileLookup", "true")
                .load(root)
                .select("path", "length", "modificationTime")
                .collectAsList());
        String emptyPath = "file:" + empty.toAbsolutePath();
        assertFalse(sparks.containsKey(emptyPath), "Spark's file sources drop zero-byte files");
        Map<String, String> expected = new TreeMap<>(sparks);
        expected.put(emptyPath, "0@" + t);
        assertEquals(expected, ours);
        assertEquals(6, ours.size(), ours.toString());
        assertEquals(
                "13@" + (t + 3000),
                ours.get("file:" + tmp.resolve("in/nested/d.jpeg").toAbsolutePath()));
        // As a Dataset, for the anti-join against an existing table: the same rows.
        assertEquals(ours, byPath(listing.files().collectAsList()));
    }

    @Test
    void globAndSingleFileInputs() throws Exception {
        long t = 1_700_000_000_000L;
        file("x/1.jpg", 1, t);
        file("x/2.png", 2, t);
        file("y/3.jpg", 3, t);
        file("y/sub/4.jpg", 4, t);
        String root = tmp.resolve("in").toString();
        Map<String, String> glob =
                byPath(ImageListing.of(spark, root + "/*/*.jpg", ImageListing.DEFAULT_EXTENSIONS, "path", null)
                        .listFolder());
        assertEquals(List.of("file:" + root + "/x/1.jpg", "file:" + root + "/y/3.jpg"), List.copyOf(glob.keySet()));
        Map<String, String> one =
                byPath(ImageListing.of(spark, root + "/y/3.jpg", ImageListing.DEFAULT_EXTENSIONS, "path", null)
                        .listFolder());
        assertEquals(Map.of("file:" + root + "/y/3.jpg", "3@" + t), one);
        // Extensions filter a file named directly, as Spark's pathGlobFilter does.
        assertTrue(ImageListing.of(spark, root + "/x/2.png", List.of("jpg"), "path", null)
                .listFolder()
                .isEmpty());
    }

    @Test
    void missingInputSaysWhatToGive() {
        String missing = tmp.resolve("no-such-folder").toString() + "/";
        RadioException e = assertThrows(
                RadioException.class,
                () -> ImageListing.of(spark, missing, ImageListing.DEFAULT_EXTENSIONS, "path", null)
                        .listFolder());
        assertTrue(e.getMessage().contains("--input " + missing + " does not exist"), e.getMessage());
        assertTrue(e.getMessage().contains("Give an existing folder of images"), e.getMessage());
        String noMatch = tmp + "/nothing-*/*.jpg";
        RadioException g = assertThrows(
                RadioException.class,
                () -> ImageListing.of(spark, noMatch, ImageListing.DEFAULT_EXTENSIONS, "path", null)
                        .listFolder());
        assertTrue(g.getMessage().contains("matches no file or folder"), g.getMessage());
    }

    @Test
    void hiddenNamesBelowTheRootOnly() {
        assertFalse(FolderListing.hiddenBelow("/data/_in", "/data/_in/a.jpg"));
        assertTrue(FolderListing.hiddenBelow("/data/in", "/data/in/.cache/a.jpg"));
        assertTrue(FolderListing.hiddenBelow("/data/in", "/data/in/_a.jpg"));
        assertFalse(FolderListing.hiddenBelow("/data/in", "/data/in/_k=v/a.jpg"));
        assertTrue(FolderListing.hiddenBelow("/data/in", "/data/in/a.jpg._COPYING_"));
    }
}
