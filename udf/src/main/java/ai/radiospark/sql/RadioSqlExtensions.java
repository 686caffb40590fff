package ai.radiospark.sql;

import ai.radiospark.ml.RowEmbedder;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.SparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.SparkSessionExtensions;
import org.apache.spark.sql.catalyst.FunctionIdentifier;
import scala.Tuple3;
import scala.runtime.AbstractFunction1;
import scala.runtime.BoxedUnit;

/**
 * Registers the RADIO SQL functions in every session, for {@code spark-sql}, Thrift servers and
 * notebooks where no code runs first:
 *
 * <pre>
 * spark-sql --jars radio-spark-jobs-0.1.0-SNAPSHOT-spark.jar \
 *   --conf spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension,ai.radiospark.sql.RadioSqlExtensions \
 *   --conf spark.radio.model=/models/C-RADIOv4-H
 * </pre>
 *
 * <p>The options are session confs {@code spark.radio.<option>} ({@code spark.radio.model},
 * {@code spark.radio.imageSize}, ... as {@link RadioFunctions#register}); they are read when a
 * query first uses radio_embed or radio_summary (so {@code SET spark.radio.model=...} works too),
 * and the model is loaded and broadcast once per SparkContext and set of options. radio_cosine,
 * radio_vector and radio_normalize need no model.
 */
public final class RadioSqlExtensions extends AbstractFunction1<SparkSessionExtensions, BoxedUnit> {
    /** Conf prefix of the options. */
    public static final String PREFIX = "spark.radio.";

    private static final Map<String, RowEmbedder> EMBEDDERS = new ConcurrentHashMap<>();

    @Override
    public BoxedUnit apply(SparkSessionExtensions ext) {
        for (SqlFunctions.Function f : SqlFunctions.functions(RadioSqlExtensions::embedderFromConf)) {
            ext.injectFunction(new Tuple3<>(FunctionIdentifier.apply(f.name()), f.info(), f.builder()));
        }
        return BoxedUnit.UNIT;
    }

    /** The options in the active session's confs; the embedder for them, made once per SparkContext. */
    static RowEmbedder embedderFromConf() {
        SparkSession spark = SparkSession.active();
        Map<String, String> options = new LinkedHashMap<>();
        for (String o : RadioFunctions.OPTIONS) {
            String v = spark.conf().get(PREFIX + o, null);
            if (v != null) {
                options.put(o, v);
            }
        }
        if (!options.containsKey("model")) {
            throw SqlFunctions.analysisError("radio_embed and radio_summary need a model: set " + PREFIX + "model to a "
                    + "RADIO checkpoint directory or hub id (spark-sql --conf " + PREFIX + "model=..., or SET " + PREFIX
                    + "model=...), or call ai.radiospark.sql.RadioFunctions.register(spark, options).");
        }
        SparkContext sc = spark.sparkContext();
        String key = sc.applicationId() + "@" + sc.startTime() + " " + new java.util.TreeMap<>(options);
        return EMBEDDERS.computeIfAbsent(key, k -> RadioFunctions.embedder(spark, options));
    }
}
