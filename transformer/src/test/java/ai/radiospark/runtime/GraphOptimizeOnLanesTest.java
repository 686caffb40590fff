package ai.radiospark.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.radiospark.model.Checkpoint;
import ai.radiospark.model.DevicePlan;
import ai.radiospark.model.Golden;
import ai.radiospark.model.ModelDType;
import ai.radiospark.model.RadioModel;
import ai.radiospark.model.RadioWeights;
import ai.radiospark.model.TorchEngine;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * The graph executor's optimisation (profiling executor and fuser), which libtorch keeps per thread,
 * is set from the model's {@link DevicePlan} on every forward lane that runs a pass, whichever thread
 * built the model and whatever plan the lane ran before: off for the GPU plan, on for the CPU's.
 */
class GraphOptimizeOnLanesTest {
    static final EnumSet<RadioModel.Output> SUMMARY = EnumSet.of(RadioModel.Output.SUMMARY);

    @Test
    void everyLaneRunsWithItsModelsPlanSetting() throws Exception {
        RadioWeights w = Checkpoint.open(Golden.checkpoint("tiny-vit")).weights();
        float[] pixels = new float[3 * 32 * 32];
        String lanesOf = "graph-optimize-lanes";
        try (RadioModel gpuPlan = RadioModel.builder()
                        .optPlan(DevicePlan.of(Device.gpu(0), ModelDType.FLOAT32))
                        .build(w);
                RadioModel cpuPlan =
                        RadioModel.builder().optDevice(Device.cpu()).build(w)) {
            assertEquals(false, gpuPlan.plan().graphOptimize());
            assertEquals(true, cpuPlan.plan().graphOptimize());
            Set<String> lanes = new HashSet<>();
            for (RadioModel m : List.of(gpuPlan, cpuPlan, gpuPlan)) {
                // The pool makes a thread per submission up to its two lanes: both lanes run the first
                // round; in the later ones, a lane runs after a lane of the other plan's model.
                List<Future<String>> runs = new ArrayList<>();
                for (int i = 0; i < 2 * DevicePlan.GPU_LANES; i++) {
                    runs.add(ForwardThreads.submit(lanesOf, DevicePlan.GPU_LANES, 1, () -> {
                        m.forward(pixels, 1, 32, 32, SUMMARY);
                        return Thread.currentThread().getName() + "=" + TorchEngine.graphOptimize();
                    }));
                }
                for (Future<String> f : runs) {
                    String r = f.get();
                    assertEquals(Boolean.toString(m.plan().graphOptimize()), r.substring(r.indexOf('=') + 1), r);
                    lanes.add(r.substring(0, r.indexOf('=')));
                }
            }
            assertEquals(DevicePlan.GPU_LANES, lanes.size(), lanes.toString());
        }
    }
}
