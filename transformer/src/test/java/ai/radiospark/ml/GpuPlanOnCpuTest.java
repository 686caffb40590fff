package ai.radiospark.ml;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import ai.radiospark.model.SafetensorsFile;
import ai.radiospark.model.TensorInfo;
import ai.radiospark.runtime.ForwardThreads;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The GPU configuration exercised on the CPU: the model is built on the CPU with exactly what
 * {@link DevicePlan} chooses for a GPU (aten linears, no oneDNN weight reorder, graph executor
 * optimisation off, the GPU compute type) and run on the GPU lane policy (two forward lanes,
 * shared by every pass), on the golden cases of both models, several input shapes per model.
 * float32 must match the reference within 1e-4 (RadioModelGoldenTest's tolerance); bfloat16 and
 * float16 (half, which libtorch 2.7.1's CPU kernels run) within the bf16 tolerance of
 * RadioModelBf16Test: cosine at least 0.999 of the summary and of every image's features,
 * against float32 on the same plan and against the reference, and not equal to float32.
 *
 * <p>A GPU build that passes oneDNN to the module (the bug where the constructor passed its
 * parameter rather than the device's answer) reorders weights with a CPU-only op and fails on
 * CUDA; on the CPU it would run, so the module's own report of its linears is checked too.
 */
class GpuPlanOnCpuTest {
    static final double ATOL = 1e-4;
    /** RadioModelBf16Test's bf16 tolerance. */
    static final double MIN_COSINE = 0.999;

    static final List<String> CASES = List.of("case0_2x3x224x224", "case1_1x3x256x192", "case4_3x3x48x48");
    static final EnumSet<RadioModel.Output> BOTH = EnumSet.of(RadioModel.Output.SUMMARY, RadioModel.Output.FEATURES);

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({
        "tiny-vit, FLOAT32",
        "tiny-vit, BFLOAT16",
        "tiny-vit, FLOAT16",
        "tiny-swiglu, FLOAT32",
        "tiny-swiglu, BFLOAT16",
        "tiny-swiglu, FLOAT16"
    })
    void gpuPlanRunsOnTheCpuWithinTheDtypesTolerance(String model, ModelDType dtype) throws Exception {
        DevicePlan plan = DevicePlan.of(Device.gpu(0), dtype);
        assertEquals(new DevicePlan(true, dtype, DevicePlan.Linear.ATEN, dtype == ModelDType.FLOAT32, false), plan);
        int threads = 1;
        int lanes = plan.lanes(0, Runtime.getRuntime().availableProcessors(), threads);
        assertEquals(DevicePlan.GPU_LANES, lanes);
        String lane = "gpu-plan-on-cpu-" + model + "-" + dtype;
        RadioWeights w = Checkpoint.open(Golden.checkpoint(model)).weights();
        List<String> cases = model.equals("tiny-vit") ? CASES : CASES.subList(0, 1);
        // float32 on the same GPU plan (aten linears): only the compute type differs from gpuPlan
        try (RadioModel f32 = RadioModel.builder()
                        .optPlan(DevicePlan.of(Device.gpu(0), ModelDType.FLOAT32))
                        .build(w);
                RadioModel gpuPlan = ForwardThreads.submit(
                                lane,
                                lanes,
                                threads,
                                () -> RadioModel.builder()
                                        .optDevice(Device.cpu())
                                        .optPlan(plan)
                                        .build(w))
                        .get()) {
            assertEquals(DevicePlan.Linear.ATEN, gpuPlan.linear(), "the module's linears");
            assertEquals(dtype, gpuPlan.dtype());
            assertEquals(plan, gpuPlan.plan());
            for (String c : cases) {
                SafetensorsFile golden = Golden.file(model + "/" + c + ".safetensors");
                TensorInfo px = golden.info("pixel_values");
                int b = (int) px.shape()[0];
                int h = (int) px.shape()[2];
                int wd = (int) px.shape()[3];
                float[] pixels = golden.floats("pixel_values");
                RadioOutput ref = f32.forward(pixels, b, h, wd, BOTH);
                RadioOutput got = ForwardThreads.submit(
                                lane, lanes, threads, () -> gpuPlan.forward(pixels, b, h, wd, BOTH))
                        .get();
                String what = model + " " + c + " GPU plan " + dtype + " on the CPU";
                if (dtype == ModelDType.FLOAT32) {
                    Golden.assertClose(golden.floats("summary"), got.summary(), ATOL, what + " summary");
                    Golden.assertClose(golden.floats("features"), got.features(), ATOL, what + " features");
                } else {
                    double s = Golden.cosine(ref.summary(), got.summary());
                    double sRef = Golden.cosine(golden.floats("summary"), got.summary());
                    double f = ai.radiospark.Cosine.lowestPerImage(ref.features(), got.features(), b);
                    double fRef = ai.radiospark.Cosine.lowestPerImage(golden.floats("features"), got.features(), b);
                    System.out.printf(
                            "%s: summary cosine vs float32 %.7f, vs reference %.7f; min image features cosine vs "
                                    + "float32 %.7f, vs reference %.7f%n",
                            what, s, sRef, f, fRef);
                    assertTrue(s >= MIN_COSINE, what + ": summary cosine " + s);
                    assertTrue(sRef >= MIN_COSINE, what + ": summary cosine vs reference " + sRef);
                    assertTrue(f >= MIN_COSINE, what + ": features cosine " + f);
                    assertTrue(fRef >= MIN_COSINE, what + ": features cosine vs reference " + fRef);
                    assertFalse(
                            Arrays.equals(ref.summary(), got.summary()),
                            what + ": identical to float32, not computed in " + dtype);
                }
            }
        }
        assertEquals(DevicePlan.GPU_LANES, ForwardThreads.lanes(lane));
    }

    /**
     * float16 computes in half, not in float32 or bfloat16: its outputs differ from float32's on the
     * same plan, and by less than bfloat16's do (half keeps 11 significant bits, bfloat16 8).
     */
    @Test
    void float16ComputesInHalf() {
        SafetensorsFile golden = Golden.file("tiny-vit/case0_2x3x224x224.safetensors");
        float[] pixels = golden.floats("pixel_values");
        RadioWeights w = Checkpoint.open(Golden.checkpoint("tiny-vit")).weights();
        try (RadioModel f32 = RadioModel.builder()
                        .optPlan(DevicePlan.of(Device.gpu(0), ModelDType.FLOAT32))
                        .build(w);
                RadioModel half = RadioModel.builder()
                        .optPlan(DevicePlan.of(Device.gpu(0), ModelDType.FLOAT16))
                        .build(w);
                RadioModel bf16 = RadioModel.builder()
                        .optPlan(DevicePlan.of(Device.gpu(0), ModelDType.BFLOAT16))
                        .build(w)) {
            float[] ref = f32.forward(pixels, 2, 224, 224, BOTH).features();
            double halfErr =
                    maxAbsDiff(ref, half.forward(pixels, 2, 224, 224, BOTH).features());
            double bf16Err =
                    maxAbsDiff(ref, bf16.forward(pixels, 2, 224, 224, BOTH).features());
            System.out.printf("features max abs difference to float32: half %.3g, bfloat16 %.3g%n", halfErr, bf16Err);
            assertTrue(halfErr > 0 && halfErr < bf16Err / 2, "half " + halfErr + ", bfloat16 " + bf16Err);
        }
    }

    static double maxAbsDiff(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs((double) a[i] - b[i]));
        }
        return max;
    }
}
