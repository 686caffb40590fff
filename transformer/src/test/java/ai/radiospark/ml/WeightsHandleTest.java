package ai.radiospark.ml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.radiospark.JavaSerialization;
import ai.radiospark.model.Checkpoint;
import ai.radiospark.model.RadioWeights;
import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/** In local mode the weights reach tasks through this JVM, not a broadcast. */
class WeightsHandleTest {
    @Test
    void localModeSharesTheDriversWeightsWithoutABroadcast() throws Exception {
        SparkSession spark = SparkTestSupport.localSession("WeightsHandleTest");
        try {
            RadioWeights w =
                    Checkpoint.open(Path.of(SparkTestSupport.tinyVit())).weights();
            WeightsHandle h = WeightsHandle.of(spark.sparkContext(), w);
            assertSame(w, h.get());
            // A task gets a deserialized copy of the handle: it still finds the same weights.
            byte[] bytes = JavaSerialization.write(h);
            WeightsHandle copy = JavaSerialization.read(bytes);
            assertSame(w, copy.get());
            assertTrue(bytes.length < 1024, "the handle is small, not the weights: " + bytes.length + " bytes");
            assertEquals("Local", h.getClass().getSimpleName());
        } finally {
            spark.stop();
        }
    }
}
