package ai.radiospark.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import ai.radiospark.model.TorchScriptArchive;
import java.io.ByteArrayInputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Not a test: which float32 linear kernel in libtorch 2.7.1 is fastest here, measured interleaved
 * in rounds (so machine load hits every variant alike). x (M, K) @ W(N, K)^T + b, ViT-B MLP fc1 at
 * batch 8 (1568 x 768 -> 3072) and fc2 (1568 x 3072 -> 768). args: [rounds=5] [reps=3]
 */
public final class LinearImplProbe {
  static final String SRC = """
      class Ops(Module):
        __parameters__ = []
        __buffers__ = []
        training : bool
        w : List[Tensor]
        def set_weights(self, w: Tensor, b: Tensor, m: int) -> int:
          out = annotate(List[Tensor], [])
          out.append(w.contiguous().clone())
          out.append(b.contiguous().clone())
          out.append(ops.mkldnn._reorder_linear_weight(w.contiguous().clone(), m))
          out.append(ops.mkl._mkl_reorder_linear_weight(w.contiguous().clone(), m))
          out.append(w.to(15).contiguous())
          out.append(b.to(15).contiguous())
          out.append(ops.mkldnn._reorder_linear_weight(w.to(15).contiguous(), m))
          self.w = out
          return len(out)
        def aten(self, x: Tensor) -> Tensor:
          return torch.linear(x, self.w[0], self.w[1])
        def lpw(self, x: Tensor) -> Tensor:
          return ops.mkldnn._linear_pointwise(x, self.w[0], self.w[1], "none", annotate(List[Optional[number]], []), "")
        def lpw_packed(self, x: Tensor) -> Tensor:
          return ops.mkldnn._linear_pointwise(x, self.w[2], self.w[1], "none", annotate(List[Optional[number]], []), "")
        def mkl_packed(self, x: Tensor) -> Tensor:
          return ops.mkl._mkl_linear(x, self.w[3], self.w[0], self.w[1], x.size(0))
        def bf16(self, x: Tensor) -> Tensor:
          return torch.linear(x.to(15), self.w[4], self.w[5]).to(6)
        def bf16_packed(self, x: Tensor) -> Tensor:
          return ops.mkldnn._linear_pointwise(x.to(15), self.w[6], self.w[5], "none", annotate(List[Optional[number]], []), "").to(6)
      """;

  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    int reps = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    long[][] shapes = {{1568, 768, 3072}, {1568, 3072, 768}};
    try (PtNDManager mgr = (PtNDManager) NDManager.newBaseManager("PyTorch")) {
      System.out.printf("threads %d; MKL_ENABLE_INSTRUCTIONS=%s ONEDNN_MAX_CPU_ISA=%s%n", JniUtils.getNumThreads(),
          System.getenv("MKL_ENABLE_INSTRUCTIONS"), System.getenv("ONEDNN_MAX_CPU_ISA"));
      for (long[] sh : shapes) {
        long m = sh[0];
        long k = sh[1];
        long n = sh[2];
        double flop = 2.0 * m * k * n;
        PtNDArray x = (PtNDArray) mgr.randomNormal(new Shape(m, k));
        PtNDArray w = (PtNDArray) mgr.randomNormal(0, (float) (1 / Math.sqrt(k)), new Shape(n, k), DataType.FLOAT32);
        PtNDArray b = (PtNDArray) mgr.randomNormal(new Shape(n));
        byte[] archive = new TorchScriptArchive("Ops", SRC).attribute("w", TorchScriptArchive.Init.EMPTY_LIST).toBytes();
        PtSymbolBlock ops = JniUtils.loadModule(mgr, new ByteArrayInputStream(archive), true, false);
        IValueUtils.runMethod(ops, "set_weights", IValue.from(w), IValue.from(b), IValue.from(m)).close();
        NDArray ref = x.matMul(w.transpose()).add(b);
        Map<String, Supplier<NDArray>> variants = new LinkedHashMap<>();
        variants.put("djl_matmul", () -> x.matMul(w.transpose()));
        for (String name : List.of("aten", "lpw", "lpw_packed", "mkl_packed", "bf16", "bf16_packed")) {
          variants.put(name, () -> IValueUtils.runMethod(ops, name, IValue.from(x)).toTensor(mgr));
        }
        Map<String, List<Double>> ms = new LinkedHashMap<>();
        for (String v : variants.keySet()) {
          NDArray out = variants.get(v).get();
          double err = v.equals("djl_matmul") ? 0 : out.sub(ref).abs().max().getFloat();
          out.close();
          System.out.printf("  %dx%dx%d %-12s max|err| %.3g%n", m, k, n, v, err);
          ms.put(v, new ArrayList<>());
        }
        for (int r = 0; r < rounds; r++) {
          for (Map.Entry<String, Supplier<NDArray>> e : variants.entrySet()) {
            for (int i = 0; i < reps; i++) {
              long t = System.nanoTime();
              NDArray out = e.getValue().get();
              ms.get(e.getKey()).add((System.nanoTime() - t) / 1e6);
              out.close();
            }
          }
        }
        double base = RadioBenchmark.median(ms.get("aten"));
        for (Map.Entry<String, List<Double>> e : ms.entrySet()) {
          double med = RadioBenchmark.median(e.getValue());
          double best = e.getValue().stream().mapToDouble(Double::doubleValue).min().orElseThrow();
          System.out.printf("%dx%dx%d %-12s median %6.1f ms %6.1f GFLOP/s  best %6.1f GFLOP/s  speed vs aten %.2fx%n",
              m, k, n, e.getKey(), med, flop / med / 1e6, flop / best / 1e6, base / med);
        }
        ops.close();
      }
    }
  }
}
