package ai.radiospark.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;

/**
 * Whether libtorch's fused {@code scaled_dot_product_attention}, the attention kernel of every
 * {@link RadioModel} block, runs on a device in a compute type, and how far it lands from plain
 * attention ({@code softmax(q kᵀ / √d) v} computed in float32 from the same rounded inputs). For
 * {@code radio doctor}: the compute type comes from the device's {@link DevicePlan}, so float16
 * on the CPU is refused the way the model refuses it.
 *
 * <pre>{@code
 * AttentionCheck.Result r = AttentionCheck.run(DevicePlan.of(Device.gpu(0), ModelDType.BFLOAT16), Device.gpu(0));
 * }</pre>
 */
public final class AttentionCheck {
    /** Batch, heads, tokens and head size of the probe: one C-RADIO head size, 50 tokens. */
    static final long[] SHAPE = {2, 4, 50, 80};

    /** Max abs difference to plain attention allowed: float32, and half or bfloat16 outputs. */
    public static final double FLOAT32_TOLERANCE = 1e-4;

    public static final double LOW_PRECISION_TOLERANCE = 3e-2;

    private static final String CLASS = "AttentionProbe";
    private static final String SOURCE = """
      class AttentionProbe(Module):
        __parameters__ = []
        __buffers__ = []
        training : bool
        def run(self, x: Tensor, cdt: int, scale: float) -> List[Tensor]:
          q = x[0].to(cdt)
          k = x[1].to(cdt)
          v = x[2].to(cdt)
          a = torch.scaled_dot_product_attention(q, k, v)
          s = torch.mul(torch.matmul(q.to(6), torch.transpose(k.to(6), -2, -1)), scale)
          r = torch.matmul(torch.softmax(s, -1), v.to(6))
          return [a.to(6), r]
      """;

    private AttentionCheck() {}

    /**
     * The fused kernel's max abs difference to plain attention, and the tolerance it is held to.
     *
     * @param maxAbsError max |fused − plain| over the probe's outputs
     * @param tolerance {@link #FLOAT32_TOLERANCE} or {@link #LOW_PRECISION_TOLERANCE}
     */
    public record Result(double maxAbsError, double tolerance) {
        public boolean withinTolerance() {
            return maxAbsError <= tolerance;
        }
    }

    /**
     * Runs the probe on {@code device} in {@code plan}'s compute type.
     *
     * @throws RuntimeException whatever libtorch throws when the kernel cannot run there
     */
    public static Result run(DevicePlan plan, Device device) {
        long n = 3;
        for (long s : SHAPE) {
            n *= s;
        }
        float[] values = new float[Math.toIntExact(n)];
        SplittableRandom random = new SplittableRandom(11);
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (random.nextDouble() * 2 - 1);
        }
        ByteBuffer input = NativeBuffers.of(values);
        try (NDManager manager = TorchEngine.newManager(device);
                TorchEngine.Module module = TorchEngine.load(manager, new TorchScriptArchive(CLASS, SOURCE))) {
            TorchEngine.setGraphOptimize(plan.graphOptimize());
            NDArray x = manager.create(input, new Shape(3, SHAPE[0], SHAPE[1], SHAPE[2], SHAPE[3]), DataType.FLOAT32);
            NDArray[] out = module.callTensors(manager, "run", x, plan.scalarType(), 1.0 / Math.sqrt(SHAPE[3]));
            float[] fused = out[0].toFloatArray();
            float[] plain = out[1].toFloatArray();
            double max = 0;
            for (int i = 0; i < fused.length; i++) {
                double d = Math.abs((double) fused[i] - plain[i]);
                max = Double.isNaN(d) ? Double.POSITIVE_INFINITY : Math.max(max, d);
            }
            return new Result(max, plan.compute() == ModelDType.FLOAT32 ? FLOAT32_TOLERANCE : LOW_PRECISION_TOLERANCE);
        } finally {
            NativeBuffers.free(input);
        }
    }
}
