package ai.radiospark.ml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.radiospark.model.Checkpoint;
import ai.radiospark.model.RadioWeights;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/** In local mode the weights reach tasks through this JVM, not a broadcast. */
class WeightsHandleTest {
  @Test
  void localModeSharesTheDriversWeightsWithoutABroadcast() throws Exception {
    SparkSession spark = SparkTestSupport.localSession("WeightsHandleTest");
    try {
      RadioWeights w = Checkpoint.open(Path.of(SparkTestSupport.tinyVit())).weights();
      WeightsHandle h = WeightsHandle.of(spark.sparkContext(), w);
      assertSame(w, h.get());
      // A task gets a deserialized copy of the handle: it still finds the same weights.
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
        out.writeObject(h);
      }
      WeightsHandle copy;
      try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
        copy = (WeightsHandle) in.readObject();
      }
      assertSame(w, copy.get());
      assertTrue(bytes.size() < 1024, "the handle is small, not the weights: " + bytes.size() + " bytes");
      assertEquals("Local", h.getClass().getSimpleName());
    } finally {
      spark.stop();
    }
  }
}
