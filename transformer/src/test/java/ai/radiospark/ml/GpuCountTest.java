package ai.radiospark.ml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Memory;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * The GPU count's decision with fake engines and drivers, the driver probe with fake CUDA driver
 * libraries, and on this machine (no NVIDIA driver, the CPU-only libtorch) the one-line reasons.
 */
class GpuCountTest {
    static final String NOT_FOUND = "the NVIDIA driver library libcuda.so.1 was not found (no NVIDIA driver on "
            + "this machine, or not on the library path).";

    /** A driver probe that must not run. */
    static final Supplier<GpuCount.DriverAnswer> NEVER = () -> {
        throw new AssertionError("the driver must not be probed");
    };

    static Supplier<GpuCount.DriverAnswer> driver(int gpus, String failure) {
        return () -> new GpuCount.DriverAnswer(gpus, failure);
    }

    @Test
    void libtorchThatCannotBeLoadedIsNamedWithItsFlavor() {
        GpuCount.Answer a = GpuCount.decide(
                new GpuCount.Engine("ai.djl.engine.EngineException: Failed to download PyTorch", false, 0, "cu128"),
                NEVER);
        assertEquals(
                new GpuCount.Answer(
                        0,
                        "libtorch cu128 could not be loaded (ai.djl.engine.EngineException: Failed to download "
                                + "PyTorch). Without network, pre-fill ENGINE_CACHE_DIR with DJL's libtorch cache and set "
                                + "DJL_OFFLINE=true, or point PYTORCH_LIBRARY_PATH at an installed torch/lib (README, GPU "
                                + "clusters)."),
                a);
    }

    @Test
    void cpuOnlyLibtorchIsToldApartFromNoGpu() {
        assertEquals(
                new GpuCount.Answer(
                        0,
                        "no CUDA build of libtorch loaded: DJL's PyTorch engine reports CPU-only (PYTORCH_FLAVOR=cpu), "
                                + "though the NVIDIA driver sees 2 GPU(s). Build with mvn -Pcuda and set "
                                + "PYTORCH_FLAVOR=cu128 (README, GPU clusters)."),
                GpuCount.decide(new GpuCount.Engine(null, false, 0, "cpu"), driver(2, null)));
        assertEquals(
                new GpuCount.Answer(0, "DJL's PyTorch engine reports CPU-only, and " + NOT_FOUND),
                GpuCount.decide(new GpuCount.Engine(null, false, 0, null), driver(0, NOT_FOUND)));
    }

    @Test
    void cudaLibtorchCountsWithDjlElseWithTheDriver() {
        assertEquals(new GpuCount.Answer(4, null), GpuCount.decide(new GpuCount.Engine(null, true, 4, "cu128"), NEVER));
        assertEquals(
                new GpuCount.Answer(
                        8,
                        "DJL found no CUDA runtime library (libcudart) to count GPUs; the CUDA driver API counts 8."),
                GpuCount.decide(new GpuCount.Engine(null, true, 0, "cu128"), driver(8, null)));
        assertEquals(
                new GpuCount.Answer(
                        0, "the CUDA libtorch is loaded, but cuInit(0) failed with CUDA_ERROR_NO_DEVICE (100)."),
                GpuCount.decide(
                        new GpuCount.Engine(null, true, 0, "cu128"),
                        driver(0, "cuInit(0) failed with CUDA_ERROR_NO_DEVICE (100).")));
    }

    /** A CUDA driver that answers cuInit with {@code initRc} and counts {@code gpus}; names errors when {@code named}. */
    static GpuCount.CudaDriver fake(int initRc, int gpus, boolean named) {
        return new GpuCount.CudaDriver() {
            @Override
            public int cuInit(int flags) {
                assertEquals(0, flags);
                return initRc;
            }

            @Override
            public int cuDeviceGetCount(IntByReference count) {
                count.setValue(gpus);
                return 0;
            }

            @Override
            public int cuGetErrorName(int error, PointerByReference name) {
                if (!named) {
                    return 1;
                }
                String text = error == 100 ? "CUDA_ERROR_NO_DEVICE" : "CUDA_ERROR_DEVICE_UNAVAILABLE";
                Memory m = new Memory(text.length() + 1);
                m.setString(0, text);
                name.setValue(m);
                return 0;
            }
        };
    }

    @Test
    void driverProbeReportsTheCountOrTheNamedError() {
        assertEquals(new GpuCount.DriverAnswer(3, null), GpuCount.probeDriver(() -> fake(0, 3, true)));
        assertEquals(
                new GpuCount.DriverAnswer(0, "cuInit(0) failed with CUDA_ERROR_NO_DEVICE (100)."),
                GpuCount.probeDriver(() -> fake(100, 0, true)));
        assertEquals(
                new GpuCount.DriverAnswer(0, "cuInit(0) failed with CUDA error 46."),
                GpuCount.probeDriver(() -> fake(46, 0, false)));
        assertEquals(
                new GpuCount.DriverAnswer(0, "the NVIDIA driver sees no GPU (check CUDA_VISIBLE_DEVICES)."),
                GpuCount.probeDriver(() -> fake(0, 0, true)));
        assertEquals(new GpuCount.DriverAnswer(0, NOT_FOUND), GpuCount.probeDriver(() -> {
            throw new UnsatisfiedLinkError("Unable to load library 'libcuda.so.1'");
        }));
    }

    @Test
    void thisMachineHasNoDriverLibraryAndTheCpuOnlyLibtorch() {
        assertEquals(new GpuCount.DriverAnswer(0, NOT_FOUND), GpuCount.probeDriver());
        GpuCount.Answer a = DeviceSelector.gpuAnswer();
        assertEquals(0, a.gpus());
        assertTrue(a.reason().startsWith("DJL's PyTorch engine reports CPU-only"), a.reason());
        assertTrue(a.reason().endsWith(", and " + NOT_FOUND), a.reason());
        assertEquals(1, a.reason().lines().count(), a.reason());
    }
}
