package ai.radiospark.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.radiospark.JavaSerialization;
import java.util.EnumSet;
import org.junit.jupiter.api.Test;

/** RadioWeights travel by Java serialization (Spark broadcast): the copy computes the same outputs. */
class RadioWeightsSerializationTest {
    @Test
    void serializedCopyKeepsCanonicalNamesAndOutputs() throws Exception {
        RadioWeights w = Checkpoint.open(Golden.checkpoint("tiny-swiglu")).weights();
        RadioWeights copy = JavaSerialization.roundTrip(w);
        assertEquals(w.tensors().keySet(), copy.tensors().keySet());
        assertEquals(w.checkpointSha256(), copy.checkpointSha256());
        assertEquals(w.layout(), copy.layout());
        assertEquals(w.tensor("patch").name(), copy.tensor("patch").name());
        SafetensorsFile golden = Golden.file("tiny-swiglu/case0_2x3x224x224.safetensors");
        float[] px = golden.floats("pixel_values");
        try (RadioModel a = RadioModel.builder().build(w);
                RadioModel b = RadioModel.builder().build(copy)) {
            RadioOutput oa = a.forward(px, 2, 224, 224, EnumSet.of(RadioModel.Output.SUMMARY));
            RadioOutput ob = b.forward(px, 2, 224, 224, EnumSet.of(RadioModel.Output.SUMMARY));
            assertArrayEquals(oa.summary(), ob.summary(), 0f);
        }
    }
}
