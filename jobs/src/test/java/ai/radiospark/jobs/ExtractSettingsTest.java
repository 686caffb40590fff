package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import ai.radiospark.ml.RadioEmbedder;
import ai.radiospark.runtime.EmbeddingSettings;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code radio extract}'s embedding settings come from their descriptors: an option (here
 * {@code --torch-threads}, added as one descriptor) reaches the job's settings and stage from the
 * command line or the defaults file, and a bad value exits 2 before Spark, naming the option.
 */
class ExtractSettingsTest {
    static final String MODEL = CliErrorsTest.MODEL;
    static final String IMAGES = CliErrorsTest.IMAGES;

    private static ExtractCommand parse(String... extra) {
        ExtractCommand cmd = new ExtractCommand();
        String[] base = {"--input", IMAGES, "--output", "/tmp/radio-extract-settings-test", "--model", MODEL};
        String[] args = new String[base.length + extra.length];
        System.arraycopy(base, 0, args, 0, base.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        new CommandLine(cmd).parseArgs(args);
        return cmd;
    }

    @Test
    void torchThreadsReachesTheJobAndItsStage() {
        ExtractOptions o = parse("--torch-threads", "2", "--size", "64", "--dtype", "bfloat16")
                .options();
        EmbeddingSettings s = o.embedding();
        assertEquals(2, s.torchThreads());
        assertEquals("64", s.imageSize());
        assertEquals("file:" + Path.of(MODEL).toAbsolutePath().normalize(), s.model());
        RadioEmbedder stage = new RadioEmbedder().setSettings(s);
        assertEquals(2, stage.getTorchThreads());
        assertEquals("bfloat16", stage.getDtype());
        // Not recorded in the table: it does not change the embeddings.
        assertEquals("size=64;resize_mode=fixed;dtype=bfloat16;features=none;features_type=float32", s.rowSettings());
        assertFalse(s.tableProperties("x").containsKey("radio.torch_threads"));
        assertEquals(0, parse().options().embedding().torchThreads(), "default");
    }

    @Test
    void theDefaultsFileSetsItToo(@TempDir Path tmp) throws Exception {
        Path conf = Files.writeString(
                tmp.resolve("radio-defaults.properties"), "radio.torch-threads = 3\n" + "radio.size = 96\n");
        System.setProperty("radio.conf", conf.toString());
        try {
            EmbeddingSettings s = parse().options().embedding();
            assertEquals(3, s.torchThreads());
            assertEquals("96", s.imageSize());
            assertEquals(
                    5, parse("--torch-threads", "5").options().embedding().torchThreads(), "the command line wins");
        } finally {
            System.clearProperty("radio.conf");
        }
    }

    @Test
    void aBadTorchThreadsExitsTwoBeforeSparkNamingTheOption() {
        for (String[] c : new String[][] {
            {
                "-1",
                "radio extract: Invalid value for option '--torch-threads' (-1): Use 0 (the default) or a positive "
                        + "number of threads per forward pass, e.g. 4."
            },
            {
                "many",
                "radio extract: Invalid value for option '--torch-threads': 'many' is not an int. See 'radio extract --help'."
            }
        }) {
            StringWriter err = new StringWriter();
            int code = RadioCli.run(
                    new PrintWriter(new StringWriter()),
                    new PrintWriter(err),
                    "extract",
                    "--input",
                    IMAGES,
                    "--output",
                    "/tmp/radio-extract-settings-test",
                    "--model",
                    MODEL,
                    "--torch-threads",
                    c[0]);
            assertEquals(2, code, err.toString());
            assertEquals(c[1], err.toString().strip().lines().findFirst().orElse(""));
            assertEquals(1, err.toString().strip().lines().count(), err.toString());
            assertFalse(SparkSession.getDefaultSession().isDefined(), "no Spark started");
        }
    }
}
