package ai.radiospark.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.Device;
import ai.radiospark.RadioException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The device decisions for (cpu | gpu) x (float32 | bfloat16 | float16), without a GPU. */
class DevicePlanTest {
    static final DevicePlan.Settings ONEDNN = new DevicePlan.Settings(DevicePlan.Linear.ONEDNN);
    static final DevicePlan.Settings ATEN = new DevicePlan.Settings(DevicePlan.Linear.ATEN);

    @ParameterizedTest(name = "gpu={0} {1}")
    @CsvSource({
        // gpu, dtype, compute, scalar type, linear (cpu setting onednn), tf32, graph optimisation
        "false, FLOAT32, FLOAT32, 6, ONEDNN, false, true",
        "false, BFLOAT16, BFLOAT16, 15, ONEDNN, false, true",
        "true, FLOAT32, FLOAT32, 6, ATEN, true, false",
        "true, BFLOAT16, BFLOAT16, 15, ATEN, false, false",
        "true, FLOAT16, FLOAT16, 5, ATEN, false, false"
    })
    void answers(
            boolean gpu,
            ModelDType dtype,
            ModelDType compute,
            int scalarType,
            DevicePlan.Linear linear,
            boolean tf32,
            boolean graphOptimize) {
        DevicePlan p = DevicePlan.of(gpu, dtype, ONEDNN);
        assertEquals(new DevicePlan(gpu, compute, linear, tf32, graphOptimize), p);
        assertEquals(scalarType, p.scalarType());
        // -Dradio.linear=aten changes the CPU's linears only; a GPU runs aten either way
        assertEquals(DevicePlan.Linear.ATEN, DevicePlan.of(gpu, dtype, ATEN).linear());
    }

    @Test
    void float16IsRefusedOnTheCpuWithTheOneLineMessage() {
        RadioException e =
                assertThrows(RadioException.class, () -> DevicePlan.of(Device.cpu(), ModelDType.FLOAT16, ONEDNN));
        assertEquals(
                "dtype=float16 on the CPU: PyTorch's CPU float16 matrix multiplies are about 200x slower than "
                        + "float32 (0.4-0.9 GFLOP/s measured). Use dtype=bfloat16 or float32 on CPU executors; float16 is for GPUs "
                        + "(device=gpu, or auto on GPU executors).",
                e.getMessage());
        // and a model is never built computing something else instead
        RadioWeights w = Checkpoint.open(Golden.checkpoint("tiny-vit")).weights();
        RadioException built = assertThrows(
                RadioException.class,
                () -> RadioModel.builder().optDType(ModelDType.FLOAT16).build(w));
        assertEquals(e.getMessage(), built.getMessage());
    }

    @Test
    void devicesMapToTheirPlans() {
        assertEquals(
                DevicePlan.of(false, ModelDType.BFLOAT16, ONEDNN),
                DevicePlan.of(Device.cpu(), ModelDType.BFLOAT16, ONEDNN));
        assertEquals(
                DevicePlan.of(true, ModelDType.FLOAT16, ONEDNN),
                DevicePlan.of(Device.gpu(1), ModelDType.FLOAT16, ONEDNN));
    }

    @Test
    void lanes() {
        DevicePlan cpu = DevicePlan.of(false, ModelDType.FLOAT32, ONEDNN);
        DevicePlan gpu = DevicePlan.of(true, ModelDType.FLOAT32, ONEDNN);
        // forwardConcurrency, executor cores, torch threads
        assertEquals(6, cpu.lanes(0, 12, 2));
        assertEquals(1, cpu.lanes(0, 2, 4));
        assertEquals(3, cpu.lanes(3, 12, 2));
        // two lanes per GPU unless forwardConcurrency says otherwise, whatever the cores
        assertEquals(2, gpu.lanes(0, 12, 3));
        assertEquals(2, gpu.lanes(0, 1, 1));
        assertEquals(1, gpu.lanes(1, 12, 3));
        assertEquals(4, gpu.lanes(4, 12, 3));
    }

    @Test
    void batchSize() {
        DevicePlan cpu = DevicePlan.of(false, ModelDType.FLOAT32, ONEDNN);
        DevicePlan gpu = DevicePlan.of(true, ModelDType.BFLOAT16, ONEDNN);
        assertEquals(16, cpu.batchSize(0));
        // bf16 at batch 64 is the H200 anchor; the CPU's default is unchanged
        assertEquals(64, gpu.batchSize(0));
        assertEquals(64, DevicePlan.of(true, ModelDType.FLOAT32, ONEDNN).batchSize(0));
        assertEquals(8, cpu.batchSize(8));
        assertEquals(16, gpu.batchSize(16));
    }

    @ParameterizedTest(name = "dtype={0} tasksOnGpu={1}")
    @CsvSource({
        // dtype setting, tasks on GPUs, resolved
        "auto, true, BFLOAT16",
        "auto, false, FLOAT32",
        "AUTO, true, BFLOAT16",
        "float32, true, FLOAT32",
        "float32, false, FLOAT32",
        "bfloat16, false, BFLOAT16",
        "bf16, true, BFLOAT16",
        "float16, true, FLOAT16"
    })
    void autoResolvesToBfloat16OnGpusAndFloat32ElseAnExplicitDtypeWins(
            String dtype, boolean tasksOnGpu, ModelDType resolved) {
        assertEquals(resolved, DevicePlan.resolveDtype(dtype, tasksOnGpu));
    }

    @Test
    void autoIsTheDefaultAndUnknownDtypesAreRefused() {
        assertEquals(ModelDType.BFLOAT16, DevicePlan.resolveDtype(null, true));
        assertEquals(ModelDType.FLOAT32, DevicePlan.resolveDtype(null, false));
        assertEquals(DevicePlan.GPU_DTYPE, DevicePlan.resolveDtype(DevicePlan.AUTO, true));
        RadioException e = assertThrows(RadioException.class, () -> DevicePlan.resolveDtype("float64", true));
        assertEquals("Unknown dtype \"float64\". Use float32, bfloat16 or float16.", e.getMessage());
    }
}
