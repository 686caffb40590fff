package ai.radiospark.ml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.radiospark.model.Checkpoint;
import ai.radiospark.model.DevicePlan;
import ai.radiospark.model.Golden;
import ai.radiospark.model.ModelDType;
import ai.radiospark.model.RadioModel;
import ai.radiospark.model.RadioOutput;
import ai.radiospark.model.RadioWeights;
import ai.radiospark.model.SafetensorsFile;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;

/**
 * Runs only where PyTorch sees a GPU (the CUDA libtorch and an NVIDIA GPU: build with -Pcuda and
 * set PYTORCH_FLAVOR=cu128); skipped on CPU-only machines, where the check itself reports 0
 * without throwing, except under the gpu-tests profile, where no GPU fails with the reason. The
 * golden models on gpu(i) against the CPU, within 1e-3.
 */
@EnabledIf("hasGpu")
class GpuDeviceTest {
    static final double ATOL = 1e-3;
    static final EnumSet<RadioModel.Output> BOTH = EnumSet.of(RadioModel.Output.SUMMARY, RadioModel.Output.FEATURES);

    /**
     * Whether PyTorch sees a GPU. Under the gpu-tests profile ({@code -Dradio.gpu.required=true}) no
     * GPU is a failure that says why ({@link GpuCount}), not a skip: that run is on a GPU node.
     */
    static boolean hasGpu() {
        GpuCount.Answer a = DeviceSelector.gpuAnswer();
        if (a.gpus() == 0 && Boolean.getBoolean("radio.gpu.required")) {
            throw new IllegalStateException(
                    "radio.gpu.required is set (mvn -Pgpu-tests), but PyTorch can use no GPU: " + a.reason());
        }
        return a.gpus() > 0;
    }

    static RadioOutput run(RadioWeights w, Device device, ModelDType dtype, float[] px, int b, int h, int wd) {
        try (RadioModel m =
                RadioModel.builder().optDevice(device).optDType(dtype).build(w)) {
            assertEquals(device, m.device());
            return m.forward(px, b, h, wd, BOTH);
        }
    }

    @Test
    void goldenModelsOnEveryGpuMatchTheCpu() {
        for (String model : List.of("tiny-vit", "tiny-swiglu")) {
            SafetensorsFile golden = Golden.file(model + "/case0_2x3x224x224.safetensors");
            float[] px = golden.floats("pixel_values");
            RadioWeights w = Checkpoint.open(Golden.checkpoint(model)).weights();
            RadioOutput cpu = run(w, Device.cpu(), ModelDType.FLOAT32, px, 2, 224, 224);
            for (int i = 0; i < DeviceSelector.pytorchGpus(); i++) {
                Device d = DeviceSelector.select(
                        "gpu",
                        Map.of("gpu", new ResourceInformation("gpu", new String[] {"" + i})),
                        DeviceSelector::pytorchGpus);
                assertEquals(Device.gpu(i), d);
                RadioOutput gpu = run(w, d, ModelDType.FLOAT32, px, 2, 224, 224);
                Golden.assertClose(cpu.summary(), gpu.summary(), ATOL, model + " summary on " + d);
                Golden.assertClose(cpu.features(), gpu.features(), ATOL, model + " features on " + d);
                Golden.assertClose(
                        golden.floats("summary"), gpu.summary(), ATOL, model + " summary on " + d + " vs reference");
            }
        }
    }

    @Test
    void halfPrecisionOnGpuIsCloseToCpuFloat32() {
        SafetensorsFile golden = Golden.file("tiny-vit/case0_2x3x224x224.safetensors");
        float[] px = golden.floats("pixel_values");
        RadioWeights w = Checkpoint.open(Golden.checkpoint("tiny-vit")).weights();
        float[] ref = run(w, Device.cpu(), ModelDType.FLOAT32, px, 2, 224, 224).summary();
        for (ModelDType t : List.of(ModelDType.FLOAT16, ModelDType.BFLOAT16)) {
            assertEquals(t, DevicePlan.of(Device.gpu(0), t).compute()); // allowed on a GPU, computed as asked
            float[] s = run(w, Device.gpu(0), t, px, 2, 224, 224).summary();
            double cos = cosine(ref, s);
            assertTrue(cos > 0.995, t + " summary cosine to CPU float32: " + cos);
        }
    }

    @Test
    void embedderRunsOnTheGpuInSpark() {
        SparkSession spark = SparkTestSupport.localSession("GpuDeviceTest");
        Dataset<Row> df = spark.createDataFrame(SparkTestSupport.pngRows(6, 64), SparkTestSupport.ID_CONTENT);
        List<Row> cpu = SparkTestSupport.embedder()
                .setDevice("cpu")
                .setBatchSize(4)
                .transform(df)
                .orderBy("id")
                .collectAsList();
        List<Row> gpu = SparkTestSupport.embedder()
                .setDevice("gpu")
                .setBatchSize(4)
                .transform(df)
                .orderBy("id")
                .collectAsList();
        assertEquals(cpu.size(), gpu.size());
        for (int i = 0; i < cpu.size(); i++) {
            assertNull(gpu.get(i).getAs("error"));
            Golden.assertClose(
                    SparkTestSupport.floats(cpu.get(i), "summary"),
                    SparkTestSupport.floats(gpu.get(i), "summary"),
                    ATOL,
                    "row " + i);
        }
    }

    static double cosine(float[] a, float[] b) {
        return ai.radiospark.Cosine.similarity(a, b);
    }
}
