package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import jdk.jshell.JShell;
import jdk.jshell.SnippetEvent;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's code is the code the suite runs: every {@code java} and {@code sql} block of
 * README.md is a file under docs/ included verbatim (marked {@code <!-- docs/… -->} above it), and
 * the Java snippets run in JShell, as written, against the bundled random-weight model and sample
 * images (the SQL file is run by udf's SqlExamplesTest). The only change made to a snippet before
 * running it is the placeholders: the hub id becomes samples/model-tiny-random, and the /data and
 * /models paths become folders of this test.
 */
class ReadmeSnippetsTest {
    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    static final Pattern BLOCK =
            Pattern.compile("(?:<!-- (docs/[^ ]+) -->\\n)?```(java|sql)\\n(.*?)```\\n", Pattern.DOTALL);

    @TempDir
    Path tmp;

    /** README's java and sql blocks: file they include, or null for a block that includes none. */
    static Map<String, String> blocks() throws IOException {
        String readme = Files.readString(ROOT.resolve("README.md"));
        Map<String, String> out = new LinkedHashMap<>();
        Matcher m = BLOCK.matcher(readme);
        int unnamed = 0;
        while (m.find()) {
            out.put(m.group(1) == null ? "unnamed " + unnamed++ : m.group(1), m.group(3));
        }
        return out;
    }

    @Test
    void everyJavaAndSqlBlockOfTheReadmeIsAFileUnderDocsVerbatim() throws IOException {
        Map<String, String> blocks = blocks();
        assertEquals(
                List.of(
                        "docs/snippets/spark-ml-pipeline.java",
                        "docs/sql-examples.sql",
                        "docs/snippets/sql-functions.java"),
                new ArrayList<>(blocks.keySet()));
        for (Map.Entry<String, String> b : blocks.entrySet()) {
            assertEquals(
                    Files.readString(ROOT.resolve(b.getKey())), b.getValue(), b.getKey() + " differs from README.md");
        }
    }

    @Test
    void theJavaSnippetsRunAsWritten() throws Exception {
        Path labelled = tmp.resolve("labelled");
        // A tiny labelled set from the sample images: two classes, two JPEGs each.
        String[][] classes = {{"cat", "chelsea.png", "camera.png"}, {"dog", "china.jpg", "palette.png"}};
        for (String[] c : classes) {
            Files.createDirectories(labelled.resolve(c[0]));
            for (int i = 1; i < c.length; i++) {
                BufferedImage src = ImageIO.read(
                        ROOT.resolve("samples/images").resolve(c[i]).toFile());
                BufferedImage rgb = new BufferedImage(src.getWidth(), src.getHeight(), BufferedImage.TYPE_INT_RGB);
                rgb.getGraphics().drawImage(src, 0, 0, null);
                assertTrue(ImageIO.write(
                        rgb,
                        "jpg",
                        labelled.resolve(c[0]).resolve(c[i] + ".jpg").toFile()));
            }
        }
        Map<String, String> placeholders = Map.of(
                "nvidia/C-RADIOv4-H", ROOT.resolve("samples/model-tiny-random").toString(),
                "/data/labelled", labelled.toString(),
                "/models/radio-classifier", tmp.resolve("radio-classifier").toString(),
                "/data/photos", ROOT.resolve("samples/images").toString());
        SparkSession spark = SparkSession.builder()
                .master("local[2]")
                .appName("ReadmeSnippetsTest")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "2")
                .getOrCreate();
        try (JShell shell = JShell.builder().executionEngine("local").build()) {
            for (String entry : NotebookTest.classpath()) {
                shell.addToClasspath(entry);
            }
            NotebookTest.evalCell(
                    shell,
                    "import org.apache.spark.sql.SparkSession;\n" + "SparkSession spark = SparkSession.active();",
                    "setup");
            for (String name : List.of("docs/snippets/spark-ml-pipeline.java", "docs/snippets/sql-functions.java")) {
                String code = Files.readString(ROOT.resolve(name));
                for (Map.Entry<String, String> p : placeholders.entrySet()) {
                    code = code.replace(p.getKey(), p.getValue());
                }
                NotebookTest.evalCell(shell, code, name);
            }
            assertEquals("4", value(shell, "predicted.count()"), "every labelled image predicted");
            assertEquals("4", value(shell, "model.stages().length"));
            assertEquals("2", value(shell, "predicted.select(\"label\").distinct().count()"));
            assertEquals(
                    "128", value(shell, "((org.apache.spark.ml.linalg.Vector) predicted.head().getAs(\"x\")).size()"));
            assertTrue(Files.isDirectory(tmp.resolve("radio-classifier/stages")), "the pipeline was saved");
            // The SQL snippet: pooled:2x2 features for china.jpg and progressive.jpg, none for truncated.jpg.
            assertEquals(
                    "[2, 2, null]",
                    value(
                            shell,
                            "spark.sql(\"SELECT radio_embed(content).features.rows FROM "
                                    + "binaryFile.`" + ROOT.resolve("samples/images")
                                    + "/*.jpg` ORDER BY path\").collectAsList().stream()"
                                    + ".map(r -> r.get(0)).toList().toString()"));
        } finally {
            spark.stop();
            SparkSession.clearActiveSession();
            SparkSession.clearDefaultSession();
        }
    }

    /** The value of an expression evaluated in the shell, as JShell prints it (strings unquoted). */
    static String value(JShell shell, String expression) {
        List<SnippetEvent> events = shell.eval(expression + ";");
        SnippetEvent last = events.get(events.size() - 1);
        assertFalse(last.exception() != null, () -> expression + " threw " + last.exception());
        assertTrue(
                last.value() != null,
                () -> expression + ": "
                        + shell.diagnostics(last.snippet())
                                .map(d -> d.getMessage(null))
                                .toList());
        String v = last.value();
        return v.startsWith("\"") && v.endsWith("\"") ? v.substring(1, v.length() - 1) : v;
    }
}
