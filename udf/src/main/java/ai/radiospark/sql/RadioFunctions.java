package ai.radiospark.sql;

import ai.radiospark.InvalidValueException;
import ai.radiospark.ml.RadioEmbedder;
import ai.radiospark.ml.RowEmbedder;
import ai.radiospark.runtime.EmbeddingSettings.Setting;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.FunctionIdentifier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * RADIO as SQL functions.
 *
 * <pre>{@code
 * RadioFunctions.register(spark, Map.of("model", "nvidia/C-RADIOv4-H"));
 * spark.sql("SELECT path, radio_summary(content) AS summary FROM binaryFile.`/data/photos`");
 * }</pre>
 *
 * <table>
 * <caption>functions</caption>
 * <tr><th>function</th><th>returns</th></tr>
 * <tr><td>{@code radio_embed(content BINARY)}</td><td>{@code struct<summary array<float>, features
 * struct<rows,cols,dim,values>, error string>}: as RadioEmbedder's columns; a bad image gives null
 * summary and features and the reason in error</td></tr>
 * <tr><td>{@code radio_summary(content BINARY)}</td><td>{@code array<float>}, null when the image
 * cannot be embedded</td></tr>
 * <tr><td>{@code radio_cosine(a ARRAY<numeric>, b ARRAY<numeric>)}</td><td>{@code double}: cosine
 * similarity; null when either is null, contains a null or is all zeros; an error when the lengths
 * differ</td></tr>
 * <tr><td>{@code radio_vector(a ARRAY<numeric>)}</td><td>an ML {@code vector} (dense), as
 * {@code org.apache.spark.ml.functions.array_to_vector}, for SQLTransformer</td></tr>
 * <tr><td>{@code radio_normalize(a ARRAY<numeric>)}</td><td>{@code array<float>}: an L2-normalised
 * copy (inner product and L2 distance then rank as cosine); null when null, containing a null or all
 * zeros</td></tr>
 * </table>
 *
 * <p>Argument types are checked when a query is analysed (the function is bound to its arguments),
 * not per row: a wrong type fails the query before it runs, with an {@link AnalysisException}
 * naming the expected type.
 *
 * <p><b>Execution.</b> Registering loads the model on the driver once and broadcasts its weights;
 * each executor JVM builds the model once ({@code ExecutorModelCache}) and reuses it and one image
 * preprocessor per setting for every row of every task. Spark calls a scalar SQL function once per
 * row (a scalar function sees no other rows), so each row is one forward pass of batch size one:
 * fine for ad-hoc queries and modest tables; for bulk embedding use {@code RadioEmbedder} or
 * {@code radio extract}, which decode in parallel and run batches.
 */
public final class RadioFunctions {
    private static final Logger LOG = LoggerFactory.getLogger(RadioFunctions.class);

    /** The options {@link #register} takes: the embedding settings SQL takes, named like RadioEmbedder's params. */
    public static final Set<String> OPTIONS = Arrays.stream(Setting.values())
            .filter(Setting::sql)
            .map(Setting::param)
            .collect(Collectors.toUnmodifiableSet());

    static final String EMBED = "radio_embed";
    static final String SUMMARY = "radio_summary";
    static final String COSINE = "radio_cosine";
    static final String VECTOR = "radio_vector";
    static final String NORMALIZE = "radio_normalize";

    private RadioFunctions() {}

    /**
     * Registers radio_embed, radio_summary, radio_cosine, radio_vector and radio_normalize as temporary functions of
     * {@code spark}'s session, replacing earlier ones. Loads and broadcasts the model now.
     *
     * @param options {@code model} (required: a checkpoint directory or hub id), and optionally
     *     {@code imageSize} ("224x224"), {@code resizeMode} (fixed), {@code device} (auto),
     *     {@code dtype} (auto: bfloat16 on GPUs, else float32), {@code featuresMode} (none), {@code featuresType} (float32),
     *     {@code torchThreads} (0), as the RadioEmbedder params of the same names ({@link #OPTIONS});
     *     {@code batchSize} is accepted for symmetry but has no effect (SQL functions embed one row
     *     at a time)
     * @throws IllegalArgumentException for a missing model, an unknown option or a bad value
     */
    public static void register(SparkSession spark, Map<String, String> options) {
        if (!(spark instanceof org.apache.spark.sql.classic.SparkSession classic)) {
            throw new IllegalArgumentException(
                    "RadioFunctions.register needs a classic SparkSession (the driver's own), but "
                            + "got a " + spark.getClass().getName()
                            + " (Spark Connect?). With Spark Connect, configure the server with "
                            + "spark.sql.extensions=ai.radiospark.sql.RadioSqlExtensions and spark.radio.model instead.");
        }
        RowEmbedder embedder = embedder(spark, options);
        var registry = classic.sessionState().functionRegistry();
        for (SqlFunctions.Function f : SqlFunctions.functions(() -> embedder)) {
            registry.registerFunction(FunctionIdentifier.apply(f.name()), f.info(), f.builder());
        }
        LOG.info(
                "Registered {}, {}, {}, {} and {} with model {} (checkpoint {})",
                EMBED,
                SUMMARY,
                COSINE,
                VECTOR,
                NORMALIZE,
                embedder.modelInfo().source(),
                embedder.modelInfo().checkpointSha256());
    }

    /**
     * {@link #register(SparkSession, Map)} with options as {@code "key=value,key=value"} (for
     * PySpark's gateway or shells: {@code "model=/models/radio,imageSize=224x224"}). Values cannot
     * contain commas.
     */
    public static void register(SparkSession spark, String options) {
        register(spark, parseOptions(options));
    }

    static Map<String, String> parseOptions(String options) {
        Map<String, String> out = new LinkedHashMap<>();
        if (options == null || options.isBlank()) {
            return out;
        }
        for (String part : options.split(",")) {
            if (part.isBlank()) {
                continue;
            }
            int eq = part.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException(
                        "Cannot read the option \"" + part.trim() + "\" in \"" + options
                                + "\": write options as key=value pairs separated by commas, e.g. \"model=/models/radio,imageSize=224x224\".");
            }
            out.put(part.substring(0, eq).trim(), part.substring(eq + 1).trim());
        }
        return out;
    }

    /** Checks the options, builds the RadioEmbedder they describe, and loads + broadcasts the model. */
    static RowEmbedder embedder(SparkSession spark, Map<String, String> options) {
        Map<String, String> o = new TreeMap<>(options == null ? Map.of() : options);
        for (String k : o.keySet()) {
            if (!OPTIONS.contains(k)) {
                throw new IllegalArgumentException("Unknown RADIO SQL option \"" + k + "\". Options: "
                        + new java.util.TreeSet<>(OPTIONS) + " (named like RadioEmbedder's params).");
            }
        }
        String model = o.get("model");
        if (model == null || model.isBlank()) {
            throw new IllegalArgumentException(
                    "The RADIO SQL functions need a model: pass model=<checkpoint directory or "
                            + "hub id such as nvidia/C-RADIOv4-H> (from spark-sql: --conf spark.radio.model=...).");
        }
        RadioEmbedder e = new RadioEmbedder().setModel(model.trim());
        try {
            for (Map.Entry<String, String> option : o.entrySet()) {
                e.set(Setting.byParam(option.getKey()), option.getValue());
            }
        } catch (InvalidValueException | IllegalArgumentException bad) {
            throw new IllegalArgumentException("Invalid RADIO SQL options " + o + ": " + bad.getMessage(), bad);
        }
        return e.rowEmbedder(spark);
    }
}
