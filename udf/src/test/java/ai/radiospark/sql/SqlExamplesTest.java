package ai.radiospark.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs docs/sql-examples.sql as written, in a session where the functions come from
 * {@link RadioSqlExtensions} and spark.radio.model (no register call), over samples/images, and
 * checks each statement's result: the README shows exactly this SQL.
 */
class SqlExamplesTest {
    @TempDir
    Path tmp;

    /** The file's statements by their "-- name:" label. */
    static Map<String, String> statements() throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        String name = null;
        StringBuilder sql = new StringBuilder();
        for (String line : Files.readAllLines(Path.of("..", "docs", "sql-examples.sql"))) {
            if (line.startsWith("-- name:")) {
                name = line.substring("-- name:".length()).trim();
                sql.setLength(0);
            } else if (name != null && !line.startsWith("--") && !line.isBlank()) {
                sql.append(sql.length() == 0 ? "" : "\n").append(line);
                if (line.trim().endsWith(";")) {
                    out.put(name, sql.substring(0, sql.lastIndexOf(";")));
                    name = null;
                }
            }
        }
        return out;
    }

    @Test
    void sqlExamplesRunAsDocumented() throws IOException {
        Map<String, String> sql = statements();
        assertEquals(
                List.of("images", "embed", "create", "errors", "neighbours", "cosine", "normalize", "vectors"),
                new ArrayList<>(sql.keySet()));
        SparkSession s = SqlTestSpark.session().newSession();
        s.conf().set("images", SqlTestSpark.sampleImages().toString());
        s.conf().set("table", tmp.resolve("radio-embeddings").toString());
        s.conf().set("vectors", tmp.resolve("radio-vectors").toString());

        s.sql(sql.get("images"));
        assertEquals(9, s.sql("SELECT * FROM images").count(), "samples/images holds 9 files, more/ included");

        Row embed = s.sql(sql.get("embed")).head();
        Row e = embed.getStruct(1);
        assertEquals(128, SqlTestSpark.floats(e.getAs("summary")).length);
        assertNull(e.getAs("features"), "featuresMode none by default");
        assertNull(e.getAs("error"));

        s.sql(sql.get("create"));
        assertEquals(
                9,
                s.sql("SELECT * FROM delta.`" + tmp.resolve("radio-embeddings") + "`")
                        .count());

        List<Row> errors = s.sql(sql.get("errors")).collectAsList();
        assertEquals(1, errors.size(), errors.toString());
        assertTrue(errors.get(0).getString(0).endsWith("/truncated.jpg"));
        assertTrue(
                errors.get(0).getString(1).contains("truncated"), errors.get(0).getString(1));

        List<Row> top = s.sql(sql.get("neighbours")).collectAsList();
        for (Row r : top) {
            System.out.printf(
                    "neighbours of china.jpg: %-20s %.6f%n", SqlTestSpark.base(r.getString(0)), r.getDouble(1));
        }
        assertEquals(3, top.size());
        assertTrue(top.get(0).getString(0).endsWith("/china.jpg"), top.toString());
        assertEquals(1.0, top.get(0).getDouble(1), 1e-6);
        // Every image of samples/ but camera.png and chelsea.png is china.jpg re-encoded (progressive.jpg, palette.png,
        // more/gray.jpg, more/rgba.png, more/tiny.bmp): they, not the other photographs, are the nearest.
        assertTrue(
                top.stream()
                        .noneMatch(r -> r.getString(0).endsWith("/camera.png")
                                || r.getString(0).endsWith("/chelsea.png")),
                top.toString());
        List<String> ranking =
                s.sql(sql.get("neighbours").replace("LIMIT 3", "")).where("sim IS NOT NULL").collectAsList().stream()
                        .map(r -> SqlTestSpark.base(r.getString(0)))
                        .toList();
        System.out.println("ranking of china.jpg's neighbours: " + ranking);
        assertTrue(
                ranking.indexOf("progressive.jpg") < ranking.indexOf("camera.png")
                        && ranking.indexOf("progressive.jpg") < ranking.indexOf("chelsea.png"),
                ranking.toString());

        Row c = s.sql(sql.get("cosine")).head();
        assertEquals(1.0, c.getDouble(0), 1e-12);
        assertEquals(0.9746318461970762, c.getDouble(1), 1e-12);
        assertTrue(c.isNullAt(2));

        Row n = s.sql(sql.get("normalize")).head();
        assertEquals(List.of(0.6f, 0.8f), n.getList(0));
        assertTrue(n.isNullAt(1));

        s.sql(sql.get("vectors"));
        Dataset<Row> vectors = s.read().parquet(tmp.resolve("radio-vectors").toString());
        assertEquals("struct<path:string,vector:array<float>>", vectors.schema().simpleString());
        assertEquals(8, vectors.count(), "the 9 images but truncated.jpg");
        for (Row v : vectors.collectAsList()) {
            float[] x = SqlTestSpark.floats(v, "vector");
            double norm = 0;
            for (float f : x) {
                norm += (double) f * f;
            }
            assertEquals(1.0, Math.sqrt(norm), 1e-6, v.getString(0));
        }
    }

    @Test
    void theExtensionNeedsAModelConf() {
        SparkSession s = SqlTestSpark.session().newSession();
        s.conf().unset("spark.radio.model");
        Exception e = org.junit.jupiter.api.Assertions.assertThrows(
                org.apache.spark.sql.AnalysisException.class, () -> s.sql("SELECT radio_summary(X'00')"));
        assertTrue(
                e.getMessage().startsWith("radio_embed and radio_summary need a model: set spark.radio.model"),
                e.getMessage());
        // radio_cosine needs none.
        assertEquals(
                1.0, s.sql("SELECT radio_cosine(array(1), array(2))").head().getDouble(0), 1e-12);
        assertNotNull(s);
    }
}
