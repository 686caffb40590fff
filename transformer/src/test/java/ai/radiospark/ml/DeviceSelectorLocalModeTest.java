package ai.radiospark.ml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.Device;
import ai.radiospark.RadioException;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntSupplier;
import org.apache.spark.resource.ResourceInformation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Local mode on a GPU workstation, without a GPU: the devices the prebuild builds on, over (device
 * setting, GPUs PyTorch sees, Spark GPU amount set, local mode), and the devices local tasks then
 * select: every GPU, and never a CPU model for tasks that use a GPU.
 */
class DeviceSelectorLocalModeTest {
    static final Map<String, ResourceInformation> NONE = Map.of();

    static IntSupplier sees(int n) {
        return () -> n;
    }

    static final IntSupplier NEVER = () -> {
        throw new AssertionError("the GPU count must not be asked for");
    };

    @ParameterizedTest(name = "device={0} gpus={1} sparkGpuAmount={2} local={3}")
    @CsvSource({
        // device, GPUs PyTorch sees, spark.task.resource.gpu.amount set, local mode, devices prebuilt
        "auto, 0, false, true, cpu()",
        "auto, 1, false, true, gpu(0)",
        "auto, 2, false, true, gpu(0) gpu(1)",
        "gpu, 4, false, true, gpu(0) gpu(1) gpu(2) gpu(3)",
        "gpu, 0, false, true, ''",
        "cpu, 2, false, true, cpu()",
        "auto, 2, true, true, ''",
        "gpu, 2, true, true, ''",
        "cpu, 2, true, true, cpu()",
        "auto, 2, false, false, ''",
        "cpu, 0, false, false, ''",
        "auto, 0, true, false, ''"
    })
    void prebuildDevices(String device, int gpus, boolean sparkGpuAmount, boolean local, String expected) {
        List<Device> got = DeviceSelector.prebuildDevices(device, local, sparkGpuAmount, sees(gpus));
        assertEquals(
                expected, String.join(" ", got.stream().map(Device::toString).toList()));
    }

    @Test
    void theCpuSettingAndClustersDoNotCountGpus() {
        assertEquals(List.of(Device.cpu()), DeviceSelector.prebuildDevices("cpu", true, false, NEVER));
        assertEquals(List.of(), DeviceSelector.prebuildDevices("auto", false, false, NEVER));
        assertEquals(List.of(), DeviceSelector.prebuildDevices("auto", true, true, NEVER));
        RadioException e =
                assertThrows(RadioException.class, () -> DeviceSelector.prebuildDevices("tpu", true, false, NEVER));
        assertEquals("Unknown device \"tpu\". Use auto, cpu or gpu.", e.getMessage());
    }

    @Test
    void localTasksSpreadOverEveryGpuByPartition() {
        assertEquals(Device.gpu(0), DeviceSelector.select("auto", NONE, sees(3), 0));
        assertEquals(Device.gpu(1), DeviceSelector.select("auto", NONE, sees(3), 1));
        assertEquals(Device.gpu(2), DeviceSelector.select("gpu", NONE, sees(3), 5));
        // a GPU Spark assigned wins over the spread; clusters without GPU scheduling stay on gpu(0)
        assertEquals(
                Device.gpu(1),
                DeviceSelector.select(
                        "auto", Map.of("gpu", new ResourceInformation("gpu", new String[] {"1"})), sees(3), 0));
        assertEquals(Device.gpu(0), DeviceSelector.select("auto", NONE, sees(3), -1));
        assertEquals(Device.gpu(0), DeviceSelector.select("auto", NONE, sees(3)));
        assertEquals(Device.cpu(), DeviceSelector.select("auto", NONE, sees(0), 4));
    }

    /** What the prebuild builds is what local tasks then select: no model built for nothing, none missing. */
    @ParameterizedTest(name = "device={0} gpus={1}")
    @CsvSource({"auto, 0", "auto, 1", "auto, 3", "gpu, 2", "cpu, 2"})
    void thePrebuildBuildsExactlyTheDevicesLocalTasksUse(String device, int gpus) {
        Set<Device> used = new LinkedHashSet<>();
        for (int partition = 0; partition < 16; partition++) {
            used.add(DeviceSelector.select(device, NONE, sees(gpus), partition));
        }
        assertEquals(List.copyOf(used), DeviceSelector.prebuildDevices(device, true, false, sees(gpus)));
    }

    @ParameterizedTest(name = "device={0} gpus={1} sparkGpuAmount={2} local={3}")
    @CsvSource({
        // device, GPUs PyTorch sees (-1: must not be asked), Spark GPU amount, local mode, tasks on GPUs
        "cpu, -1, false, true, false",
        "cpu, -1, true, false, false",
        "gpu, -1, false, false, true",
        "gpu, -1, false, true, true",
        "auto, -1, true, false, true",
        "auto, -1, true, true, true",
        "auto, 2, false, true, true",
        "auto, 0, false, true, false",
        "auto, -1, false, false, false"
    })
    void tasksOnGpu(String device, int gpus, boolean sparkGpuAmount, boolean local, boolean expected) {
        assertEquals(expected, DeviceSelector.tasksOnGpu(device, local, sparkGpuAmount, gpus < 0 ? NEVER : sees(gpus)));
        assertThrows(RadioException.class, () -> DeviceSelector.tasksOnGpu("tpu", true, false, NEVER));
    }

    @Test
    void aSparkGpuAmountAbove0ForExecutorsOrTasksSchedulesGpus() {
        assertEquals(false, DeviceSelector.sparkGpuAmount(Map.<String, String>of()::get));
        assertEquals(true, DeviceSelector.sparkGpuAmount(Map.of("spark.task.resource.gpu.amount", "0.25")::get));
        assertEquals(true, DeviceSelector.sparkGpuAmount(Map.of("spark.executor.resource.gpu.amount", "1")::get));
        // the GPU conf's driver amount 0 and an executor amount 0 schedule none
        assertEquals(
                false,
                DeviceSelector.sparkGpuAmount(Map.of(
                        "spark.driver.resource.gpu.amount", "0", "spark.executor.resource.gpu.amount", "0")::get));
    }
}
