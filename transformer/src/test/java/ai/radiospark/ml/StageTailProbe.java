package ai.radiospark.ml;

import ai.radiospark.bench.RadioBenchmark;
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

/**
 * Not a test: the tail of a stage. One partition of {@code images} JPEGs (640x427) through the
 * base-shape embedder on local[2] (two 1-thread forward lanes), batch 8: with 24 images the first
 * two batches share the lanes and the third is the task's last. Prints the wall seconds of each
 * run and the forward passes. args: [images=24] [runs=3]
 */
public final class StageTailProbe {
  public static void main(String[] args) throws Exception {
    int images = args.length > 0 ? Integer.parseInt(args[0]) : 24;
    int runs = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    Path dir = Files.createTempDirectory("tail-probe");
    RandomCheckpoint.write(RandomCheckpoint.shape("base"), dir.resolve("model"), 42);
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < images; i++) {
      Path f = dir.resolve("img" + i + ".jpg");
      RadioBenchmark.writeSyntheticJpeg(f, i);
      rows.add(RowFactory.create((long) i, Files.readAllBytes(f)));
    }
    SparkSession spark = SparkTestSupport.localSession("StageTailProbe");
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Dataset<Row> in = spark.createDataFrame(jsc.parallelize(rows, 1), SparkTestSupport.ID_CONTENT);
    RadioEmbedder e = new RadioEmbedder().setModel(dir.resolve("model").toString()).setBatchSize(8);
    e.transform(in).select("summary").collectAsList(); // warm-up: model built, code paths compiled
    StringBuilder out = new StringBuilder();
    for (int k = 0; k < runs; k++) {
      long t0 = System.nanoTime();
      e.transform(in).select("summary").collectAsList();
      double s = (System.nanoTime() - t0) / 1e9;
      out.append(String.format(" %.2f", s));
    }
    System.out.printf("{\"images\": %d, \"seconds\": [%s], \"forward_passes\": %d}%n", images,
        out.toString().trim().replace(" ", ", "), e.getLastMetrics().forwardPasses());
    spark.stop();
  }
}
