package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Index-friendly tables: a table {@code radio extract} creates has Delta Change Data Feed on
 * (readable from version 0, what vector stores sync from), and {@code --no-change-data-feed}, on
 * the command line or in the defaults file, creates it without.
 */
class ChangeDataFeedTest {
    static final String MODEL = CliErrorsTest.MODEL;
    static SparkSession spark;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        spark = JobsTestSpark.start("ChangeDataFeedTest", 2);
    }

    @AfterAll
    static void stop() {
        JobsTestSpark.stop(spark);
    }

    private Path twoImages() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("images"));
        for (String name : List.of("china.jpg", "chelsea.png")) {
            Files.copy(Path.of(CliErrorsTest.IMAGES, name), dir.resolve(name));
        }
        return dir;
    }

    private Map<String, String> properties(String table) {
        return EmbeddingTable.of(spark, table).properties();
    }

    @Test
    void aNewTableHasTheChangeDataFeedWithItsInsertedRows() throws Exception {
        String out = tmp.resolve("cdf").toString();
        var r = ExtractJobTest.extract("--input", twoImages().toString(), "--output", out, "--model", MODEL);
        assertEquals(0, r.getKey(), r.getValue());
        assertEquals("true", properties(out).get("delta.enableChangeDataFeed"));
        List<Row> changes = spark.read()
                .format("delta")
                .option("readChangeFeed", "true")
                .option("startingVersion", 0)
                .load(out)
                .select("path", "_change_type")
                .orderBy("path")
                .collectAsList();
        assertEquals(2, changes.size(), changes.toString());
        assertTrue(changes.get(0).getString(0).endsWith("/chelsea.png"), changes.toString());
        assertTrue(changes.get(1).getString(0).endsWith("/china.jpg"), changes.toString());
        for (Row c : changes) {
            assertEquals("insert", c.getString(1));
        }
    }

    @Test
    void noChangeDataFeedCreatesTheTableWithout() throws Exception {
        String out = tmp.resolve("plain").toString();
        var r = ExtractJobTest.extract(
                "--input", twoImages().toString(), "--output", out, "--model", MODEL, "--no-change-data-feed");
        assertEquals(0, r.getKey(), r.getValue());
        assertNull(properties(out).get("delta.enableChangeDataFeed"));
        assertEquals(2, spark.read().format("delta").load(out).count());
        Exception e = org.junit.jupiter.api.Assertions.assertThrows(
                Exception.class,
                () -> spark.read()
                        .format("delta")
                        .option("readChangeFeed", "true")
                        .option("startingVersion", 0)
                        .load(out)
                        .count());
        assertTrue(String.valueOf(e.getMessage()).contains("DELTA_MISSING_CHANGE_DATA"), e.getMessage());
    }

    @Test
    void theOptionAndTheDefaultsFileKey() throws Exception {
        assertTrue(parse().options().changeDataFeed(), "on by default");
        assertFalse(parse("--no-change-data-feed").options().changeDataFeed());
        Path conf = Files.writeString(tmp.resolve("radio-defaults.properties"), "radio.no-change-data-feed = true\n");
        System.setProperty("radio.conf", conf.toString());
        try {
            assertFalse(parse().options().changeDataFeed(), "the defaults file turns it off");
        } finally {
            System.clearProperty("radio.conf");
        }
    }

    private ExtractCommand parse(String... extra) {
        ExtractCommand cmd = new ExtractCommand();
        String[] base = {
            "--input", CliErrorsTest.IMAGES, "--output", tmp.resolve("t").toString(), "--model", MODEL
        };
        String[] args = new String[base.length + extra.length];
        System.arraycopy(base, 0, args, 0, base.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        new CommandLine(cmd).parseArgs(args);
        return cmd;
    }
}
