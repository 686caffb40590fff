package ai.radiospark.ml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.radiospark.RadioException;
import ai.radiospark.runtime.DefaultPixelSource;
import ai.radiospark.runtime.PixelSource;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.SparkException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/** The stage's device and dtype checks, on this CPU-only machine: before any decode. */
class RadioEmbedderDeviceTest {
    static final AtomicInteger DECODES = new AtomicInteger();

    /** Counts decodes (local mode: the executor is this JVM), then decodes as the stage would. */
    static final PixelSource.Factory COUNTING = spec -> {
        PixelSource real = DefaultPixelSource.FACTORY.create(spec);
        return new PixelSource() {
            @Override
            public Pixels decode(byte[] encoded, String name) {
                DECODES.incrementAndGet();
                return real.decode(encoded, name);
            }

            @Override
            public Pixels fromRgb(byte[] rgb, int width, int height, String name) {
                DECODES.incrementAndGet();
                return real.fromRgb(rgb, width, height, name);
            }
        };
    };

    static Dataset<Row> images() {
        SparkSession spark = SparkTestSupport.localSession("RadioEmbedderDeviceTest");
        return spark.createDataFrame(SparkTestSupport.pngRows(5, 32), SparkTestSupport.ID_CONTENT);
    }

    @Test
    void float16OnCpuIsRefusedOnTheDriver() {
        RadioEmbedder e = SparkTestSupport.embedder().setDevice("cpu").setDtype("float16");
        RadioException ex = assertThrows(RadioException.class, () -> e.transform(images()));
        assertTrue(ex.getMessage().startsWith("dtype=float16 on the CPU"), ex.getMessage());
        assertTrue(ex.getMessage().contains("bfloat16 or float32"), ex.getMessage());
    }

    @Test
    void float16WithAutoOnACpuExecutorFailsBeforeDecoding() {
        Dataset<Row> df = images();
        RadioEmbedder e = SparkTestSupport.embedder().setDtype("float16").setPixelSourceFactory(COUNTING);
        int before = DECODES.get();
        SparkException ex =
                assertThrows(SparkException.class, () -> e.transform(df).collectAsList());
        assertTrue(String.valueOf(ex.getMessage()).contains("dtype=float16 on the CPU"), ex.getMessage());
        assertEquals(before, DECODES.get(), "no image decoded");
    }

    @Test
    void gpuOnACpuExecutorFailsNamingTheSettings() {
        Dataset<Row> df = images();
        RadioEmbedder e = SparkTestSupport.embedder().setDevice("gpu").setPixelSourceFactory(COUNTING);
        int before = DECODES.get();
        SparkException ex =
                assertThrows(SparkException.class, () -> e.transform(df).collectAsList());
        assertTrue(String.valueOf(ex.getMessage()).contains("spark.task.resource.gpu.amount"), ex.getMessage());
        assertEquals(before, DECODES.get(), "no image decoded");
    }

    @Test
    void bfloat16WithAutoRunsOnCpu() {
        RadioEmbedder e = SparkTestSupport.embedder().setDtype("bfloat16").setBatchSize(2);
        assertEquals(5, e.transform(images()).filter("error is null").count());
    }
}
