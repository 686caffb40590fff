package ai.radiospark.ml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import ai.radiospark.model.Checkpoint;
import ai.radiospark.model.Golden;
import ai.radiospark.model.RadioWeights;
import java.nio.ByteBuffer;
import org.apache.spark.SparkConf;
import org.apache.spark.serializer.KryoSerializer;
import org.apache.spark.serializer.SerializerInstance;
import org.junit.jupiter.api.Test;
import scala.reflect.ClassTag$;

/**
 * The weights' broadcast value survives Kryo, the serializer of conf/spark-defaults-*.conf: a standalone cluster's
 * executors got weights without tensors ("this.tensors is null") when RadioWeights itself was broadcast.
 */
class WeightsBroadcastKryoTest {
    @Test
    void theBroadcastValueKeepsEveryTensorThroughKryo() throws Exception {
        RadioWeights w = Checkpoint.open(Golden.checkpoint("tiny-swiglu")).weights();
        SerializerInstance kryo = new KryoSerializer(new SparkConf()).newInstance();
        // The weights themselves lose their tensors through Kryo: why they travel in JavaSerialized.
        RadioWeights raw = kryo.deserialize(
                kryo.serialize(w, ClassTag$.MODULE$.apply(RadioWeights.class)),
                ClassTag$.MODULE$.apply(RadioWeights.class));
        assertNull(raw.tensors(), "RadioWeights through Kryo");
        WeightsHandle.JavaSerialized value = new WeightsHandle.JavaSerialized(w);
        ByteBuffer bytes = kryo.serialize(value, ClassTag$.MODULE$.apply(WeightsHandle.JavaSerialized.class));
        WeightsHandle.JavaSerialized back =
                kryo.deserialize(bytes, ClassTag$.MODULE$.apply(WeightsHandle.JavaSerialized.class));
        assertNotNull(back.weights.tensors(), "tensors after Kryo");
        assertEquals(w.tensors().keySet(), back.weights.tensors().keySet());
        assertEquals(w.checkpointSha256(), back.weights.checkpointSha256());
        for (String name : w.tensors().keySet()) {
            assertEquals(
                    w.tensors().get(name).data(),
                    back.weights.tensors().get(name).data(),
                    name);
        }
    }
}
