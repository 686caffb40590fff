package ai.radiospark.sql;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.radiospark.model.GoldenResources;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * The one SparkSession of the udf tests (static SQL confs such as spark.sql.extensions are fixed
 * when the first session of a JVM starts): local[2], Delta, and {@link RadioSqlExtensions} with
 * spark.radio.model = the golden tiny-vit checkpoint. Tests work in {@code newSession()}s.
 */
final class SqlTestSpark {
    private SqlTestSpark() {}

    static synchronized SparkSession session() {
        Path warehouse;
        try {
            warehouse = Files.createTempDirectory("radio-udf-warehouse");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return SparkSession.builder()
                .master("local[2]")
                .appName("radio-udf-tests")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "2")
                .config("spark.default.parallelism", "2")
                .config("spark.sql.warehouse.dir", warehouse.toUri().toString())
                .config(
                        "spark.sql.extensions",
                        "io.delta.sql.DeltaSparkSessionExtension," + RadioSqlExtensions.class.getName())
                .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
                .config("spark.radio.model", tinyVit())
                .getOrCreate();
    }

    /** transformer's golden data, from its test-jar. */
    static Path golden() {
        return GoldenResources.dir();
    }

    static Path goldenImages() {
        return golden().resolve("images");
    }

    static String tinyVit() {
        return golden().resolve("tiny-vit").resolve("checkpoint").toString();
    }

    /**
     * tiny-vit with every patch-embedding weight 1e38, written into a new temporary folder: finite, so
     * it loads, but the patch embedding overflows float32 and every output comes out NaN or Inf.
     */
    static String overflowingTinyVit() {
        try {
            Path dir = Files.createTempDirectory("radio-overflowing-tiny-vit");
            Path golden = Path.of(tinyVit());
            ai.radiospark.model.SafetensorsFile f =
                    ai.radiospark.model.SafetensorsFile.open(golden.resolve("model.safetensors"));
            ai.radiospark.model.CheckpointWriter w = new ai.radiospark.model.CheckpointWriter(
                    ai.radiospark.model.Checkpoint.open(golden).config());
            f.tensors().forEach((name, info) -> {
                if (info.type() == ai.radiospark.model.TensorType.I64) {
                    w.addInt64(name, info.shape(), f.longs(name));
                } else {
                    w.add(name, info.shape(), () -> {
                        float[] v = f.floats(name);
                        if (name.endsWith("patch_generator.embedder.weight")) {
                            java.util.Arrays.fill(v, 1e38f);
                        }
                        return v;
                    });
                }
            });
            w.write(dir);
            return dir.toString();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The repository's samples/images (tests run in the module folder). */
    static Path sampleImages() {
        Path p = Path.of("..", "samples", "images").toAbsolutePath().normalize();
        assertTrue(Files.isDirectory(p), "samples not found at " + p);
        return p;
    }

    static float[] floats(Object v) {
        if (v == null) {
            return null;
        }
        scala.collection.Seq<?> seq = (scala.collection.Seq<?>) v;
        float[] out = new float[seq.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (Float) seq.apply(i);
        }
        return out;
    }

    static float[] floats(Row r, String col) {
        return floats(r.getAs(col));
    }

    static double cosine(float[] a, float[] b) {
        return ai.radiospark.Cosine.similarity(a, b);
    }

    static double maxAbs(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs((double) a[i] - b[i]));
        }
        return m;
    }

    static String base(String path) {
        return path.substring(path.lastIndexOf('/') + 1);
    }
}
