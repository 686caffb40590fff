package ai.radiospark.sql;

import ai.radiospark.InvalidValueException;
import ai.radiospark.RadioException;
import ai.radiospark.runtime.EmbeddingSettings.Setting;
import ai.radiospark.ml.RadioEmbedder;
import ai.radiospark.ml.RowEmbedder;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.api.java.UDF2;
import org.apache.spark.sql.catalyst.FunctionIdentifier;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.ExpressionInfo;
import org.apache.spark.sql.classic.UserDefinedFunctionUtils;
import org.apache.spark.sql.expressions.SparkUserDefinedFunction;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.NullType;
import org.apache.spark.sql.types.NumericType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.collection.immutable.Seq;
import scala.runtime.AbstractFunction1;

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
  public static final Set<String> OPTIONS = Arrays.stream(Setting.values()).filter(Setting::sql).map(Setting::param)
      .collect(Collectors.toUnmodifiableSet());

  static final String EMBED = "radio_embed";
  static final String SUMMARY = "radio_summary";
  static final String COSINE = "radio_cosine";
  static final String VECTOR = "radio_vector";

  private RadioFunctions() {}

  /**
   * Registers radio_embed, radio_summary, radio_cosine and radio_vector as temporary functions of
   * {@code spark}'s session, replacing earlier ones. Loads and broadcasts the model now.
   *
   * @param options {@code model} (required: a checkpoint directory or hub id), and optionally
   *     {@code imageSize} ("224x224"), {@code resizeMode} (fixed), {@code device} (auto),
   *     {@code dtype} (float32), {@code featuresMode} (none), {@code featuresType} (float32),
   *     {@code torchThreads} (0), as the RadioEmbedder params of the same names ({@link #OPTIONS});
   *     {@code batchSize} is accepted for symmetry but has no effect (SQL functions embed one row
   *     at a time)
   * @throws IllegalArgumentException for a missing model, an unknown option or a bad value
   */
  public static void register(SparkSession spark, Map<String, String> options) {
    if (!(spark instanceof org.apache.spark.sql.classic.SparkSession classic)) {
      throw new IllegalArgumentException("RadioFunctions.register needs a classic SparkSession (the driver's own), but "
          + "got a " + spark.getClass().getName() + " (Spark Connect?). With Spark Connect, configure the server with "
          + "spark.sql.extensions=ai.radiospark.sql.RadioSqlExtensions and spark.radio.model instead.");
    }
    RowEmbedder embedder = embedder(spark, options);
    var registry = classic.sessionState().functionRegistry();
    for (Function f : functions(() -> embedder)) {
      registry.registerFunction(FunctionIdentifier.apply(f.name), f.info(), f.builder);
    }
    LOG.info("Registered {}, {}, {} and {} with model {} (checkpoint {})", EMBED, SUMMARY, COSINE, VECTOR,
        embedder.modelInfo().source(), embedder.modelInfo().checkpointSha256());
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
        throw new IllegalArgumentException("Cannot read the option \"" + part.trim() + "\" in \"" + options
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
      throw new IllegalArgumentException("The RADIO SQL functions need a model: pass model=<checkpoint directory or "
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

  // ---- the functions ----

  /** Supplies the embedder when a function is bound (register: at once; the extension: from confs, lazily). */
  interface EmbedderSupplier {
    RowEmbedder get();
  }

  /** A function's name, usage text and builder. */
  record Function(String name, String usage, AbstractFunction1<Seq<Expression>, Expression> builder) {
    ExpressionInfo info() {
      return new ExpressionInfo(RadioFunctions.class.getName(), null, name, usage, "", "", "", "", "", "", "");
    }
  }

  static List<Function> functions(EmbedderSupplier embedder) {
    return List.of(
        new Function(EMBED, "radio_embed(content) - RADIO embedding of encoded image bytes (BINARY): "
            + "struct<summary array<float>, features struct<rows,cols,dim,values>, error string>; a bad image gives "
            + "null summary and features and the reason in error.", new Builder(EMBED, 1) {
              @Override
              Expression build(Seq<Expression> args) {
                requireBinary(EMBED, args.apply(0));
                RowEmbedder e = embedder.get();
                return scalaUdf(EMBED, (UDF1<byte[], org.apache.spark.sql.Row>) b -> e.embedRow(b, "in this row"),
                    e.resultType(), args);
              }
            }),
        new Function(SUMMARY, "radio_summary(content) - RADIO summary embedding of encoded image bytes (BINARY) as "
            + "array<float>; null when the image cannot be embedded (radio_embed(content).error says why).",
            new Builder(SUMMARY, 1) {
              @Override
              Expression build(Seq<Expression> args) {
                requireBinary(SUMMARY, args.apply(0));
                RowEmbedder e = embedder.get();
                return scalaUdf(SUMMARY, (UDF1<byte[], float[]>) b -> e.embed(b, "in this row").summary(),
                    RowEmbedder.summaryType(), args);
              }
            }),
        new Function(COSINE, "radio_cosine(a, b) - cosine similarity (double) of two numeric arrays of equal length, "
            + "e.g. two summaries; null when either is null, contains a null or is all zeros.",
            new Builder(COSINE, 2) {
              @Override
              Expression build(Seq<Expression> args) {
                requireNumericArray(COSINE, "first", args.apply(0));
                requireNumericArray(COSINE, "second", args.apply(1));
                return scalaUdf(COSINE, (UDF2<scala.collection.Seq<Object>, scala.collection.Seq<Object>, Double>)
                    RadioFunctions::cosine, DataTypes.DoubleType, args);
              }
            }),
        new Function(VECTOR, "radio_vector(a) - a numeric array (e.g. a summary) as a dense ML vector, like "
            + "org.apache.spark.ml.functions.array_to_vector; null for null.", new Builder(VECTOR, 1) {
              @Override
              Expression build(Seq<Expression> args) {
                requireNumericArray(VECTOR, "", args.apply(0));
                return scalaUdf(VECTOR, (UDF1<scala.collection.Seq<Object>, org.apache.spark.ml.linalg.Vector>)
                    RadioFunctions::vector, SQLDataTypes.VectorType(), args);
              }
            }));
  }

  /** Checks the argument count, then builds; runs when the analyzer binds the function to resolved arguments. */
  abstract static class Builder extends AbstractFunction1<Seq<Expression>, Expression> implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    private final String name;
    private final int arity;

    Builder(String name, int arity) {
      this.name = name;
      this.arity = arity;
    }

    @Override
    public Expression apply(Seq<Expression> args) {
      if (args.size() != arity) {
        throw analysisError(name + " takes " + (arity == 1 ? "1 argument" : arity + " arguments") + ", but was given "
            + args.size() + ". Usage: " + usage(name) + ".");
      }
      return build(args);
    }

    abstract Expression build(Seq<Expression> args);
  }

  static String usage(String name) {
    return switch (name) {
      case EMBED -> "radio_embed(content BINARY)";
      case SUMMARY -> "radio_summary(content BINARY)";
      case COSINE -> "radio_cosine(a ARRAY<FLOAT>, b ARRAY<FLOAT>)";
      case VECTOR -> "radio_vector(a ARRAY<FLOAT>)";
      default -> name;
    };
  }

  static void requireBinary(String fn, Expression arg) {
    DataType t = arg.dataType();
    if (t instanceof BinaryType || t instanceof NullType) {
      return;
    }
    String hint = t.equals(DataTypes.StringType)
        ? " Pass the file bytes, not a path: read images with the binaryFile source, e.g. SELECT " + fn
            + "(content) FROM binaryFile.`/path/to/images`."
        : " Pass encoded image bytes (JPEG, PNG, ...), e.g. the content column of the binaryFile source.";
    throw analysisError(fn + " expects BINARY image bytes, but its argument is " + t.sql() + "." + hint);
  }

  static void requireNumericArray(String fn, String which, Expression arg) {
    DataType t = arg.dataType();
    if (t instanceof NullType || (t instanceof ArrayType a && (a.elementType() instanceof NumericType
        || a.elementType() instanceof NullType))) {
      return;
    }
    String what = which.isEmpty() ? "its argument" : "its " + which + " argument";
    throw analysisError(fn + " expects ARRAY<FLOAT> (an embedding such as a summary; any numeric array works), but "
        + what + " is " + t.sql() + ".");
  }

  /**
   * Throws an {@link AnalysisException} (checked in Java, so thrown unchecked, as Scala code does)
   * with exactly {@code message}; declared to return one so callers can write {@code throw}.
   */
  static RuntimeException analysisError(String message) {
    throw RadioFunctions.<RuntimeException>sneakyThrow(new AnalysisException(message, scala.Option.empty(),
        scala.Option.empty(), scala.Option.empty(), scala.Option.empty(),
        scala.collection.immutable.Map$.MODULE$.empty(), new org.apache.spark.QueryContext[0]));
  }

  @SuppressWarnings("unchecked")
  private static <T extends Throwable> T sneakyThrow(Throwable t) throws T {
    throw (T) t;
  }

  @SuppressWarnings("unchecked")
  private static Expression scalaUdf(String name, Object fn, DataType type, Seq<Expression> args) {
    UserDefinedFunction udf;
    if (fn instanceof UDF1<?, ?> f1) {
      udf = org.apache.spark.sql.functions.udf((UDF1<Object, Object>) f1, type);
    } else {
      udf = org.apache.spark.sql.functions.udf((UDF2<Object, Object, Object>) fn, type);
    }
    return UserDefinedFunctionUtils.toScalaUDF((SparkUserDefinedFunction) udf.withName(name), args);
  }

  // ---- row functions (run on executors) ----

  static Double cosine(scala.collection.Seq<Object> a, scala.collection.Seq<Object> b) {
    if (a == null || b == null) {
      return null;
    }
    if (a.size() != b.size()) {
      throw new RadioException("radio_cosine: cannot compare arrays of different lengths (" + a.size() + " and "
          + b.size() + "): embeddings from different models or settings. Compare embeddings of one model only.");
    }
    double[] x = doubles(a);
    double[] y = doubles(b);
    if (x == null || y == null) {
      return null;
    }
    double dot = 0;
    double nx = 0;
    double ny = 0;
    for (int i = 0; i < x.length; i++) { // as ai.radiospark.Cosine, in double
      dot += x[i] * y[i];
      nx += x[i] * x[i];
      ny += y[i] * y[i];
    }
    double c = dot / Math.sqrt(nx * ny);
    return Double.isNaN(c) ? null : c; // an all-zero vector has no direction; NaN would sort first in DESC order
  }

  static org.apache.spark.ml.linalg.Vector vector(scala.collection.Seq<Object> a) {
    if (a == null) {
      return null;
    }
    double[] v = new double[a.size()];
    for (int i = 0; i < v.length; i++) {
      Object x = a.apply(i);
      if (x == null) {
        throw new RadioException("radio_vector: element " + i + " of the array is null; vectors cannot hold nulls.");
      }
      v[i] = ((Number) x).doubleValue();
    }
    return Vectors.dense(v);
  }

  /** The elements as doubles (exact for float), or null when one is null. */
  private static double[] doubles(scala.collection.Seq<Object> s) {
    double[] v = new double[s.size()];
    for (int i = 0; i < v.length; i++) {
      Object x = s.apply(i);
      if (x == null) {
        return null;
      }
      v[i] = ((Number) x).doubleValue();
    }
    return v;
  }
}
