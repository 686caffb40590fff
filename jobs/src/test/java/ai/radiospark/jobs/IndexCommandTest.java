package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
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
 * {@code radio index} and {@code radio similar} with an index (README, "Approximate search"): the
 * index of an extracted table gives the exact scan's neighbours; an unchanged table is left alone;
 * a changed one makes the index stale (similar falls back, saying so) until {@code radio index}
 * brings it up to date; an index of another checkpoint is not used; bad input is refused with its
 * exit code. The README's commands are the ones run here.
 */
class IndexCommandTest {
    static SparkSession spark;

    @TempDir
    Path tmp;

    @TempDir
    static Path cache;

    @BeforeAll
    static void start() {
        System.setProperty("radio.cache.dir", cache.toString());
        spark = JobsTestSpark.start("IndexCommandTest", 2);
    }

    @AfterAll
    static void stop() {
        JobsTestSpark.stop(spark);
        System.clearProperty("radio.cache.dir");
    }

    record Result(int code, String out, String err) {}

    /** Runs the CLI in this JVM: exit code, standard output and the error stream. */
    static Result cli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream old = System.out;
        System.setOut(new PrintStream(out, true));
        int code;
        try (PrintWriter e = new PrintWriter(err, true)) {
            List<String> all = new ArrayList<>(Arrays.asList(args));
            all.addAll(List.of("--master", "local[2]"));
            code = RadioCli.run(null, e, all.toArray(new String[0]));
        } finally {
            System.setOut(old);
        }
        System.out.print(out);
        System.out.print(err);
        return new Result(code, out.toString(), err.toString());
    }

    /** The result lines of {@code radio similar} ("  1  0.987654  file:/…"), as [path, cosine]. */
    static List<String[]> neighbours(String out) {
        return out.lines()
                .filter(l -> l.matches("\\s*\\d+\\s+-?\\d\\.\\d{6}\\s+.*"))
                .map(l -> {
                    String[] f = l.trim().split("\\s+", 3);
                    return new String[] {f[2], f[1]};
                })
                .toList();
    }

    static void assertSameNeighbours(List<String[]> exact, List<String[]> indexed) {
        assertEquals(exact.size(), indexed.size());
        for (int i = 0; i < exact.size(); i++) {
            assertEquals(exact.get(i)[0], indexed.get(i)[0], "rank " + (i + 1));
            assertEquals(Double.parseDouble(exact.get(i)[1]), Double.parseDouble(indexed.get(i)[1]), 2e-6);
        }
    }

    Path images(int from, int to) throws Exception {
        Path dir = tmp.resolve("images");
        Files.createDirectories(dir);
        for (int i = from; i <= to; i++) {
            ExtractJobTest.generatePng(dir.resolve("img-" + i + ".png"), i);
        }
        return dir;
    }

    static JsonNode manifest(Path dir) throws Exception {
        return new ObjectMapper().readTree(dir.resolve(IndexManifest.FILE).toFile());
    }

    @Test
    void indexGivesTheExactScansNeighboursAndFollowsTheTable() throws Exception {
        Path images = images(1, 10);
        Files.write(images.resolve("empty.png"), new byte[0]); // an error row
        Path tablePath = tmp.resolve("embeddings");
        String table = tablePath.toString();
        assertEquals(
                0,
                ExtractJobTest.extract(
                                "--input",
                                images.toString(),
                                "--output",
                                table,
                                "--model",
                                ExtractJobTest.MODEL,
                                "--max-failed-fraction",
                                "0.5")
                        .getKey());
        String query = spark.read()
                .format("delta")
                .load(table)
                .where("path like '%img-3.png'")
                .head()
                .getString(0);

        Result exact = cli("similar", "--table", table, "--path", query, "--k", "5");
        assertEquals(0, exact.code(), exact.err());
        Path index = tmp.resolve("embeddings" + IndexCommand.SUFFIX);
        assertTrue(exact.out().startsWith("search: exact scan (no index at " + index + "; radio index builds one)\n"));

        // README: radio index --table ./radio-output/embeddings
        Result built = cli("index", "--table", table);
        assertEquals(0, built.code(), built.err());
        assertTrue(built.out().contains("radio index: 10 vectors of "), built.out());
        assertTrue(built.out().contains("indexed into " + index), built.out());
        assertTrue(built.out().contains("(new index; exact graph search)"), built.out());
        assertTrue(
                built.out()
                        .contains("  skipped 1 rows: 1 without a summary (error rows), 0 unusable (all zeros, not "
                                + "finite or a null element), 0 made with another model or settings than the "
                                + "table's"),
                built.out());
        JsonNode m = manifest(index);
        Map<String, String> props = EmbeddingTable.of(spark, table).properties();
        long version = EmbeddingTable.of(spark, table).version();
        assertEquals(IndexManifest.FORMAT, m.get("format").asText());
        assertEquals(version, m.get("table_version").asLong());
        assertEquals(
                props.get("radio.checkpoint_sha256"), m.get("checkpoint_sha256").asText());
        assertEquals("cosine", m.get("metric").asText());
        assertEquals(10, m.get("count").asLong());
        assertEquals(1, m.get("skipped_no_summary").asLong());
        assertEquals(
                spark.read()
                        .format("delta")
                        .load(table)
                        .where("summary is not null")
                        .head()
                        .getList(spark.read()
                                .format("delta")
                                .load(table)
                                .schema()
                                .fieldIndex("summary"))
                        .size(),
                m.get("dimension").asInt());
        JsonNode paths = new ObjectMapper()
                .readTree(index.resolve(m.get("paths").asText()).toFile());
        assertEquals(10, paths.size());
        assertTrue(paths.get(0).asText().endsWith("img-1.png"), paths.toString());

        // The Delta log read without Spark agrees with Delta.
        DeltaLogFiles.State log = DeltaLogFiles.read(tablePath);
        assertEquals(version, log.version());
        assertEquals(props.get("radio.checkpoint_sha256"), log.properties().get("radio.checkpoint_sha256"));

        // README: radio similar --table ./radio-output/embeddings --path … --k 5
        int sessions = JobSpark.SESSIONS.get();
        Result indexed = cli("similar", "--table", table, "--path", query, "--k", "5");
        assertEquals(0, indexed.code(), indexed.err());
        // A --path query of a local table with a current index: answered from the index and the Delta log alone.
        assertEquals(sessions, JobSpark.SESSIONS.get(), "radio similar asked for a SparkSession");
        assertTrue(indexed.out().startsWith("search: index (table version " + version + ")\n"), indexed.out());
        assertEquals(5, neighbours(indexed.out()).size());
        assertSameNeighbours(neighbours(exact.out()), neighbours(indexed.out()));
        Result forcedExact = cli("similar", "--table", table, "--path", query, "--k", "5", "--no-index");
        assertTrue(forcedExact.out().startsWith("search: exact scan (--no-index)\n"), forcedExact.out());

        // Unchanged table: nothing to do, the same files.
        String graph = m.get("graph").asText();
        Result again = cli("index", "--table", table);
        assertEquals(0, again.code(), again.err());
        assertEquals(
                "radio index: the index at " + index + " is up to date (table version " + version
                        + ", 10 vectors); nothing to do.\n",
                again.out());
        assertEquals(graph, manifest(index).get("graph").asText());

        // Two more images: the table's version moves on, the index is stale until radio index runs.
        images(11, 12);
        assertEquals(
                0,
                ExtractJobTest.extract(
                                "--input",
                                images.toString(),
                                "--output",
                                table,
                                "--model",
                                ExtractJobTest.MODEL,
                                "--max-failed-fraction",
                                "0.5")
                        .getKey());
        long after = EmbeddingTable.of(spark, table).version();
        assertTrue(after > version);
        sessions = JobSpark.SESSIONS.get();
        Result stale = cli("similar", "--table", table, "--path", query, "--k", "5");
        assertEquals(0, stale.code(), stale.err());
        assertEquals(sessions + 1, JobSpark.SESSIONS.get(), "a stale index: the exact scan, with Spark");
        assertTrue(
                stale.out()
                        .startsWith("search: exact scan (index is stale: covers version " + version + ", table is at "
                                + after + "; radio index brings it up to date)\n"),
                stale.out());
        Result update = cli("index", "--table", table);
        assertEquals(0, update.code(), update.err());
        assertTrue(update.out().contains("radio index: 12 vectors of "), update.out());
        assertTrue(
                update.out()
                        .contains(
                                "(rebuilt: the index covered table version " + version + ", the table is at " + after),
                update.out());
        assertEquals(after, manifest(index).get("table_version").asLong());
        try (Stream<Path> files = Files.list(index)) {
            // The earlier generation's files are gone: a manifest, a graph and its paths.
            assertEquals(3, files.count());
        }
        Result fresh = cli("similar", "--table", table, "--path", query, "--k", "5");
        assertTrue(fresh.out().startsWith("search: index (table version " + after + ")\n"), fresh.out());
        assertSameNeighbours(
                neighbours(cli("similar", "--table", table, "--path", query, "--k", "5", "--no-index")
                        .out()),
                neighbours(fresh.out()));

        // An index of another checkpoint is never used, and radio index rebuilds it.
        ObjectNode other = (ObjectNode) manifest(index);
        other.put("checkpoint_sha256", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
        new ObjectMapper().writeValue(index.resolve(IndexManifest.FILE).toFile(), other);
        Result otherModel = cli("similar", "--table", table, "--path", query, "--k", "5");
        assertEquals(0, otherModel.code(), otherModel.err());
        assertTrue(
                otherModel
                        .out()
                        .startsWith("search: exact scan (the index at " + index + " is of checkpoint 0123456789ab ("),
                otherModel.out());
        assertTrue(otherModel.out().contains("it is not used; radio index rebuilds it)\n"), otherModel.out());
        Result rebuilt = cli("index", "--table", table);
        assertEquals(0, rebuilt.code(), rebuilt.err());
        assertTrue(rebuilt.out().contains("(rebuilt: the index was of checkpoint 0123456789ab ("), rebuilt.out());
        assertEquals(
                props.get("radio.checkpoint_sha256"),
                manifest(index).get("checkpoint_sha256").asText());
    }

    static final StructType VECTORS = new StructType()
            .add("path", DataTypes.StringType)
            .add("error", DataTypes.StringType)
            .add("summary", DataTypes.createArrayType(DataTypes.FloatType));

    String table(String name, List<Row> rows, StructType schema) {
        String t = tmp.resolve(name).toString();
        spark.createDataFrame(rows, schema).write().format("delta").save(t);
        return t;
    }

    @Test
    void errorAndUnusableRowsAreSkippedAndCounted() throws Exception {
        List<Row> rows = new ArrayList<>();
        Random r = new Random(3);
        for (int i = 0; i < 5; i++) {
            rows.add(RowFactory.create(
                    "file:/v" + i + ".png", null, List.of(r.nextFloat(), r.nextFloat(), r.nextFloat(), 1f)));
        }
        rows.add(RowFactory.create("file:/bad.png", "not an image", null));
        rows.add(RowFactory.create("file:/zero.png", null, List.of(0f, 0f, 0f, 0f)));
        rows.add(RowFactory.create("file:/nan.png", null, List.of(Float.NaN, 0f, 0f, 1f)));
        String t = table("skips", rows, VECTORS);
        Path index = tmp.resolve("skips-index");
        Result built = cli("index", "--table", t, "--index", index.toString());
        assertEquals(0, built.code(), built.err());
        assertTrue(built.out().startsWith("radio index: 5 vectors of 4 floats of table version 0 indexed into "));
        assertTrue(
                built.out()
                        .contains("  skipped 3 rows: 1 without a summary (error rows), 2 unusable (all zeros, not "
                                + "finite or a null element), 0 made with another model or settings than the table's"),
                built.out());
        Result similar =
                cli("similar", "--table", t, "--index", index.toString(), "--path", "file:/v0.png", "--k", "9");
        assertTrue(similar.out().startsWith("search: index (table version 0)\n"), similar.out());
        assertEquals(4, neighbours(similar.out()).size());
    }

    @Test
    void badInputIsRefusedWithItsExitCode() throws Exception {
        List<Row> rows = List.of(
                RowFactory.create("file:/a.png", null, List.of(1f, 2f)),
                RowFactory.create("file:/b.png", null, List.of(1f, 2f, 3f)));
        String mixed = table("mixed", rows, VECTORS);
        Result m = cli("index", "--table", mixed, "--index", tmp.resolve("i1").toString());
        assertEquals(1, m.code());
        assertEquals(
                "radio index: The summaries of " + mixed + " have different lengths (2 and 3 floats): embeddings of "
                        + "different models or settings cannot be indexed together. Index a table of one model (radio "
                        + "extract --reembed makes one).\n",
                m.err());

        String plain = table(
                "plain",
                List.of(RowFactory.create("file:/a.png", 1)),
                new StructType().add("path", DataTypes.StringType).add("cluster", DataTypes.IntegerType));
        Result s = cli("index", "--table", plain, "--index", tmp.resolve("i2").toString());
        assertEquals(1, s.code());
        assertEquals(
                "radio index: The table " + plain + " has no summary column: it is not an embedding table (its "
                        + "columns: path, cluster). Point --table at a table radio extract wrote.\n",
                s.err());

        Path foreign = tmp.resolve("notes");
        Files.createDirectories(foreign);
        Files.writeString(foreign.resolve("todo.txt"), "mine");
        String expected =
                "--index " + foreign + " is a folder that is not a radio-spark index (it has no " + IndexManifest.FILE
                        + "): its files are left as they are. Choose an empty or new folder for --index.\n";
        Result f = cli("index", "--table", mixed, "--index", foreign.toString());
        assertEquals(1, f.code());
        assertEquals("radio index: " + expected, f.err());
        Result fs = cli("similar", "--table", mixed, "--index", foreign.toString(), "--path", "file:/a.png");
        assertEquals(1, fs.code());
        assertEquals("radio similar: " + expected, fs.err());
        assertEquals("mine", Files.readString(foreign.resolve("todo.txt")));
        try (Stream<Path> files = Files.list(foreign)) {
            assertEquals(1, files.count());
        }

        Path notJson = tmp.resolve("not-json");
        Files.createDirectories(notJson);
        Files.writeString(notJson.resolve(IndexManifest.FILE), "{\"format\": \"something-else\"}");
        Result nj = cli("index", "--table", mixed, "--index", notJson.toString());
        assertEquals(1, nj.code());
        assertTrue(nj.err().contains("its " + IndexManifest.FILE + " has no \"format\": \"radio-spark-ann-index\""));

        Result noTable = cli("index", "--table", tmp.resolve("missing").toString());
        assertEquals(1, noTable.code());
        assertTrue(noTable.err().startsWith("radio index: There is no Delta table at "), noTable.err());
    }
}
