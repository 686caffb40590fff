package ai.radiospark.ml;

import java.util.Arrays;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The schema side of {@link RadioEmbedder}: the input kinds it accepts, the checks on the input
 * and output columns, and the output schema (input columns, then summary, features, the optional
 * imageInfo and error). Errors name the column and its type, before any job runs.
 */
final class EmbedderSchema {
    private EmbedderSchema() {}

    /** The input kinds the stage accepts. */
    enum InputKind {
        BINARY,
        IMAGE_STRUCT,
        PATH
    }

    static InputKind inputKind(String column, DataType t) {
        if (t instanceof BinaryType) {
            return InputKind.BINARY;
        }
        if (t instanceof StringType) {
            return InputKind.PATH;
        }
        if (t instanceof StructType s && isImageStruct(s)) {
            return InputKind.IMAGE_STRUCT;
        }
        String extra = t instanceof StructType
                ? " (an image struct needs fields height:int, width:int, nChannels:int, "
                        + "mode:int and data:binary, as spark.read.format(\"image\") makes)"
                : "";
        throw new IllegalArgumentException("Column `" + column + "` must be binary, an image struct or a string path, "
                + "but is " + t.simpleString() + extra + ". Set inputCol to a column of encoded image bytes (e.g. "
                + "binaryFile's content), the image source's image column, or file paths.");
    }

    private static boolean isImageStruct(StructType s) {
        return hasField(s, "height", DataTypes.IntegerType)
                && hasField(s, "width", DataTypes.IntegerType)
                && hasField(s, "nChannels", DataTypes.IntegerType)
                && hasField(s, "mode", DataTypes.IntegerType)
                && hasField(s, "data", DataTypes.BinaryType);
    }

    private static boolean hasField(StructType s, String name, DataType t) {
        return Arrays.stream(s.fields())
                .anyMatch(f -> f.name().equals(name) && f.dataType().equals(t));
    }

    /**
     * The column that names binary rows in messages: a string {@code path} column (as binaryFile
     * has), else -1 (rows are then named by their position).
     */
    static int nameIndex(StructType schema, InputKind kind) {
        int nameIndex = -1;
        if (kind == InputKind.BINARY
                && Arrays.asList(schema.fieldNames()).contains("path")
                && schema.apply("path").dataType() instanceof StringType) {
            nameIndex = schema.fieldIndex("path");
        }
        return nameIndex;
    }

    static StructType featuresType(boolean half) {
        return new StructType(new StructField[] {
            DataTypes.createStructField("rows", DataTypes.IntegerType, false),
            DataTypes.createStructField("cols", DataTypes.IntegerType, false),
            DataTypes.createStructField("dim", DataTypes.IntegerType, false),
            DataTypes.createStructField(
                    "values",
                    half ? DataTypes.BinaryType : DataTypes.createArrayType(DataTypes.FloatType, false),
                    false)
        });
    }

    /** The imageInfoCol type: original size, then the model input size. */
    static final StructType IMAGE_INFO = new StructType(new StructField[] {
        DataTypes.createStructField("width", DataTypes.IntegerType, false),
        DataTypes.createStructField("height", DataTypes.IntegerType, false),
        DataTypes.createStructField("inputHeight", DataTypes.IntegerType, false),
        DataTypes.createStructField("inputWidth", DataTypes.IntegerType, false)
    });

    /**
     * Checks the input column (present, of a kind the stage takes) and the output columns (distinct,
     * not in the input), and returns the input schema with the output columns appended.
     * {@code imageInfoCol} "" means no imageInfo column; {@code half}: features values as binary.
     */
    static StructType output(
            StructType schema,
            String in,
            String summaryCol,
            String featuresCol,
            String imageInfoCol,
            String errorCol,
            boolean half) {
        if (!Arrays.asList(schema.fieldNames()).contains(in)) {
            throw new IllegalArgumentException("Column `" + in + "` does not exist; the input has columns "
                    + Arrays.toString(schema.fieldNames()) + ". Set inputCol to the column holding the images.");
        }
        inputKind(in, schema.apply(in).dataType());
        boolean info = !imageInfoCol.isEmpty();
        String[] outs = info
                ? new String[] {summaryCol, featuresCol, imageInfoCol, errorCol}
                : new String[] {summaryCol, featuresCol, errorCol};
        String[] names = info
                ? new String[] {"summaryCol", "featuresCol", "imageInfoCol", "errorCol"}
                : new String[] {"summaryCol", "featuresCol", "errorCol"};
        for (int i = 0; i < outs.length; i++) {
            for (int j = 0; j < i; j++) {
                if (outs[i].equals(outs[j])) {
                    throw new IllegalArgumentException("Output columns must differ, but " + names[j] + " and "
                            + names[i] + " are both `" + outs[i] + "`. Give each its own name.");
                }
            }
        }
        for (int i = 0; i < outs.length; i++) {
            if (Arrays.asList(schema.fieldNames()).contains(outs[i])) {
                throw new IllegalArgumentException(
                        "Output column `" + outs[i] + "` (" + names[i] + ") already exists in "
                                + "the input, as "
                                + schema.apply(outs[i]).dataType().simpleString() + ". Drop or rename it, or set "
                                + names[i] + " to another name.");
            }
        }
        StructType out = schema.add(DataTypes.createStructField(
                        summaryCol, DataTypes.createArrayType(DataTypes.FloatType, false), true))
                .add(DataTypes.createStructField(featuresCol, featuresType(half), true));
        if (info) {
            out = out.add(DataTypes.createStructField(imageInfoCol, IMAGE_INFO, true));
        }
        return out.add(DataTypes.createStructField(errorCol, DataTypes.StringType, true));
    }
}
