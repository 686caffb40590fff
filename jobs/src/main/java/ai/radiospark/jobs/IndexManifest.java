package ai.radiospark.jobs;

import ai.radiospark.RadioException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The manifest of an index folder ({@value #FILE}): what a {@code radio index} folder holds and
 * what it covers. A folder is radio-spark's when its manifest has {@code "format": "}{@value
 * #FORMAT}{@code "}; anything else in a non-empty folder is someone else's and is never written
 * over. The manifest is written last and atomically, naming the files of its generation, so a
 * reader sees either the old index or the new one.
 *
 * <pre>{@code
 * {"format": "radio-spark-ann-index", "format_version": 1, "table": "file:/data/embeddings",
 *  "table_version": 7, "checkpoint_sha256": "9f2c...", "settings": "size=224x224;...",
 *  "metric": "cosine", "normalized": true, "dimension": 2560, "count": 99812,
 *  "skipped_no_summary": 180, "skipped_unusable": 0, "skipped_other_settings": 8,
 *  "product_quantised": true, "graph": "graph-7-....jvector", "pq": "pq-7-....jvector",
 *  "paths": "paths-7-....json", "library": "jvector 4.0.2", "built_at": "2026-11-30T01:00:00Z"}
 * }</pre>
 *
 * {@code paths} is a JSON array: the row key ({@code path}) of each ordinal of the graph.
 */
record IndexManifest(
        String table,
        long tableVersion,
        String checkpointSha256,
        String settings,
        int dimension,
        long count,
        long skippedNoSummary,
        long skippedUnusable,
        long skippedOtherSettings,
        boolean productQuantised,
        String graph,
        String pq,
        String paths,
        String builtAt) {

    static final String FILE = "radio-index.json";
    static final String FORMAT = "radio-spark-ann-index";
    static final int FORMAT_VERSION = 1;
    static final String METRIC = "cosine";
    static final String LIBRARY = "jvector 4.0.2";

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * The manifest of the index folder {@code dir}, or null when there is no index there yet (no
     * such folder, or an empty one).
     *
     * @throws RadioException when {@code dir} is a file, or a folder that is not a radio-spark
     *     index: it is never written over (exit code 1)
     */
    static IndexManifest read(Path dir, String option) {
        if (!Files.exists(dir)) {
            return null;
        }
        if (!Files.isDirectory(dir)) {
            throw new RadioException(
                    option + " " + dir + " is a file, not an index folder: nothing is written over it. "
                            + "Choose another " + option + ".");
        }
        Path file = dir.resolve(FILE);
        try {
            if (!Files.isRegularFile(file)) {
                try (DirectoryStream<Path> d = Files.newDirectoryStream(dir)) {
                    if (!d.iterator().hasNext()) {
                        return null;
                    }
                }
                throw notOurs(dir, option, "it has no " + FILE);
            }
            JsonNode m;
            try {
                m = JSON.readTree(file.toFile());
            } catch (IOException e) {
                throw notOurs(dir, option, "its " + FILE + " is not JSON");
            }
            if (m == null || !FORMAT.equals(m.path("format").asText(null))) {
                throw notOurs(dir, option, "its " + FILE + " has no \"format\": \"" + FORMAT + "\"");
            }
            int version = m.path("format_version").asInt(-1);
            if (version != FORMAT_VERSION) {
                throw new RadioException(option + " " + dir + " holds an index of format version " + version
                        + ", which this radio-spark (format " + FORMAT_VERSION + ") cannot read. Rebuild it with this "
                        + "version's radio index into another " + option + ", or use the radio-spark that wrote it.");
            }
            return new IndexManifest(
                    m.path("table").asText(),
                    m.path("table_version").asLong(),
                    m.path("checkpoint_sha256").isNull()
                            ? null
                            : m.path("checkpoint_sha256").asText(null),
                    m.path("settings").isNull() ? null : m.path("settings").asText(null),
                    m.path("dimension").asInt(),
                    m.path("count").asLong(),
                    m.path("skipped_no_summary").asLong(),
                    m.path("skipped_unusable").asLong(),
                    m.path("skipped_other_settings").asLong(),
                    m.path("product_quantised").asBoolean(),
                    m.path("graph").asText(),
                    m.path("pq").isNull() ? null : m.path("pq").asText(null),
                    m.path("paths").asText(),
                    m.path("built_at").asText());
        } catch (IOException e) {
            throw new RadioException("Cannot read the index folder " + dir + " (" + option + "): " + e.getMessage()
                    + ". Check its permissions.");
        }
    }

    private static RadioException notOurs(Path dir, String option, String why) {
        return new RadioException(option + " " + dir + " is a folder that is not a radio-spark index (" + why
                + "): its files are left as they are. Choose an empty or new folder for " + option + ".");
    }

    /** Whether this index covers exactly this table version, checkpoint and settings. */
    boolean covers(String tableLocation, long version, String sha, String rowSettings) {
        return table.equals(tableLocation)
                && tableVersion == version
                && Objects.equals(checkpointSha256, sha)
                && Objects.equals(settings, rowSettings);
    }

    /** Writes the manifest into {@code dir} atomically (a temporary file moved over the old one). */
    void write(Path dir) throws IOException {
        ObjectNode m = JSON.createObjectNode();
        m.put("format", FORMAT);
        m.put("format_version", FORMAT_VERSION);
        m.put("table", table);
        m.put("table_version", tableVersion);
        m.put("checkpoint_sha256", checkpointSha256);
        m.put("settings", settings);
        m.put("metric", METRIC);
        m.put("normalized", true);
        m.put("dimension", dimension);
        m.put("count", count);
        m.put("skipped_no_summary", skippedNoSummary);
        m.put("skipped_unusable", skippedUnusable);
        m.put("skipped_other_settings", skippedOtherSettings);
        m.put("product_quantised", productQuantised);
        m.put("graph", graph);
        m.put("pq", pq);
        m.put("paths", paths);
        m.put("library", LIBRARY);
        m.put("built_at", builtAt);
        Path tmp = dir.resolve(FILE + ".tmp");
        JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), m);
        try {
            Files.move(tmp, dir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, dir.resolve(FILE), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** The row keys by ordinal, as {@link #writePaths} wrote them. */
    List<String> readPaths(Path dir) {
        try {
            JsonNode a = JSON.readTree(dir.resolve(paths).toFile());
            List<String> out = new ArrayList<>(a.size());
            a.forEach(n -> out.add(n.asText()));
            if (out.size() != count) {
                throw new RadioException("The index at " + dir + " is damaged: " + paths + " has " + out.size()
                        + " paths for " + count + " vectors. Delete the folder and run radio index again.");
            }
            return out;
        } catch (IOException e) {
            throw new RadioException("The index at " + dir + " is damaged: cannot read " + paths + " (" + e.getMessage()
                    + "). Delete the folder and run radio index again.");
        }
    }

    static void writePaths(Path file, List<String> paths) throws IOException {
        ArrayNode a = JSON.createArrayNode();
        paths.forEach(a::add);
        JSON.writeValue(file.toFile(), a);
    }

    /** Deletes the files of other generations than {@code keep} (an earlier index, or a killed build's). */
    static void deleteOtherGenerations(Path dir, Set<String> keep) {
        try (DirectoryStream<Path> d = Files.newDirectoryStream(dir, "{graph-,pq-,paths-}*.{jvector,json}")) {
            for (Path p : d) {
                if (!keep.contains(p.getFileName().toString())) {
                    Files.deleteIfExists(p);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
