package ai.radiospark.sql;

import static ai.radiospark.sql.RadioFunctions.COSINE;
import static ai.radiospark.sql.RadioFunctions.EMBED;
import static ai.radiospark.sql.RadioFunctions.NORMALIZE;
import static ai.radiospark.sql.RadioFunctions.SUMMARY;
import static ai.radiospark.sql.RadioFunctions.VECTOR;

import ai.radiospark.ml.RowEmbedder;
import java.util.List;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.api.java.UDF2;
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
import scala.collection.immutable.Seq;
import scala.runtime.AbstractFunction1;

/**
 * The RADIO SQL functions as Catalyst function builders: their names, usage texts, argument checks
 * at analysis time and the UDFs they bind to. {@link RadioFunctions#register} and {@link
 * RadioSqlExtensions} register them; {@link ArrayFunctions} holds the row code of the array functions.
 */
final class SqlFunctions {
    private SqlFunctions() {}

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
                new Function(
                        EMBED,
                        "radio_embed(content) - RADIO embedding of encoded image bytes (BINARY): "
                                + "struct<summary array<float>, features struct<rows,cols,dim,values>, error string>; a bad image gives "
                                + "null summary and features and the reason in error.",
                        new Builder(EMBED, 1) {
                            @Override
                            Expression build(Seq<Expression> args) {
                                requireBinary(EMBED, args.apply(0));
                                RowEmbedder e = embedder.get();
                                return scalaUdf(
                                        EMBED,
                                        (UDF1<byte[], org.apache.spark.sql.Row>) b -> e.embedRow(b, "in this row"),
                                        e.resultType(),
                                        args);
                            }
                        }),
                new Function(
                        SUMMARY,
                        "radio_summary(content) - RADIO summary embedding of encoded image bytes (BINARY) as "
                                + "array<float>; null when the image cannot be embedded (radio_embed(content).error says why).",
                        new Builder(SUMMARY, 1) {
                            @Override
                            Expression build(Seq<Expression> args) {
                                requireBinary(SUMMARY, args.apply(0));
                                RowEmbedder e = embedder.get();
                                return scalaUdf(
                                        SUMMARY,
                                        (UDF1<byte[], float[]>)
                                                b -> e.embed(b, "in this row").summary(),
                                        RowEmbedder.summaryType(),
                                        args);
                            }
                        }),
                new Function(
                        COSINE,
                        "radio_cosine(a, b) - cosine similarity (double) of two numeric arrays of equal length, "
                                + "e.g. two summaries; null when either is null, contains a null or is all zeros.",
                        new Builder(COSINE, 2) {
                            @Override
                            Expression build(Seq<Expression> args) {
                                requireNumericArray(COSINE, "first", args.apply(0));
                                requireNumericArray(COSINE, "second", args.apply(1));
                                return scalaUdf(
                                        COSINE,
                                        (UDF2<scala.collection.Seq<Object>, scala.collection.Seq<Object>, Double>)
                                                ArrayFunctions::cosine,
                                        DataTypes.DoubleType,
                                        args);
                            }
                        }),
                new Function(
                        VECTOR,
                        "radio_vector(a) - a numeric array (e.g. a summary) as a dense ML vector, like "
                                + "org.apache.spark.ml.functions.array_to_vector; null for null.",
                        new Builder(VECTOR, 1) {
                            @Override
                            Expression build(Seq<Expression> args) {
                                requireNumericArray(VECTOR, "", args.apply(0));
                                return scalaUdf(
                                        VECTOR,
                                        (UDF1<scala.collection.Seq<Object>, org.apache.spark.ml.linalg.Vector>)
                                                ArrayFunctions::vector,
                                        SQLDataTypes.VectorType(),
                                        args);
                            }
                        }),
                new Function(
                        NORMALIZE,
                        "radio_normalize(a) - an L2-normalised copy (array<float>, length 1) of a numeric array, e.g. "
                                + "a summary, so that inner product and L2 distance rank as cosine does; null when the "
                                + "array is null, contains a null or is all zeros.",
                        new Builder(NORMALIZE, 1) {
                            @Override
                            Expression build(Seq<Expression> args) {
                                requireNumericArray(NORMALIZE, "", args.apply(0));
                                return scalaUdf(
                                        NORMALIZE,
                                        (UDF1<scala.collection.Seq<Object>, float[]>) ArrayFunctions::normalize,
                                        DataTypes.createArrayType(DataTypes.FloatType, false),
                                        args);
                            }
                        }));
    }

    /** Checks the argument count, then builds; runs when the analyzer binds the function to resolved arguments. */
    abstract static class Builder extends AbstractFunction1<Seq<Expression>, Expression>
            implements java.io.Serializable {
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
                throw analysisError(name + " takes " + (arity == 1 ? "1 argument" : arity + " arguments")
                        + ", but was given " + args.size() + ". Usage: " + usage(name) + ".");
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
            case NORMALIZE -> "radio_normalize(a ARRAY<FLOAT>)";
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
        if (t instanceof NullType
                || (t instanceof ArrayType a
                        && (a.elementType() instanceof NumericType || a.elementType() instanceof NullType))) {
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
        throw SqlFunctions.<RuntimeException>sneakyThrow(new AnalysisException(
                message,
                scala.Option.empty(),
                scala.Option.empty(),
                scala.Option.empty(),
                scala.Option.empty(),
                scala.collection.immutable.Map$.MODULE$.empty(),
                new org.apache.spark.QueryContext[0]));
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
}
