package ai.radiospark.ml;

import ai.radiospark.bench.BenchFigures;
import ai.radiospark.model.RandomCheckpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * A benchmark (docs/performance.md): the tail of a stage. One partition of {@code images} JPEGs (640x427)
 * through the base-shape embedder (random weights) on local[2] (two 1-thread forward lanes), batch 8: with 24
 * images the first two batches share the lanes and the third is the task's last. Prints the wall seconds of
 * each run and the forward passes. It sits in this package, not in {@code bench}, because it runs Spark.
 *
 * <pre>{@code
 * java @conf/jvm-opens.txt -cp ... ai.radiospark.ml.StageTailProbe [images=24] [runs=3]
 * }</pre>
 */
public final class StageTailProbe {
    private StageTailProbe() {}

    public static void main(String[] args) throws Exception {
        int images = args.length > 0 ? Integer.parseInt(args[0]) : 24;
        int runs = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        Path dir = Files.createTempDirectory("tail-probe");
        RandomCheckpoint.write(RandomCheckpoint.shape("base"), dir.resolve("model"), 42);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < images; i++) {
            Path f = dir.resolve("img" + i + ".jpg");
            BenchFigures.writeSyntheticJpeg(f, i);
            rows.add(RowFactory.create((long) i, Files.readAllBytes(f)));
        }
        SparkSession spark = SparkSession.builder()
                .master("local[2]")
                .appName("StageTailProbe")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "2")
                .config("spark.default.parallelism", "2")
                .getOrCreate();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        StructType idContent =
                new StructType().add("id", DataTypes.LongType, false).add("content", DataTypes.BinaryType, true);
        Dataset<Row> in = spark.createDataFrame(jsc.parallelize(rows, 1), idContent);
        RadioEmbedder e =
                new RadioEmbedder().setModel(dir.resolve("model").toString()).setBatchSize(8);
        e.transform(in).select("summary").collectAsList(); // warm-up: model built, code paths compiled
        StringBuilder out = new StringBuilder();
        for (int k = 0; k < runs; k++) {
            long t0 = System.nanoTime();
            e.transform(in).select("summary").collectAsList();
            double s = (System.nanoTime() - t0) / 1e9;
            out.append(String.format(" %.2f", s));
        }
        System.out.printf(
                "{\"images\": %d, \"seconds\": [%s], \"forward_passes\": %d}%n",
                images,
                out.toString().trim().replace(" ", ", "),
                e.getLastMetrics().forwardPasses());
        spark.stop();
    }
}
