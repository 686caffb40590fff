package ai.radiospark.ml;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.radiospark.model.Checkpoint;
import ai.radiospark.model.DevicePlan;
import ai.radiospark.model.Golden;
import ai.radiospark.model.ModelDType;
import ai.radiospark.model.RadioModel;
import ai.radiospark.model.RadioOutput;
import ai.radiospark.model.RadioWeights;
import ai.radiospark.runtime.DefaultPixelSource;
import ai.radiospark.runtime.PixelSource;
import java.nio.file.Files;
import java.util.EnumSet;
import org.junit.jupiter.api.Test;

/**
 * The SQL functions' row path ({@link RowEmbedder}, radio_embed) packs its image as the stage packs
 * its batches: 8-bit for a GPU plan's model, float32 for the CPU's, with the same outputs bit for
 * bit (so the SQL golden tests, on the CPU, are unchanged).
 */
class RowEmbedderPixelsTest {
    static final EnumSet<RadioModel.Output> BOTH = EnumSet.of(RadioModel.Output.SUMMARY, RadioModel.Output.FEATURES);

    @Test
    void aGpuPlansModelGets8BitPixelsAndTheCpusFloat32WithTheSameOutputs() throws Exception {
        RadioWeights w = Checkpoint.open(Golden.checkpoint("tiny-vit")).weights();
        PixelSource source = new DefaultPixelSource(
                new PixelSource.Spec(64, 96, "fixed", w.config().patchSize(), 100_000_000L));
        PixelSource.Pixels px =
                source.decode(Files.readAllBytes(Golden.dir().resolve("images/chelsea.png")), "chelsea.png");
        try (RadioModel gpuPlan = RadioModel.builder()
                        .optPlan(DevicePlan.of(Device.gpu(0), ModelDType.FLOAT32))
                        .build(w);
                RadioModel cpu = RadioModel.builder().build(w)) {
            assertTrue(RowEmbedder.pixels(gpuPlan, px).uint8(), "a GPU plan uploads uint8, as the stage does");
            assertFalse(RowEmbedder.pixels(cpu, px).uint8(), "the CPU keeps float32");
            RadioOutput u = RowEmbedder.pixels(gpuPlan, px).forward(gpuPlan, BOTH);
            RadioOutput f = gpuPlan.forward(px.chw(), 1, px.height(), px.width(), BOTH);
            assertArrayEquals(f.summary(), u.summary());
            assertArrayEquals(f.features(), u.features());
            RadioOutput c = RowEmbedder.pixels(cpu, px).forward(cpu, BOTH);
            assertArrayEquals(
                    cpu.forward(px.chw(), 1, px.height(), px.width(), BOTH).summary(), c.summary());
        }
    }
}
