package ai.radiospark.jobs;

import ai.radiospark.RadioException;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Checks of local output locations before Spark starts, so that a table that cannot be created is
 * one line (exit code 1) rather than Delta's trace from inside the first commit.
 */
final class LocalPaths {
    private LocalPaths() {}

    /**
     * A local path (no scheme, or {@code file:}) where a Delta table is to be written: it must be a
     * folder or creatable as one. Metastore table names and other file systems are left to Spark.
     *
     * @throws RadioException saying which part of the path is in the way
     */
    static void checkWritable(String option, String location) {
        Path path = localPath(location);
        if (path == null) {
            return;
        }
        if (Files.isDirectory(path)) {
            return; // an existing table or folder: Delta checks the rest
        }
        if (Files.exists(path)) {
            throw new RadioException(option + " " + location + " is a file, not a folder, so no table can be written "
                    + "there. Choose another " + option + ".");
        }
        Path existing = path.getParent();
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return;
        }
        if (!Files.isDirectory(existing)) {
            throw new RadioException("Cannot create the table " + location + " (" + option + "): " + existing + " is a "
                    + "file, not a folder. Choose an " + option + " under a folder.");
        }
        try {
            Files.delete(Files.createTempDirectory(existing, ".radio-write-check-"));
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            throw new RadioException("Cannot create the table " + location + " (" + option + "): the folder " + existing
                    + " cannot be written (" + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : ": " + e.getMessage()) + "). Choose an " + option
                    + " in a folder you can write to.");
        }
    }

    /**
     * A table to read: when its location is a local path, it must hold a Delta table (a
     * {@code _delta_log} folder). Metastore names and other file systems are left to Spark.
     *
     * @throws RadioException when there is no table there (exit code 1)
     */
    static void checkTable(String option, String location) {
        Path path = localPath(location);
        if (path != null && !Files.isDirectory(path.resolve("_delta_log"))) {
            throw new RadioException("There is no Delta table at " + location + " (" + path
                    + (Files.exists(path) ? " has no _delta_log" : " does not exist")
                    + "). Run radio extract first, or check " + option + ".");
        }
    }

    /** The local file system path of a table location, or null when it is not one. */
    static Path localPath(String location) {
        if (!EmbeddingTable.looksLikePath(location)) {
            return null;
        }
        try {
            if (location.startsWith("file:")) {
                return Path.of(URI.create(location));
            }
            if (location.matches("^[A-Za-z][A-Za-z0-9+.-]*:.*")) {
                return null; // s3a:, hdfs:, abfss:, ...
            }
            return Path.of(location).toAbsolutePath();
        } catch (IllegalArgumentException e) { // InvalidPathException too
            return null;
        }
    }
}
