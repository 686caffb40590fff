package ai.radiospark.ml;

import ai.radiospark.model.Checkpoint;
import ai.radiospark.model.CheckpointWriter;
import ai.radiospark.model.Golden;
import ai.radiospark.model.SafetensorsFile;
import ai.radiospark.model.TensorInfo;
import ai.radiospark.model.TensorType;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** Spark sessions and data for the ml tests. */
final class SparkTestSupport {
    private SparkTestSupport() {}

    /** A local[2] session: UI off, loopback driver, few shuffle partitions. */
    static SparkSession localSession(String name) {
        return SparkSession.builder()
                .master("local[2]")
                .appName(name)
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "2")
                .config("spark.default.parallelism", "2")
                .getOrCreate();
    }

    static Path goldenImages() {
        return Golden.dir().resolve("images").toAbsolutePath();
    }

    static String tinyVit() {
        return Golden.checkpoint("tiny-vit").toAbsolutePath().toString();
    }

    /** A new embedder on tiny-vit (the real image preprocessor). */
    static RadioEmbedder embedder() {
        return new RadioEmbedder().setModel(tinyVit());
    }

    static final StructType ID_CONTENT =
            new StructType().add("id", DataTypes.LongType, false).add("content", DataTypes.BinaryType, true);

    /** A small random-noise PNG, deterministic in its seed. */
    static byte[] png(int width, int height, long seed) {
        Random r = new Random(seed);
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        int base = r.nextInt(0xffffff);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                img.setRGB(x, y, base ^ (r.nextInt(64) << 8) ^ (x * 7 + y * 3));
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ImageIO.write(img, "png", out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** Rows (id, content) of {@code n} small PNGs. */
    static List<Row> pngRows(int n, int size) {
        List<Row> rows = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            rows.add(RowFactory.create((long) i, png(size, size, i)));
        }
        return rows;
    }

    /**
     * tiny-vit with every patch-embedding weight 1e38: finite, so the checkpoint loads, but a patch's
     * 768 products overflow float32, and every output of the forward pass comes out NaN or Inf.
     */
    static Path overflowingTinyVit(Path dir) {
        Path golden = Golden.checkpoint("tiny-vit");
        SafetensorsFile f = SafetensorsFile.open(golden.resolve("model.safetensors"));
        CheckpointWriter w = new CheckpointWriter(Checkpoint.open(golden).config());
        for (java.util.Map.Entry<String, TensorInfo> e : f.tensors().entrySet()) {
            String name = e.getKey();
            if (e.getValue().type() == TensorType.I64) {
                w.addInt64(name, e.getValue().shape(), f.longs(name));
            } else if (name.endsWith("patch_generator.embedder.weight")) {
                w.add(name, e.getValue().shape(), () -> {
                    float[] v = f.floats(name);
                    java.util.Arrays.fill(v, 1e38f);
                    return v;
                });
            } else {
                w.add(name, e.getValue().shape(), () -> f.floats(name));
            }
        }
        w.write(dir);
        return dir;
    }

    static float[] floats(Row row, String col) {
        Object v = row.getAs(col);
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
}
