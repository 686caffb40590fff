package ai.radiospark.jobs;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import ai.radiospark.RadioException;
import ai.radiospark.jobs.ExtractJob.WriteMode;
import ai.radiospark.runtime.EmbeddingSettings;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * A run's settings against its table's: how this run makes its embeddings (the table properties,
 * the commit metadata and each row's {@code settings} column record it), the settings a table's
 * properties name, the guard that keeps embeddings made differently from being mixed, and the
 * start of a {@code --reembed}.
 */
final class TableSettings {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The table property set while a --reembed is not finished; a merge run with its settings finishes it. */
    static final String REEMBED_MARKER = "radio.reembed_in_progress";

    /** The settings' keys, in order. */
    static final List<String> SETTINGS = EmbeddingSettings.recordedKeys();

    /**
     * The table's target settings as a run found and left them.
     *
     * @param settings the settings the table's rows are to have (a null: no table yet)
     * @param finishing a re-embedding: rows of other settings go when every image is done
     */
    record Target(Map<String, String> settings, boolean finishing) {
        static final Target NONE = new Target(null, false);
    }

    private final EmbeddingSettings embedding;
    private final String sha;

    /** @param sha the SHA-256 of this run's checkpoint */
    TableSettings(EmbeddingSettings embedding, String sha) {
        this.embedding = embedding;
        this.sha = sha;
    }

    String sha() {
        return sha;
    }

    /** How this run's embeddings are made, in order; the table properties, commit metadata and rows name these. */
    Map<String, String> run() {
        return embedding.recorded(sha);
    }

    /** This run's rows' {@code settings} column. */
    String runRow() {
        return rowSettings(run());
    }

    /** The table properties that say how its embeddings were made: the settings as radio.*. */
    Map<String, String> tableProperties() {
        return embedding.tableProperties(sha);
    }

    /** The commit metadata of a commit of {@code images} images. */
    String commitInfo(int images) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("job", "radio extract");
        // The commit metadata has always called the resolution "size".
        run().forEach((k, v) -> m.put(k.equals("resolution") ? "size" : k, v));
        m.put("images", images);
        try {
            return JSON.writeValueAsString(m);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Reads an existing table's target settings and checks this run's against them (see
     * {@link #guard}). An empty table takes this run's settings. Unless {@code dryRun}, a table
     * written before rows recorded their settings gets the {@code settings} column, and a
     * {@code --reembed} starts: the rows keep saying how they were made, the table's target becomes
     * this run's settings, and {@link #REEMBED_MARKER} is set until it is finished.
     */
    Target settle(EmbeddingTable table, WriteMode mode, boolean reembed, boolean dryRun) {
        Map<String, String> run = run();
        Map<String, String> props = table.properties();
        Map<String, String> target = targetSettings(props);
        if (!differences(target, run).isEmpty() && table.read().isEmpty()) {
            // No row to mix with (say a first run whose tasks all failed): the table takes this run's settings.
            if (!dryRun) {
                table.setProperties(tableProperties());
            }
            target = run;
        }
        boolean reembedding = guard(table, target, mode, reembed);
        boolean finishing = mode == WriteMode.MERGE && (reembedding || "true".equals(props.get(REEMBED_MARKER)));
        if (!dryRun) {
            if (!table.hasColumn("settings")) {
                // A table written before rows recorded their settings: its rows are the properties' settings.
                table.addStringColumn("settings");
            }
            if (reembedding) {
                // The rows keep saying how they were made; then the table's target becomes this run's settings.
                table.fillNulls("settings", rowSettings(target));
                Map<String, String> props2 = tableProperties();
                props2.put(REEMBED_MARKER, "true");
                table.setProperties(props2);
                target = run;
            }
        }
        return new Target(target, finishing);
    }

    /**
     * Checks this run's settings against the table's target settings. Returns whether they differ
     * (allowed only by --reembed in merge mode); else throws, naming each differing setting.
     */
    boolean guard(EmbeddingTable table, Map<String, String> target, WriteMode mode, boolean reembed) {
        List<String> diffs = differences(target, run());
        if (diffs.isEmpty()) {
            return false;
        }
        if (mode == WriteMode.MERGE && reembed) {
            return true;
        }
        String fix = mode == WriteMode.APPEND
                ? "--mode append never changes a table's settings: use --mode merge --reembed to re-embed every image with "
                        + "this run's, or write to another --output."
                : "pass --reembed to re-embed every image with the new model and settings (a killed --reembed resumes with "
                        + "the same command), or write to another --output.";
        throw new RadioException("The table " + table.name() + " holds embeddings made with other settings than this "
                + "run's: " + String.join("; ", diffs) + ". Embeddings made differently must not be mixed: " + fix);
    }

    /** Whether a row (columns prefixed {@code prefix}) was made as this run makes them: see {@link #made}. */
    Column madeByRun(EmbeddingTable table, String prefix) {
        String runRow = runRow();
        return made(table, prefix, sha, runRow, runRow);
    }

    /**
     * Whether a row (columns prefixed {@code prefix}) was made with checkpoint {@code sha} and row
     * settings {@code runRow}; a row without settings (written before rows recorded them) has
     * {@code nullMeans}, the table's settings.
     */
    static Column made(EmbeddingTable table, String prefix, String sha, String runRow, String nullMeans) {
        Column settings =
                table.hasColumn("settings") ? coalesce(col(prefix + "settings"), lit(nullMeans)) : lit(nullMeans);
        return coalesce(
                col(prefix + "checkpoint_sha256").equalTo(lit(sha)).and(settings.equalTo(lit(runRow))), lit(false));
    }

    /**
     * Whether a row of {@code rows} was made as the table's properties ({@code target}) say, and so
     * compares with its other rows: its checkpoint and row settings are the target's (a row without
     * settings has the target's). A table that records no checkpoint: every row.
     */
    static Column comparable(Dataset<Row> rows, Map<String, String> target) {
        String targetRow = rowSettings(target);
        Column settings = java.util.Arrays.asList(rows.columns()).contains("settings")
                ? coalesce(col("settings"), lit(targetRow))
                : lit(targetRow);
        return target.get("checkpoint_sha256") == null
                ? lit(true)
                : coalesce(
                        col("checkpoint_sha256")
                                .equalTo(lit(target.get("checkpoint_sha256")))
                                .and(settings.equalTo(lit(targetRow))),
                        lit(false));
    }

    /** The settings that differ, each as "--option run value (the table: value)", named by their options. */
    static List<String> differences(Map<String, String> target, Map<String, String> run) {
        List<String> diffs = new ArrayList<>();
        for (Map.Entry<String, String> e : run.entrySet()) {
            String k = e.getKey();
            String t = target.get(k);
            if (k.equals("checkpoint_sha256")) {
                continue; // named with --model
            }
            if (k.equals("model")) {
                String tSha = target.get("checkpoint_sha256");
                if (!run.get("checkpoint_sha256").equals(tSha)) {
                    diffs.add("--model " + e.getValue() + " is checkpoint " + shortSha(run.get("checkpoint_sha256"))
                            + " (the table: " + (t == null ? "not recorded" : t) + ", checkpoint " + shortSha(tSha)
                            + ")");
                }
            } else if (!e.getValue().equals(t)) {
                diffs.add(EmbeddingSettings.Setting.byTableKey(k).option() + " " + e.getValue() + " (the table: "
                        + (t == null ? "not recorded" : t) + ")");
            }
        }
        return diffs;
    }

    private static String shortSha(String sha) {
        return sha == null ? "not recorded" : sha.substring(0, Math.min(12, sha.length()));
    }

    /** The settings a table's properties name (radio.* without the prefix). */
    static Map<String, String> targetSettings(Map<String, String> properties) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String k : SETTINGS) {
            String v = properties.get("radio." + k);
            if (v != null) {
                m.put(k, v);
            }
        }
        return m;
    }

    /**
     * A row's {@code settings} column: the settings besides the model (the row's {@code model} and
     * {@code checkpoint_sha256}), as {@code size=224x224;resize_mode=fixed;dtype=float32;...}.
     */
    static String rowSettings(Map<String, String> settings) {
        return EmbeddingSettings.rowSettings(settings);
    }
}
