package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code radio dedup} on synthetic embeddings written as a Delta table: clusters of vectors as real
 * embeddings have them, planted near-duplicates (cosine 0.975-0.995 to their original) and
 * distractors (0.905-0.945). Exactly the planted ones are found at eps 0.03-0.05, planted plus
 * distractors at 0.10; blocks smaller than the clusters give the same result; bad tables get one
 * line and exit code 1.
 */
class DedupJobTest {
    static final int DIM = 128;
    static final int CLUSTERS = 12;
    static final int PER_CLUSTER = 40;
    static final int PLANTED = 15;
    static final int DISTRACTORS = 15;

    static SparkSession spark;

    @TempDir
    static Path tmp;

    static String table;
    /** Each planted copy's path and its original's. */
    static final Map<String, String> planted = new HashMap<>();
    /** Each distractor's path and its original's. */
    static final Map<String, String> distractors = new HashMap<>();

    static final StructType SCHEMA = new StructType()
            .add("path", DataTypes.StringType)
            .add("summary", DataTypes.createArrayType(DataTypes.FloatType, true))
            .add("error", DataTypes.StringType);

    @BeforeAll
    static void start() {
        spark = JobsTestSpark.start("DedupJobTest", 2);
        table = tmp.resolve("embeddings").toString();
        List<Row> rows = synthetic(new Random(42));
        // Two error rows: skipped and counted.
        rows.add(RowFactory.create("file:/img/broken-1.jpg", null, "not an image"));
        rows.add(RowFactory.create("file:/img/broken-2.jpg", null, "truncated"));
        write(rows, table);
    }

    @AfterAll
    static void stop() {
        JobsTestSpark.stop(spark);
    }

    static void write(List<Row> rows, String path) {
        spark.createDataFrame(rows, SCHEMA)
                .repartition(3)
                .write()
                .format("delta")
                .mode(SaveMode.Overwrite)
                .save(path);
    }

    /** Clustered vectors (a centre plus noise of the same size: cosine about 0.5 within a cluster), scaled at random. */
    static List<Row> synthetic(Random rnd) {
        List<double[]> originals = new ArrayList<>();
        List<Row> rows = new ArrayList<>();
        for (int c = 0; c < CLUSTERS; c++) {
            double[] centre = unit(gaussian(rnd));
            for (int i = 0; i < PER_CLUSTER; i++) {
                double[] noise = unit(gaussian(rnd));
                double[] x = new double[DIM];
                for (int d = 0; d < DIM; d++) {
                    x[d] = centre[d] + noise[d];
                }
                originals.add(unit(x));
                rows.add(row(String.format("file:/img/c%02d-%02d.jpg", c, i), unit(x), rnd));
            }
        }
        // Near-duplicates and distractors of different originals, spread over the clusters.
        for (int p = 0; p < PLANTED + DISTRACTORS; p++) {
            int o = p * (originals.size() / (PLANTED + DISTRACTORS)) + 3;
            boolean copy = p < PLANTED;
            double cos = copy ? 0.975 + 0.02 * rnd.nextDouble() : 0.905 + 0.04 * rnd.nextDouble();
            double[] v = at(originals.get(o), cos, rnd);
            String original = rows.get(o).getString(0);
            String path = original.replace(".jpg", copy ? "-copy.jpg" : "-similar.jpg");
            (copy ? planted : distractors).put(path, original);
            rows.add(row(path, v, rnd));
        }
        return rows;
    }

    static Row row(String path, double[] v, Random rnd) {
        double scale = 0.5 + 3 * rnd.nextDouble(); // summaries are not normalised
        Float[] f = new Float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) (v[i] * scale);
        }
        return RowFactory.create(path, f, null);
    }

    /** A unit vector at exactly cosine {@code cos} to the unit vector {@code o}. */
    static double[] at(double[] o, double cos, Random rnd) {
        double[] u = gaussian(rnd);
        double dot = 0;
        for (int i = 0; i < DIM; i++) {
            dot += u[i] * o[i];
        }
        for (int i = 0; i < DIM; i++) {
            u[i] -= dot * o[i];
        }
        u = unit(u);
        double sin = Math.sqrt(1 - cos * cos);
        double[] v = new double[DIM];
        for (int i = 0; i < DIM; i++) {
            v[i] = cos * o[i] + sin * u[i];
        }
        return v;
    }

    static double[] gaussian(Random rnd) {
        double[] v = new double[DIM];
        for (int i = 0; i < DIM; i++) {
            v[i] = rnd.nextGaussian();
        }
        return v;
    }

    static double[] unit(double[] v) {
        double n = 0;
        for (double x : v) {
            n += x * x;
        }
        n = Math.sqrt(n);
        double[] u = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            u[i] = v[i] / n;
        }
        return u;
    }

    /** Runs the CLI in this JVM: exit code, stdout, stderr. */
    static String[] run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        int code;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            code = RadioCli.run(args);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        String[] r = {String.valueOf(code), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)};
        System.out.println("exit " + r[0] + "\n" + r[1] + r[2]);
        return r;
    }

    static String[] dedup(String output, String... extra) {
        return dedupOf(table, output, extra);
    }

    /** {@code radio dedup} of {@code source} into {@code output}, with {@code extra} options. */
    static String[] dedupOf(String source, String output, String... extra) {
        List<String> a =
                new ArrayList<>(List.of("dedup", "--master", "local[2]", "--table", source, "--output", output));
        a.addAll(List.of(extra));
        return run(a.toArray(new String[0]));
    }

    /** The result table by path: cluster, duplicate_of, cosine, keep. */
    static Map<String, Row> result(String output) {
        Map<String, Row> m = new TreeMap<>();
        for (Row r : spark.read().format("delta").load(output).collectAsList()) {
            m.put(r.getString(0), r);
        }
        return m;
    }

    /** The sweep line of eps {@code e} (1..10 hundredths): how many would be removed. */
    static long sweep(String stdout, int e) {
        String prefix = String.format("  0.%02d  ", e);
        for (String line : stdout.split("\n")) {
            if (line.startsWith(prefix)) {
                String[] parts = line.trim().split("\\s+");
                return Long.parseLong(parts[2].replace(",", ""));
            }
        }
        throw new AssertionError("no sweep line for eps 0.0" + e + " in\n" + stdout);
    }

    @Test
    void findsExactlyThePlantedDuplicatesAtTheMatchingThreshold() throws Exception {
        String output = tmp.resolve("dedup").toString();
        String[] r = dedup(output, "--eps", "0.03");
        assertEquals("0", r[0], r[2]);
        int n = CLUSTERS * PER_CLUSTER + PLANTED + DISTRACTORS;
        assertTrue(
                r[1].startsWith("radio dedup: " + String.format("%,d", n) + " images of " + table + " in 16 clusters"),
                r[1]);
        assertTrue(
                r[1].contains(
                        "  skipped 2 rows: 2 without a summary (error rows), 0 unusable (all zeros, not finite or a null element)\n"),
                r[1]);
        for (int e = 3; e <= 5; e++) {
            assertEquals(PLANTED, sweep(r[1], e), "eps 0.0" + e);
        }
        assertEquals(PLANTED + DISTRACTORS, sweep(r[1], 10));
        assertTrue(r[1].contains("  --eps 0.03: " + PLANTED + " duplicates (keep = false)"), r[1]);

        Map<String, Row> rows = result(output);
        assertEquals(n, rows.size(), "every image with a summary, the error rows left out");
        assertEquals(
                "struct<path:string,cluster:int,duplicate_of:string,cosine:double,keep:boolean>",
                spark.read().format("delta").load(output).schema().simpleString());
        Set<String> removed = new HashSet<>();
        for (Row row : rows.values()) {
            if (!row.getBoolean(4)) {
                removed.add(row.getString(0));
            }
        }
        assertEquals(PLANTED, removed.size(), removed.toString());
        // Each planted pair: one of the two is removed, as a duplicate of the other, in the same cluster.
        for (Map.Entry<String, String> p : planted.entrySet()) {
            Row copy = rows.get(p.getKey());
            Row original = rows.get(p.getValue());
            assertEquals(copy.getInt(1), original.getInt(1), "same cluster: " + p);
            Row gone = removed.contains(copy.getString(0)) ? copy : original;
            Row kept = gone == copy ? original : copy;
            assertTrue(removed.contains(gone.getString(0)) && !removed.contains(kept.getString(0)), p.toString());
            assertEquals(kept.getString(0), gone.getString(2), p.toString());
            assertTrue(gone.getDouble(3) >= 0.975 - 1e-6 && gone.getDouble(3) <= 0.995 + 1e-6, gone.toString());
        }
        // Distractors are kept at 0.03 and their cosines are what was planted.
        for (Map.Entry<String, String> d : distractors.entrySet()) {
            assertFalse(removed.contains(d.getKey()) || removed.contains(d.getValue()), d.toString());
        }
        // An image first in each cluster it is compared in has no earlier one: at least the first of all, at most
        // one per cluster.
        long firsts = rows.values().stream().filter(x -> x.isNullAt(2)).count();
        assertTrue(firsts >= 1 && firsts <= 16, "firsts " + firsts);
        assertTrue(rows.values().stream().filter(x -> x.isNullAt(2)).allMatch(x -> x.isNullAt(3) && x.getBoolean(4)));
        Map<String, String> props = EmbeddingTable.of(spark, output).properties();
        assertEquals("0.03", props.get("radio.dedup.eps"));
        assertEquals("16", props.get("radio.dedup.clusters"));
        assertEquals("2", props.get("radio.dedup.clusters_per_image"));

        // radio show prints the result's rows.
        String[] shown = run("show", "--master", "local[2]", "--table", output, "--json", "--limit", "1000");
        assertEquals("0", shown[0], shown[2]);
        List<String> lines = shown[1].lines().toList();
        assertEquals(n, lines.size());
        ObjectMapper json = new ObjectMapper();
        for (String line : lines) {
            JsonNode o = json.readTree(line);
            Row expected = rows.get(o.get("path").asText());
            assertNotNull(expected, line);
            assertEquals(expected.getInt(1), o.get("cluster").asInt(), line);
            assertEquals(
                    expected.isNullAt(2) ? null : expected.getString(2),
                    o.get("duplicate_of").textValue());
            if (expected.isNullAt(3)) {
                assertTrue(o.get("cosine").isNull(), line);
            } else {
                assertEquals(expected.getDouble(3), o.get("cosine").asDouble(), 0.0, line);
            }
            assertEquals(expected.getBoolean(4), o.get("keep").asBoolean(), line);
        }
    }

    /** The README's Deduplication commands and its keep query, run as written on this test's table. */
    @Test
    void theReadmeCommandsRunAsWritten() throws Exception {
        String readme = java.nio.file.Files.readString(ReadmeSnippetsTest.ROOT.resolve("README.md"));
        int from = readme.indexOf("### Deduplication");
        String section = readme.substring(from, readme.indexOf("\n### ", from + 1)); // up to the next section
        String output = tmp.resolve("readme-dedup").toString();
        List<String> commands = section.lines()
                .filter(l -> l.startsWith("scripts/radio "))
                .map(l -> l.replace("./radio-output/embeddings", table).replace("./radio-output/dedup", output))
                .toList();
        assertEquals(2, commands.size(), commands.toString());
        String[] r = run((commands.get(0).substring("scripts/radio ".length()) + " --master local[2]").split(" "));
        assertEquals("0", r[0], r[2]);
        assertTrue(r[1].contains("  --eps 0.05: " + PLANTED + " duplicates (keep = false)"), r[1]);
        String[] shown = run((commands.get(1).substring("scripts/radio ".length()) + " --master local[2]").split(" "));
        assertEquals("0", shown[0], shown[2]);
        assertEquals(20, shown[1].lines().count(), "radio show's default --limit");
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("`(SELECT e\\.\\* FROM .*? WHERE d\\.keep)`")
                .matcher(section.replaceAll("\\s+", " "));
        assertTrue(m.find(), section);
        String query =
                m.group(1).replace("\\`", "`").replace("EMBEDDINGS", table).replace("DEDUP", output);
        List<Row> kept = spark.sql(query).collectAsList();
        assertEquals(CLUSTERS * PER_CLUSTER + PLANTED + DISTRACTORS - PLANTED, kept.size(), query);
        assertEquals(3, kept.get(0).size(), "the embedding table's columns");
    }

    /**
     * Memory is bounded by the block size, not the cluster size: clusters of about 130 rows (260 with the
     * images of the next nearest cluster) compared in blocks of 7 give the same result as whole, and no task
     * held a block of more than 7 rows.
     */
    @Test
    void blocksSmallerThanTheClustersGiveTheSameResult() {
        String whole = tmp.resolve("whole").toString();
        String blocked = tmp.resolve("blocked").toString();
        String[] w = dedup(whole, "--clusters", "4");
        assertEquals("0", w[0], w[2]);
        String[] r = dedup(blocked, "--clusters", "4", "--block-size", "7");
        assertEquals("0", r[0], r[2]);
        assertTrue(r[1].contains(" pairs (") && r[1].contains("), in blocks of at most 7 rows\n"), r[1]);
        long largest = Long.parseLong(w[1].replaceAll("(?s).*in blocks of at most ([0-9,]+) rows\n.*", "$1")
                .replace(",", ""));
        assertTrue(largest > 100, "a whole cluster is one block of " + largest + " rows:\n" + w[1]);
        // The same pairs are compared, block by block.
        assertEquals(compared(w[1]), compared(r[1]));
        Map<String, Row> a = result(whole);
        Map<String, Row> b = result(blocked);
        assertEquals(a.keySet(), b.keySet());
        for (String p : a.keySet()) {
            Row x = a.get(p);
            Row y = b.get(p);
            assertEquals(x.getInt(1), y.getInt(1), p);
            assertEquals(x.get(2), y.get(2), p);
            if (x.isNullAt(3)) {
                assertTrue(y.isNullAt(3), p);
            } else {
                assertEquals(x.getDouble(3), y.getDouble(3), 1e-9, p);
            }
            assertEquals(x.getBoolean(4), y.getBoolean(4), p);
        }
        assertEquals(PLANTED, sweep(r[1], 3));
    }

    /** The count of the line {@code compared N of all M pairs}. */
    static long compared(String stdout) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("  compared ([0-9,]+) of all ([0-9,]+) pairs")
                .matcher(stdout);
        assertTrue(m.find(), stdout);
        return Long.parseLong(m.group(1).replace(",", ""));
    }

    /**
     * Two tight groups of images (k-means makes them its 2 clusters) and a near-duplicate pair between them, one
     * image a little nearer each group: compared within their own cluster only (--clusters-per-image 1) the pair is
     * missed, as SemDeDup misses it; within the nearest two (the default) it is found. With one cluster per image
     * the first image of each cluster has no earlier one.
     */
    @Test
    void aPairAcrossAClusterBoundaryIsFoundInTheNearestTwoClusters() {
        Random rnd = new Random(7);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            for (int g = 0; g < 2; g++) {
                Float[] v = new Float[8];
                for (int d = 0; d < 8; d++) {
                    v[d] = (float) ((d == g ? 1 : 0) + 0.05 * rnd.nextGaussian());
                }
                rows.add(RowFactory.create(String.format("file:/img/g%d-%02d.jpg", g, i), v, null));
            }
        }
        // cosine (2 - 2 * 0.05^2 - 0.1^2) / (2 + 2 * 0.05^2 + 0.1^2) = 0.98511
        rows.add(RowFactory.create("file:/img/p.jpg", new Float[] {1.05f, 0.95f, 0.1f, 0f, 0f, 0f, 0f, 0f}, null));
        rows.add(RowFactory.create("file:/img/q.jpg", new Float[] {0.95f, 1.05f, -0.1f, 0f, 0f, 0f, 0f, 0f}, null));
        String between = tmp.resolve("between").toString();
        write(rows, between);
        String own = tmp.resolve("own-cluster").toString();
        String[] r1 = run(
                "dedup",
                "--master",
                "local[2]",
                "--table",
                between,
                "--output",
                own,
                "--clusters",
                "2",
                "--eps",
                "0.02",
                "--clusters-per-image",
                "1");
        assertEquals("0", r1[0], r1[2]);
        Map<String, Row> a = result(own);
        assertEquals(
                1 - a.get("file:/img/p.jpg").getInt(1), a.get("file:/img/q.jpg").getInt(1), "apart");
        assertFalse("file:/img/q.jpg".equals(a.get("file:/img/p.jpg").get(2)), a.toString());
        assertFalse("file:/img/p.jpg".equals(a.get("file:/img/q.jpg").get(2)), a.toString());
        assertEquals(2, a.values().stream().filter(x -> x.isNullAt(2)).count(), "the first of each cluster");
        // 31 rows in each cluster: 2 x 31 x 30 / 2 pairs.
        assertTrue(r1[1].contains("  compared 930 of all 1,891 pairs (49%), in blocks of at most 31 rows\n"), r1[1]);

        String nearest = tmp.resolve("nearest-two").toString();
        String[] r2 = run(
                "dedup",
                "--master",
                "local[2]",
                "--table",
                between,
                "--output",
                nearest,
                "--clusters",
                "2",
                "--eps",
                "0.02");
        assertEquals("0", r2[0], r2[2]);
        Map<String, Row> b = result(nearest);
        Row later = "file:/img/q.jpg".equals(b.get("file:/img/p.jpg").get(2))
                ? b.get("file:/img/p.jpg")
                : b.get("file:/img/q.jpg");
        assertEquals(
                later.getString(0).equals("file:/img/p.jpg") ? "file:/img/q.jpg" : "file:/img/p.jpg",
                later.getString(2),
                b.toString());
        assertEquals(1.985 / 2.015, later.getDouble(3), 1e-6);
        assertFalse(later.getBoolean(4));
        // With 2 clusters, the nearest two are both: every pair is in both, and compared once.
        assertTrue(r2[1].contains("  compared 1,891 of all 1,891 pairs (100%), in blocks of at most 62 rows\n"), r2[1]);
    }

    /**
     * Four images in 2 clusters, each in both (the default 2 clusters per image): a pair sharing both clusters is
     * compared and counted once, so the 6 pairs are 6 compared, and the sweep counts each duplicate once: a at
     * cosine 0.995 to a', b at 0.975 to b', the two groups orthogonal.
     */
    @Test
    void aPairSharingBothClustersIsComparedOnce() {
        String four = tmp.resolve("four").toString();
        write(
                List.of(
                        RowFactory.create("file:/img/a.jpg", new Float[] {1f, 0f, 0f, 0f}, null),
                        RowFactory.create(
                                "file:/img/a2.jpg",
                                new Float[] {0.995f, 0f, (float) Math.sqrt(1 - 0.995 * 0.995), 0f},
                                null),
                        RowFactory.create("file:/img/b.jpg", new Float[] {0f, 1f, 0f, 0f}, null),
                        RowFactory.create(
                                "file:/img/b2.jpg",
                                new Float[] {0f, 0.975f, 0f, (float) Math.sqrt(1 - 0.975 * 0.975)},
                                null)),
                four);
        String output = tmp.resolve("four-dedup").toString();
        String[] r = dedupOf(four, output, "--clusters", "2", "--eps", "0.02");
        assertEquals("0", r[0], r[2]);
        assertTrue(r[1].contains("  compared 6 of all 6 pairs (100%), in blocks of at most 4 rows\n"), r[1]);
        assertEquals(1, sweep(r[1], 1));
        assertEquals(1, sweep(r[1], 2));
        for (int e = 3; e <= 10; e++) {
            assertEquals(2, sweep(r[1], e), "eps 0.0" + e);
        }
        assertTrue(r[1].contains("  --eps 0.02: 1 duplicates (keep = false), 3 kept;"), r[1]);
        Map<String, Row> rows = result(output);
        assertEquals(4, rows.size());
        assertEquals(1, rows.values().stream().filter(x -> !x.getBoolean(4)).count(), rows.toString());
    }

    /** Tables that are not embedding tables, or have nothing to deduplicate: one line, exit code 1, nothing written. */
    @Test
    void tablesWithoutUsableSummariesAreRefused() {
        String strings = tmp.resolve("string-summary").toString();
        spark.sql("SELECT 'a' AS path, 'x' AS summary").write().format("delta").save(strings);
        String[] r = run(
                "dedup",
                "--master",
                "local[2]",
                "--table",
                strings,
                "--output",
                tmp.resolve("o4").toString());
        assertEquals("1", r[0]);
        assertEquals(
                "radio dedup: The summary column of " + strings + " is STRING, not an array of floats. Point --table "
                        + "at a table radio extract wrote.\n",
                r[2]);
        String noPath = tmp.resolve("no-path").toString();
        spark.sql("SELECT 'a' AS file, array(1.0F, 2.0F) AS summary")
                .write()
                .format("delta")
                .save(noPath);
        r = run(
                "dedup",
                "--master",
                "local[2]",
                "--table",
                noPath,
                "--output",
                tmp.resolve("o5").toString());
        assertEquals("1", r[0]);
        assertEquals(
                "radio dedup: The table " + noPath + " has no path column to name its images. Point --table at a "
                        + "table radio extract wrote.\n",
                r[2]);
        String errors = tmp.resolve("only-errors").toString();
        write(
                List.of(
                        RowFactory.create("a", null, "not an image"),
                        RowFactory.create("b", new Float[] {0f, 0f}, null)),
                errors);
        r = run(
                "dedup",
                "--master",
                "local[2]",
                "--table",
                errors,
                "--output",
                tmp.resolve("o6").toString());
        assertEquals("1", r[0]);
        assertEquals(
                "radio dedup: No row of " + errors + " has a usable summary (1 error or null rows, 1 all-zero or "
                        + "non-finite): nothing to deduplicate. Check --table.\n",
                r[2]);
        for (String o : List.of("o4", "o5", "o6")) {
            assertFalse(java.nio.file.Files.exists(tmp.resolve(o)), o + ": nothing written");
        }
    }

    @Test
    void aTableWithoutASummaryColumnIsRefused() {
        String plain = tmp.resolve("plain").toString();
        spark.range(3)
                .selectExpr("CAST(id AS STRING) AS path")
                .write()
                .format("delta")
                .save(plain);
        String[] r = run(
                "dedup",
                "--master",
                "local[2]",
                "--table",
                plain,
                "--output",
                tmp.resolve("o1").toString());
        assertEquals("1", r[0]);
        assertEquals(
                "radio dedup: The table " + plain
                        + " has no summary column: it is not an embedding table (its columns: "
                        + "path). Point --table at a table radio extract wrote.\n",
                r[2]);
    }

    @Test
    void mixedVectorLengthsAreRefused() {
        String mixed = tmp.resolve("mixed").toString();
        write(
                List.of(
                        RowFactory.create("a", new Float[] {1f, 2f, 3f}, null),
                        RowFactory.create("b", new Float[] {1f, 2f}, null),
                        RowFactory.create("c", null, "not an image")),
                mixed);
        String[] r = run(
                "dedup",
                "--master",
                "local[2]",
                "--table",
                mixed,
                "--output",
                tmp.resolve("o2").toString());
        assertEquals("1", r[0]);
        assertEquals(
                "radio dedup: The summaries of " + mixed + " have different lengths (2 and 3 floats): embeddings of "
                        + "different models or settings cannot be compared. Deduplicate a table of one model (radio "
                        + "extract --reembed makes one).\n",
                r[2]);
        assertFalse(java.nio.file.Files.exists(tmp.resolve("o2")), "nothing written");
    }

    @Test
    void zeroAndNullRowsAreSkippedAndCounted() {
        String few = tmp.resolve("few").toString();
        write(
                List.of(
                        RowFactory.create("a", new Float[] {1f, 0f}, null),
                        RowFactory.create("b", new Float[] {2f, 0.01f}, null),
                        RowFactory.create("z", new Float[] {0f, 0f}, null),
                        RowFactory.create("n", new Float[] {1f, null}, null),
                        RowFactory.create("e", null, "truncated")),
                few);
        String output = tmp.resolve("o3").toString();
        String[] r = run("dedup", "--master", "local[2]", "--table", few, "--output", output, "--clusters", "1");
        assertEquals("0", r[0], r[2]);
        assertTrue(
                r[1].contains(
                        "  skipped 3 rows: 1 without a summary (error rows), 2 unusable (all zeros, not finite or a null element)\n"),
                r[1]);
        Map<String, Row> rows = result(output);
        assertEquals(Set.of("a", "b"), rows.keySet());
        Row b = rows.get("b").isNullAt(2) ? rows.get("a") : rows.get("b");
        assertEquals(2 / Math.sqrt(4 + 0.0001), b.getDouble(3), 1e-6);
        assertFalse(b.getBoolean(4));
        assertNull(rows.get(b.getString(2)).get(2));
    }
}
