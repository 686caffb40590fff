package ai.radiospark.model;

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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Supplier;

/**
 * Not a test: {@code main} measures a (1568x768) x (768x3072) matmul (the MLP fc1 of a ViT-B at
 * 224px, batch 8) in float32 (DJL), float16 (DJL) and bfloat16 (TorchScript module written by
 * {@link TorchScriptArchive}). Run each environment variant in its own JVM.
 *
 * <p>args: [iterations] [modes...] where modes are f32 f16 ts32 bf16 bf16io lin16io onednn32 lpw32
 * (default all). onednn32 = aten::mkldnn_linear on a to_mkldnn weight (oneDNN brgemm f32); lpw32 =
 * mkldnn::_linear_pointwise on plain tensors.
 */
public final class MatmulDtypeBench {
  static final String SRC = """
      class Ops(Module):
        __parameters__ = []
        __buffers__ = []
        training : bool
        w : List[Tensor]
        def set_weights(self, ws: List[Tensor]) -> int:
          out = annotate(List[Tensor], [])
          for t in ws:
            out.append(torch.contiguous(torch.to(t, 15)))
          self.w = out
          return len(out)
        def mm(self, a: Tensor, b: Tensor) -> Tensor:
          return torch.matmul(a, b)
        def to_bf16(self, x: Tensor) -> Tensor:
          return torch.to(x, 15)
        def to_f32(self, x: Tensor) -> Tensor:
          return torch.to(x, 6)
        def to_mkldnn(self, x: Tensor) -> Tensor:
          return torch.to_mkldnn(x)
        def mm_bf16_f32io(self, x: Tensor, i: int) -> Tensor:
          return torch.to(torch.matmul(torch.to(x, 15), self.w[i]), 6)
        def linear_bf16_f32io(self, x: Tensor, i: int) -> Tensor:
          return torch.to(torch.linear(torch.to(x, 15), self.w[i]), 6)
        def onednn_linear(self, x: Tensor, w: Tensor) -> Tensor:
          return torch.to_dense(torch.mkldnn_linear(torch.to_mkldnn(x), w))
        def linear_pointwise(self, x: Tensor, w: Tensor) -> Tensor:
          return ops.mkldnn._linear_pointwise(x, w, None, "none", annotate(List[Optional[number]], []), "")
      """;

  public static void main(String[] args) throws Exception {
    int iters = args.length > 0 ? Integer.parseInt(args[0]) : 10;
    String[] modes = args.length > 1 ? Arrays.copyOfRange(args, 1, args.length)
        : new String[] {"f32", "f16", "ts32", "bf16", "bf16io", "lin16io", "onednn32", "lpw32"};
    long m = 1568, k = 768, n = 3072;
    double flop = 2.0 * m * k * n;
    Path pt = Files.createTempFile("ops", ".pt");
    new TorchScriptArchive("Ops", SRC).attribute("w", TorchScriptArchive.Init.EMPTY_LIST).write(pt);
    try (PtNDManager mgr = (PtNDManager) NDManager.newBaseManager("PyTorch")) {
      System.out.printf("torch threads %d interop %d; env MKL_DEBUG_CPU_TYPE=%s MKL_ENABLE_INSTRUCTIONS=%s"
          + " ONEDNN_MAX_CPU_ISA=%s%n", JniUtils.getNumThreads(), JniUtils.getNumInteropThreads(),
          System.getenv("MKL_DEBUG_CPU_TYPE"), System.getenv("MKL_ENABLE_INSTRUCTIONS"),
          System.getenv("ONEDNN_MAX_CPU_ISA"));
      mgr.getEngine().setRandomSeed(1);
      PtNDArray x = (PtNDArray) mgr.randomNormal(new Shape(m, k));
      PtNDArray w = (PtNDArray) mgr.randomNormal(0, 0.036f, new Shape(k, n), DataType.FLOAT32);
      PtNDArray wt = (PtNDArray) w.transpose().duplicate(); // (n, k) for linear
      NDArray ref = x.matMul(w);
      float refMax = ref.abs().max().getFloat();
      PtSymbolBlock ops = JniUtils.loadModule(mgr, pt, true, new String[0], new String[0], false);
      IValueUtils.runMethod(ops, "set_weights", IValue.listFrom(w, wt)).close();
      PtNDArray xb = IValueUtils.runMethod(ops, "to_bf16", IValue.from(x)).toTensor(mgr);
      PtNDArray wb = IValueUtils.runMethod(ops, "to_bf16", IValue.from(w)).toTensor(mgr);
      PtNDArray wtm = IValueUtils.runMethod(ops, "to_mkldnn", IValue.from(wt)).toTensor(mgr);
      NDArray x16 = x.toType(DataType.FLOAT16, false);
      NDArray w16 = w.toType(DataType.FLOAT16, false);
      for (String mode : modes) {
        Supplier<NDArray> op = switch (mode) {
          case "f32" -> () -> x.matMul(w);
          case "f16" -> () -> x16.matMul(w16);
          case "ts32" -> () -> IValueUtils.runMethod(ops, "mm", IValue.from(x), IValue.from(w)).toTensor(mgr);
          case "bf16" -> () -> IValueUtils.runMethod(ops, "mm", IValue.from(xb), IValue.from(wb)).toTensor(mgr);
          case "bf16io" -> () -> IValueUtils.runMethod(ops, "mm_bf16_f32io", IValue.from(x), IValue.from(0L))
              .toTensor(mgr);
          case "lin16io" -> () -> IValueUtils.runMethod(ops, "linear_bf16_f32io", IValue.from(x), IValue.from(1L))
              .toTensor(mgr);
          case "onednn32" -> () -> IValueUtils.runMethod(ops, "onednn_linear", IValue.from(x), IValue.from(wtm))
              .toTensor(mgr);
          case "lpw32" -> () -> IValueUtils.runMethod(ops, "linear_pointwise", IValue.from(x), IValue.from(wt))
              .toTensor(mgr);
          default -> throw new IllegalArgumentException(mode);
        };
        double[] ms = new double[iters];
        NDArray last = null;
        for (int i = -2; i < iters; i++) {
          if (last != null) {
            last.close();
          }
          long t0 = System.nanoTime();
          last = op.get();
          long t1 = System.nanoTime();
          if (i >= 0) {
            ms[i] = (t1 - t0) / 1e6;
          }
        }
        NDArray out = last;
        if (mode.equals("bf16")) {
          out = IValueUtils.runMethod(ops, "to_f32", IValue.from((PtNDArray) last)).toTensor(mgr);
        } else if (mode.equals("f16")) {
          out = last.toType(DataType.FLOAT32, false);
        }
        NDArray diff = out.sub(ref);
        float maxErr = diff.abs().max().getFloat();
        double relFro = Math.sqrt(diff.square().sum().getFloat() / ref.square().sum().getFloat());
        Arrays.sort(ms);
        System.out.printf("%-8s median %7.1f ms  best %7.1f ms  -> %6.1f GFLOP/s (best %6.1f)  max|err| %.3g"
            + " (max|ref| %.1f, rel fro %.2g)%n", mode, ms[iters / 2], ms[0], flop / ms[iters / 2] / 1e6,
            flop / ms[0] / 1e6, maxErr, refMax, relFro);
      }
      ops.close();
    } finally {
      Files.deleteIfExists(pt);
    }
  }
}
