package ai.radiospark.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.radiospark.model.TorchEngine;
import ai.radiospark.model.TorchScriptArchive;
import java.util.ArrayList;
import java.util.List;

/**
 * GEMM rates of the engine: float32 through DJL's NDArray matMul (libtorch's MKL sgemm),
 * float32 and bfloat16 through oneDNN (what RadioModel's linears use), over a ViT-shaped and a
 * square product. Measured once per round, next to the forwards, so that the peak and the
 * forward see the same machine load; per round the float32 peak is the best float32 kernel.
 */
final class GemmPeak implements AutoCloseable {
    private static final String GEMM_SOURCE = """
      class Gemm(Module):
        __parameters__ = []
        __buffers__ = []
        training : bool
        w : List[Tensor]
        def set_weights(self, w: Tensor) -> int:
          out = annotate(List[Tensor], [])
          out.append(ops.mkldnn._reorder_linear_weight(w.contiguous().clone(), None))
          out.append(ops.mkldnn._reorder_linear_weight(w.to(15).contiguous(), None))
          self.w = out
          return len(out)
        def onednn_f32(self, x: Tensor) -> Tensor:
          return ops.mkldnn._linear_pointwise(x, self.w[0], None, "none", annotate(List[Optional[number]], []), "none")
        def to_bf16(self, x: Tensor) -> Tensor:
          return x.to(15)
        def onednn_bf16(self, x: Tensor) -> Tensor:
          return ops.mkldnn._linear_pointwise(x, self.w[1], None, "none", annotate(List[Optional[number]], []), "none")
      """;

    private final int repeats;
    final NDManager m = NDManager.newBaseManager(TorchEngine.NAME);
    /** A ViT-B-shaped MLP product of {@code batch} images at 224² (196 tokens each), and a square one. */
    final long[][] shapes;

    final List<NDArray[]> operands = new ArrayList<>();
    final List<TorchEngine.Module> modules = new ArrayList<>();
    /** Per shape the left operand in float32 and in bfloat16. */
    final List<NDArray[]> inputs = new ArrayList<>();

    final java.util.Map<String, Double> best = new java.util.TreeMap<>();
    final List<Double> peak32 = new ArrayList<>();
    final List<Double> peak16s = new ArrayList<>();

    GemmPeak(int batch, int repeats) {
        this.repeats = repeats;
        this.shapes = new long[][] {{(long) batch * 196, 768, 3072}, {2048, 2048, 2048}};
        try {
            for (long[] sh : shapes) {
                NDArray a = m.randomNormal(new Shape(sh[0], sh[1]));
                NDArray b = m.randomNormal(new Shape(sh[1], sh[2]));
                operands.add(new NDArray[] {a, b});
                TorchEngine.Module gemm = TorchEngine.load(
                        m,
                        new TorchScriptArchive("Gemm", GEMM_SOURCE).attribute("w", TorchScriptArchive.Init.EMPTY_LIST));
                modules.add(gemm);
                try (NDArray bt = b.transpose().duplicate()) {
                    gemm.call("set_weights", bt);
                }
                inputs.add(new NDArray[] {a, gemm.callTensor(m, "to_bf16", a)});
            }
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /** One round: every kernel on every shape, best of {@code matmulRepeats}. */
    void round() {
        double r32 = 0;
        double r16 = 0;
        for (int i = 0; i < shapes.length; i++) {
            long[] sh = shapes[i];
            double flop = 2.0 * sh[0] * sh[1] * sh[2];
            String key = sh[0] + "x" + sh[1] + "x" + sh[2];
            NDArray a = operands.get(i)[0];
            NDArray b = operands.get(i)[1];
            TorchEngine.Module gemm = modules.get(i);
            NDArray[] x = inputs.get(i);
            double djl = flop / bestMs(() -> a.matMul(b)) / 1e6;
            double dnn = flop / bestMs(() -> gemm.callTensor(m, "onednn_f32", x[0])) / 1e6;
            double dnn16 = flop / bestMs(() -> gemm.callTensor(m, "onednn_bf16", x[1])) / 1e6;
            best.merge(key + "_djl_matmul_f32_gflops", djl, Math::max);
            best.merge(key + "_onednn_f32_gflops", dnn, Math::max);
            best.merge(key + "_onednn_bf16_gflops", dnn16, Math::max);
            r32 = Math.max(r32, Math.max(djl, dnn));
            r16 = Math.max(r16, dnn16);
        }
        peak32.add(r32);
        peak16s.add(r16);
    }

    @Override
    public void close() {
        modules.forEach(TorchEngine.Module::close);
        m.close();
    }

    /** The best of {@code repeats} timed runs of {@code op}, after one untimed run, in milliseconds. */
    private double bestMs(java.util.function.Supplier<NDArray> op) {
        double bestMs = Double.MAX_VALUE;
        for (int i = -1; i < repeats; i++) {
            long t = System.nanoTime();
            NDArray c = op.get();
            double ms = (System.nanoTime() - t) / 1e6;
            c.close();
            if (i >= 0) {
                bestMs = Math.min(bestMs, ms);
            }
        }
        return bestMs;
    }
}
