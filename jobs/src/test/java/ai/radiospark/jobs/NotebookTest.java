package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import jdk.jshell.JShell;
import jdk.jshell.Snippet;
import jdk.jshell.SnippetEvent;
import jdk.jshell.SourceCodeAnalysis;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Executes every code cell of every notebook in {@code notebooks/}, in order, in JShell (the
 * engine under JJava, the Java Jupyter kernel), and fails on a cell that does not compile or that
 * throws. JShell runs in this JVM ({@code executionEngine("local")}) on the test classpath, so the
 * cells see this project, Spark and Delta as a kernel with the jars added would.
 *
 * <p>{@code -Dradio.notebooks.write=true} also writes each cell's captured standard output back
 * into the notebook as its outputs (how the committed outputs were made):
 *
 * <pre>
 * mvn -B -o test -pl udf,jobs -am -Dtest=NotebookTest -Dsurefire.failIfNoSpecifiedTests=false \
 *   -Dradio.notebooks.write=true
 * </pre>
 */
class NotebookTest {
    static final boolean WRITE = Boolean.getBoolean("radio.notebooks.write");
    static final ObjectMapper JSON = new ObjectMapper();

    static Path notebooks() {
        Path p = Path.of("..", "notebooks").toAbsolutePath().normalize();
        assertTrue(Files.isDirectory(p), "notebooks/ not found at " + p);
        return p;
    }

    @TestFactory
    Stream<DynamicTest> everyNotebookRuns() throws IOException {
        List<Path> all;
        try (Stream<Path> s = Files.list(notebooks())) {
            all = s.filter(p -> p.toString().endsWith(".ipynb")).sorted().toList();
        }
        assertTrue(all.size() >= 2, "notebooks: " + all);
        return all.stream().map(p -> DynamicTest.dynamicTest(p.getFileName().toString(), () -> run(p)));
    }

    static void run(Path notebook) throws IOException {
        ObjectNode nb = (ObjectNode) JSON.readTree(notebook.toFile());
        assertEquals("java", nb.path("metadata").path("kernelspec").path("name").asText(), "kernelspec name");
        assertEquals(
                "java", nb.path("metadata").path("kernelspec").path("language").asText(), "kernelspec language");
        assertEquals(
                "java", nb.path("metadata").path("language_info").path("name").asText(), "language_info name");
        if (!WRITE) {
            checkStored(notebook, nb);
        }
        ByteArrayOutputStream cellOut = new ByteArrayOutputStream();
        PrintStream realOut = System.out;
        PrintStream tee = new PrintStream(new Tee(cellOut, realOut), true, StandardCharsets.UTF_8);
        long t0 = System.nanoTime();
        int count = 0;
        // As in Jupyter after spark.setLogLevel("WARN"): this project's INFO lines stay out of the cells' outputs
        // (the test log configuration has them at INFO).
        org.apache.logging.log4j.core.config.Configurator.setLevel(
                "ai.radiospark", org.apache.logging.log4j.Level.WARN);
        try (JShell shell =
                JShell.builder().executionEngine("local").out(tee).err(tee).build()) {
            for (String entry : classpath()) {
                shell.addToClasspath(entry);
            }
            for (JsonNode c : nb.withArray("cells")) {
                ObjectNode cell = (ObjectNode) c;
                if (!cell.path("cell_type").asText().equals("code")) {
                    continue;
                }
                String source = source(cell);
                assertFalse(
                        source.lines().anyMatch(l -> l.trim().startsWith("%")),
                        "cell " + (count + 1) + " uses a magic; keep magics in markdown so JShell can run the cells");
                cellOut.reset();
                System.setOut(tee);
                String where = notebook.getFileName() + " cell " + (count + 1);
                try {
                    // Dataset.show prints through Scala's Console, whose stream is inherited by the threads JShell runs
                    // in.
                    scala.Console$.MODULE$.withOut(tee, new scala.runtime.AbstractFunction0<Object>() {
                        @Override
                        public Object apply() {
                            evalCell(shell, source, where);
                            return null;
                        }
                    });
                } finally {
                    System.setOut(realOut);
                }
                count++;
                String text = cellOut.toString(StandardCharsets.UTF_8);
                if (!WRITE && !text.isEmpty()) {
                    assertTrue(
                            cell.path("outputs").size() > 0,
                            notebook.getFileName() + " cell " + count + " prints, but the "
                                    + "committed notebook has no outputs for it: regenerate them with -Dradio.notebooks.write=true");
                }
                if (WRITE) {
                    cell.put("execution_count", count);
                    text = portable(text);
                    ArrayNode outputs = cell.putArray("outputs");
                    if (!text.isEmpty()) {
                        ObjectNode o = outputs.addObject();
                        o.put("name", "stdout");
                        o.put("output_type", "stream");
                        ArrayNode lines = o.putArray("text");
                        text.lines().forEach(l -> lines.add(l + "\n"));
                    }
                }
            }
        }
        System.out.printf(
                "%s: %d code cells ran in %.1f s%n", notebook.getFileName(), count, (System.nanoTime() - t0) / 1e9);
        if (WRITE) {
            // nbformat 4.5: every cell has an id (Jupyter warns about cells without), stable across regenerations.
            nb.put("nbformat", 4);
            nb.put("nbformat_minor", 5);
            int n = 0;
            for (JsonNode c : nb.withArray("cells")) {
                ObjectNode cell = (ObjectNode) c;
                String id = String.format("cell-%02d", ++n);
                ObjectNode reordered = JSON.createObjectNode();
                reordered.put("id", id);
                cell.fields().forEachRemaining(f -> {
                    if (!f.getKey().equals("id")) {
                        reordered.set(f.getKey(), f.getValue());
                    }
                });
                cell.removeAll();
                cell.setAll(reordered);
            }
            DefaultPrettyPrinter pp = new DefaultPrettyPrinter()
                    .withObjectIndenter(new DefaultIndenter(" ", "\n"))
                    .withArrayIndenter(new DefaultIndenter(" ", "\n"));
            Files.writeString(notebook, JSON.writer(pp).writeValueAsString(nb) + "\n");
        }
    }

    /** Where this checkout is: stored outputs show /path/to/radio-spark instead of the developer's absolute path. */
    static final String CHECKOUT = Path.of("..").toAbsolutePath().normalize().toString();
    /** Temporary folders the notebooks make (Files.createTempDirectory("radio-notebook-")): the random part. */
    static final java.util.regex.Pattern TEMP = java.util.regex.Pattern.compile("(radio-[a-z]+-)\\d{6,}");

    /** A local absolute path other than the placeholder: file:/… or a home or work folder. */
    static final java.util.regex.Pattern ABSOLUTE =
            java.util.regex.Pattern.compile("file:/(?!path/to/)|(^|[\\s=\"'(\\[])/(work|home|Users|root)/");

    /** Output text as stored: no absolute path of this machine, no random temporary folder names. */
    static String portable(String text) {
        return TEMP.matcher(text.replace(CHECKOUT, "/path/to/radio-spark")).replaceAll("$1NNN");
    }

    /** The committed notebook: cells with ids, and outputs that show no path of the machine they were made on. */
    static void checkStored(Path notebook, ObjectNode nb) {
        assertTrue(
                nb.path("nbformat").asInt() == 4 && nb.path("nbformat_minor").asInt() >= 5,
                notebook + ": nbformat 4.5");
        int n = 0;
        for (JsonNode cell : nb.withArray("cells")) {
            n++;
            assertFalse(cell.path("id").asText().isEmpty(), notebook.getFileName() + " cell " + n + " has no id");
            for (JsonNode o : cell.path("outputs")) {
                String text = o.toString();
                assertFalse(
                        text.contains(CHECKOUT)
                                || TEMP.matcher(text).find()
                                || ABSOLUTE.matcher(text).find(),
                        notebook.getFileName()
                                + " cell " + n
                                + " output shows a path of the machine it ran on; regenerate the outputs with "
                                + "-Dradio.notebooks.write=true: " + text);
            }
        }
    }

    /** Splits a cell into snippets as JShell's own input loop does, and runs them; fails on the first problem. */
    static void evalCell(JShell shell, String source, String where) {
        SourceCodeAnalysis analysis = shell.sourceCodeAnalysis();
        String rest = source;
        while (!rest.isBlank()) {
            SourceCodeAnalysis.CompletionInfo ci = analysis.analyzeCompletion(rest);
            switch (ci.completeness()) {
                case COMPLETE, COMPLETE_WITH_SEMI -> {}
                case EMPTY -> {
                    return;
                }
                default -> fail(where + ": incomplete code (" + ci.completeness() + "): " + rest);
            }
            for (SnippetEvent e : shell.eval(ci.source())) {
                if (e.status() == Snippet.Status.REJECTED) {
                    StringBuilder why = new StringBuilder();
                    shell.diagnostics(e.snippet())
                            .forEach(d -> why.append("\n  ").append(d.getMessage(null)));
                    fail(where + ": does not compile:\n" + e.snippet().source() + why);
                }
                if (e.exception() != null) {
                    java.io.StringWriter sw = new java.io.StringWriter();
                    e.exception().printStackTrace(new java.io.PrintWriter(sw));
                    fail(where + ": threw " + sw + "\nin:\n" + e.snippet().source());
                }
            }
            rest = ci.remaining();
        }
    }

    static String source(ObjectNode cell) {
        JsonNode s = cell.path("source");
        if (s.isArray()) {
            StringBuilder b = new StringBuilder();
            s.forEach(l -> b.append(l.asText()));
            return b.toString();
        }
        return s.asText();
    }

    /** The test classpath (surefire's, also behind a manifest-only jar). */
    static List<String> classpath() {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> out = new ArrayList<>();
        for (String e : cp.split(File.pathSeparator)) {
            if (!e.isBlank()) {
                out.add(e);
            }
        }
        return out;
    }

    /** Writes to two streams. */
    private static final class Tee extends OutputStream {
        private final OutputStream a;
        private final OutputStream b;

        Tee(OutputStream a, OutputStream b) {
            this.a = a;
            this.b = b;
        }

        @Override
        public void write(int c) throws IOException {
            a.write(c);
            b.write(c);
        }

        @Override
        public void write(byte[] buf, int off, int len) throws IOException {
            a.write(buf, off, len);
            b.write(buf, off, len);
        }

        @Override
        public void flush() throws IOException {
            a.flush();
            b.flush();
        }
    }
}
