package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.radiospark.runtime.Half;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code radio show --json} prints what the README promises: the summary and the feature grid with its values. */
class ShowCommandTest {
    static SparkSession spark;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        spark = JobsTestSpark.start("ShowCommandTest", 1);
    }

    @AfterAll
    static void stop() {
        JobsTestSpark.stop(spark);
    }

    static StructType schema(DataType values) {
        StructType features = new StructType()
                .add("rows", DataTypes.IntegerType)
                .add("cols", DataTypes.IntegerType)
                .add("dim", DataTypes.IntegerType)
                .add("values", values);
        return new StructType()
                .add("path", DataTypes.StringType)
                .add("error", DataTypes.StringType)
                .add("summary", DataTypes.createArrayType(DataTypes.FloatType))
                .add("features", features);
    }

    static List<JsonNode> showJson(String table) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream old = System.out;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = RadioCli.run("show", "--table", table, "--json");
        } finally {
            System.setOut(old);
        }
        assertEquals(0, code);
        ObjectMapper json = new ObjectMapper();
        return out.toString(StandardCharsets.UTF_8)
                .lines()
                .map(l -> {
                    try {
                        return json.readTree(l);
                    } catch (Exception e) {
                        throw new AssertionError(l, e);
                    }
                })
                .toList();
    }

    @Test
    void jsonHasTheFeatureValuesFlattenedWithTheirShape() throws Exception {
        String table = tmp.resolve("t32").toString();
        Object[] grid = {1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f};
        spark.createDataFrame(
                        List.of(
                                RowFactory.create(
                                        "file:/a.jpg",
                                        null,
                                        List.of(0.5f, -0.25f),
                                        RowFactory.create(1, 2, 4, List.of(grid))),
                                RowFactory.create("file:/b.jpg", "not an image", null, null)),
                        schema(DataTypes.createArrayType(DataTypes.FloatType)))
                .write()
                .format("delta")
                .save(table);
        List<JsonNode> rows = showJson(table);
        assertEquals(2, rows.size());
        assertEquals(
                "{\"path\":\"file:/a.jpg\",\"error\":null,\"summary\":[0.5,-0.25],\"features\":{\"rows\":1,"
                        + "\"cols\":2,\"dim\":4,\"values\":[1.0,2.0,3.0,4.0,5.0,6.0,7.0,8.0]}}",
                rows.get(0).toString());
        assertEquals(
                "{\"path\":\"file:/b.jpg\",\"error\":\"not an image\",\"summary\":null,\"features\":null}",
                rows.get(1).toString());
    }

    @Test
    void float16FeaturesArePrintedAsFloats() throws Exception {
        String table = tmp.resolve("t16").toString();
        byte[] half = Half.encode(new float[] {0.5f, -2f, 1.25f, 0f});
        Row r = RowFactory.create("file:/a.jpg", null, List.of(1f), RowFactory.create(2, 1, 2, half));
        spark.createDataFrame(List.of(r), schema(DataTypes.BinaryType))
                .write()
                .format("delta")
                .save(table);
        JsonNode f = showJson(table).get(0).get("features");
        assertEquals("{\"rows\":2,\"cols\":1,\"dim\":2,\"values\":[0.5,-2.0,1.25,0.0]}", f.toString());
    }
}
