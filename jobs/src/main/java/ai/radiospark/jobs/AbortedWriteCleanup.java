package ai.radiospark.jobs;

import ai.radiospark.RadioException;
import java.io.IOException;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.function.BooleanSupplier;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;

/**
 * What an aborted first Delta write leaves at a table path (a {@code _delta_log} without commits,
 * uncommitted data files, partition folders, this tool's staging folder): recognised and removed
 * before a new table is created there. Anything else at the path is refused.
 */
final class AbortedWriteCleanup {
    private AbortedWriteCleanup() {}

    /**
     * Makes sure path {@code name}, with no Delta table, can take a new one. A missing path or an
     * empty folder is fine. What an aborted first Delta write leaves (a {@code _delta_log} with no
     * commit, data files and partition folders) is removed. Anything else is refused, and nothing is
     * deleted.
     *
     * @param exists whether the table exists now (another run may have created it meanwhile)
     */
    static void prepare(SparkSession spark, String name, BooleanSupplier exists, PrintStream out) {
        try {
            Path root = new Path(name);
            FileSystem fs = root.getFileSystem(spark.sparkContext().hadoopConfiguration());
            if (!fs.exists(root)) {
                return;
            }
            if (!fs.getFileStatus(root).isDirectory()) {
                throw new RadioException(
                        "--output " + name + " is a file, not a Delta table or a folder: a table cannot be "
                                + "written there. Give another --output, or move the file away.");
            }
            FileStatus[] entries = fs.listStatus(root);
            if (entries.length == 0) {
                return;
            }
            String foreign = foreignEntry(fs, entries, true);
            boolean hasLog =
                    Arrays.stream(entries).anyMatch(e -> e.getPath().getName().equals("_delta_log"));
            if (foreign == null
                    && !hasLog
                    && Arrays.stream(entries)
                            .allMatch(e -> e.getPath().getName().equals(EmbeddingTable.STAGING))) {
                hasLog = true; // only a staging folder of this tool
            }
            if (foreign != null || !hasLog) {
                throw new RadioException("--output " + name + " is a folder that is not a Delta table and holds "
                        + (foreign != null ? foreign : "files without a _delta_log")
                        + ": radio extract writes only to a Delta "
                        + "table, a new path or an empty folder. Give another --output, or empty the folder.");
            }
            // Another run may be creating the table right now (its _delta_log there, its first commit not
            // yet): give it a moment, and leave the folder to it if it became a table.
            try {
                Thread.sleep(LEFTOVER_SETTLE_MS);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                throw new RadioException("Interrupted while inspecting --output " + name + ".", ie);
            }
            if (exists.getAsBoolean()) {
                return;
            }
            for (FileStatus e : entries) {
                fs.delete(e.getPath(), true);
            }
            out.println("radio extract: removed what an aborted first write left in " + name
                    + " (a _delta_log without commits and uncommitted data files); creating the table.");
        } catch (IOException e) {
            throw new RadioException(
                    "Cannot inspect --output " + name + ": " + e.getMessage() + ". Check the path and its permissions.",
                    e);
        }
    }

    /** How long leftovers of a first write must stay uncommitted before they are removed. */
    private static final long LEFTOVER_SETTLE_MS = 2_000;

    private static final Pattern COMMIT_FILE = Pattern.compile("\\d{20}\\..*");

    /**
     * The first entry that is not a leftover of an aborted Delta write, as a phrase, or null.
     * Leftovers: {@code _delta_log} without commit or checkpoint files, {@code part-*} data files
     * and their {@code .crc}, partition folders {@code col=value} of the same, and this tool's
     * staging folder.
     */
    private static String foreignEntry(FileSystem fs, FileStatus[] entries, boolean top) throws IOException {
        for (FileStatus e : entries) {
            String n = e.getPath().getName();
            if (e.isDirectory()) {
                if (top && n.equals("_delta_log")) {
                    for (FileStatus l : fs.listStatus(e.getPath())) {
                        String ln = l.getPath().getName();
                        if (COMMIT_FILE.matcher(ln).matches() || ln.equals("_last_checkpoint")) {
                            return "a Delta log whose commits are unreadable (" + ln + ")";
                        }
                        if (l.isDirectory() && !ln.equals("_staged_commits") && !ln.equals("_commits")) {
                            return "an unexpected folder " + l.getPath();
                        }
                    }
                } else if (top && n.equals(EmbeddingTable.STAGING)) {
                    continue;
                } else if (n.contains("=") && !n.startsWith("_") && !n.startsWith(".")) {
                    String inner = foreignEntry(fs, fs.listStatus(e.getPath()), false);
                    if (inner != null) {
                        return inner;
                    }
                } else {
                    return "a folder " + n;
                }
            } else if (!(n.startsWith("part-") || n.startsWith(".part-") && n.endsWith(".crc"))) {
                return "a file " + n;
            }
        }
        return null;
    }
}
