package ai.radiospark.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.radiospark.model.RadioConfig;
import ai.radiospark.model.RandomCheckpoint;
import ai.radiospark.model.TorchEngine;
import ai.radiospark.model.TorchScriptArchive;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The bf16 block's parts one by one, as {@code RadioModel} runs them on the CPU (oneDNN linears,
 * fused SDPA, LayerNorm and residual with their float32 round trips), timed in CPU time of one
 * PyTorch thread: the work runs on the calling thread, so its CPU time does not count the time it
 * waited for a core on a loaded machine, and the figures hold under load, where wall-clock profiles
 * do not. The alternative attention (q·kᵀ, softmax and p·v as batched matmuls in bf16) is timed too.
 * For docs/performance.md's bf16 efficiency breakdown.
 *
 * <pre>{@code
 * java -cp ... ai.radiospark.bench.BlockPartsProbe [shape=base] [batch=8] [reps=20]
 * }</pre>
 */
public final class BlockPartsProbe {
    private static final String SOURCE = """
      class Parts(Module):
        __parameters__ = []
        __buffers__ = []
        training : bool
        w : List[Tensor]
        def set_w(self, a: Tensor, b: Tensor, c: Tensor, d: Tensor) -> int:
          out = annotate(List[Tensor], [])
          out.append(ops.mkldnn._reorder_linear_weight(a.to(15).contiguous(), None))
          out.append(ops.mkldnn._reorder_linear_weight(b.to(15).contiguous(), None))
          out.append(ops.mkldnn._reorder_linear_weight(c.to(15).contiguous(), None))
          out.append(ops.mkldnn._reorder_linear_weight(d.to(15).contiguous(), None))
          self.w = out
          return 4
        def bf(self, x: Tensor) -> Tensor:
          return x.to(15)
        def lin(self, x: Tensor, i: int, gelu: bool) -> Tensor:
          if gelu:
            return ops.mkldnn._linear_pointwise(x, self.w[i], None, "gelu", annotate(List[Optional[number]], []), "none")
          return ops.mkldnn._linear_pointwise(x, self.w[i], None, "none", annotate(List[Optional[number]], []), "none")
        def sdpa(self, qkv: Tensor, heads: int) -> Tensor:
          B = qkv.size(0)
          T = qkv.size(1)
          D = qkv.size(2) // 3
          t = qkv.view([B, T, 3, heads, D // heads]).permute([2, 0, 3, 1, 4])
          a = torch.scaled_dot_product_attention(t[0], t[1], t[2])
          return a.transpose(1, 2).reshape([B, T, D])
        def sdpa32(self, qkv: Tensor, heads: int) -> Tensor:
          B = qkv.size(0)
          T = qkv.size(1)
          D = qkv.size(2) // 3
          t = qkv.to(6).view([B, T, 3, heads, D // heads]).permute([2, 0, 3, 1, 4])
          a = torch.scaled_dot_product_attention(t[0], t[1], t[2])
          return a.transpose(1, 2).reshape([B, T, D]).to(15)
        def bmm(self, qkv: Tensor, heads: int) -> Tensor:
          B = qkv.size(0)
          T = qkv.size(1)
          D = qkv.size(2) // 3
          t = qkv.view([B, T, 3, heads, D // heads]).permute([2, 0, 3, 1, 4])
          s = torch.matmul(t[0] * (float(D // heads) ** -0.5), t[1].transpose(-2, -1))
          a = torch.matmul(torch.softmax(s, -1), t[2])
          return a.transpose(1, 2).reshape([B, T, D])
        def norm(self, x: Tensor, w: Tensor, b: Tensor) -> Tensor:
          return torch.layer_norm(x, [x.size(2)], w, b, 1e-6).to(15)
        def residual(self, x: Tensor, a: Tensor, ls: Tensor) -> Tensor:
          return torch.addcmul(x, a.to(6), ls)
      """;

    private BlockPartsProbe() {}

    public static void main(String[] args) {
        RadioConfig c = RandomCheckpoint.shape(args.length > 0 ? args[0] : "base");
        int batch = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        int reps = args.length > 2 ? Integer.parseInt(args[2]) : 20;
        int d = c.hiddenSize();
        int mlp = c.mlpHiddenSize();
        int heads = c.numAttentionHeads();
        int t = c.prefixTokens() + (224 / c.patchSize()) * (224 / c.patchSize());
        TorchEngine.ensureLoaded();
        TorchEngine.setIntraOpThreads(1);
        ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
        try (NDManager m = NDManager.newBaseManager(TorchEngine.NAME);
                TorchEngine.Module mod = TorchEngine.load(
                        m,
                        new TorchScriptArchive("Parts", SOURCE).attribute("w", TorchScriptArchive.Init.EMPTY_LIST))) {
            mod.call(
                    "set_w",
                    m.randomNormal(new Shape(3L * d, d)),
                    m.randomNormal(new Shape(d, d)),
                    m.randomNormal(new Shape(mlp, d)),
                    m.randomNormal(new Shape(d, mlp)));
            NDArray x = m.randomNormal(new Shape(batch, t, d));
            NDArray xb = mod.callTensor(m, "bf", x);
            NDArray hb = mod.callTensor(m, "bf", m.randomNormal(new Shape(batch, t, mlp)));
            NDArray qkv = mod.callTensor(m, "lin", xb, 0L, false);
            NDArray w = m.ones(new Shape(d));
            NDArray b = m.zeros(new Shape(d));
            double n = (double) batch * t;
            double attention = 4.0 * batch * t * t * d;
            // name, per block, FLOPs
            Map<String, Object[]> parts = new LinkedHashMap<>();
            parts.put("linear qkv", part(() -> mod.callTensor(m, "lin", xb, 0L, false), 1, 2 * n * d * 3 * d));
            parts.put("linear proj", part(() -> mod.callTensor(m, "lin", xb, 1L, false), 1, 2 * n * d * d));
            parts.put("linear mlp in + gelu", part(() -> mod.callTensor(m, "lin", xb, 2L, true), 1, 2 * n * d * mlp));
            parts.put("linear mlp out", part(() -> mod.callTensor(m, "lin", hb, 3L, false), 1, 2 * n * d * mlp));
            parts.put("attention (fused sdpa)", part(() -> mod.callTensor(m, "sdpa", qkv, (long) heads), 1, attention));
            parts.put("layer_norm + to bf16", part(() -> mod.callTensor(m, "norm", x, w, b), 2, 0));
            parts.put("to float32 + addcmul", part(() -> mod.callTensor(m, "residual", x, xb, w), 2, 0));
            parts.put(
                    "[alternative] attention as bmm",
                    part(() -> mod.callTensor(m, "bmm", qkv, (long) heads), 0, attention));
            parts.put(
                    "[alternative] attention in float32",
                    part(() -> mod.callTensor(m, "sdpa32", qkv, (long) heads), 0, attention));
            System.out.printf(
                    "%s block parts (d=%d, %d heads, mlp %d), batch %d, %d tokens: CPU ms of one PyTorch thread, best of %d%n",
                    args.length > 0 ? args[0] : "base", d, heads, mlp, batch, t, reps);
            double block = 0;
            Map<String, Double> ms = new LinkedHashMap<>();
            for (Map.Entry<String, Object[]> e : parts.entrySet()) {
                @SuppressWarnings("unchecked")
                Supplier<NDArray> op = (Supplier<NDArray>) e.getValue()[0];
                op.get().close();
                double best = Double.MAX_VALUE;
                for (int i = 0; i < reps; i++) {
                    long c0 = cpu.getCurrentThreadCpuTime();
                    op.get().close();
                    best = Math.min(best, (cpu.getCurrentThreadCpuTime() - c0) / 1e6);
                }
                ms.put(e.getKey(), best);
                block += best * (Integer) e.getValue()[1];
            }
            for (Map.Entry<String, Object[]> e : parts.entrySet()) {
                int times = (Integer) e.getValue()[1];
                double flops = (Double) e.getValue()[2];
                double v = ms.get(e.getKey());
                System.out.printf(
                        "  %-32s %8.2f ms x%d %6s%s%n",
                        e.getKey(),
                        v,
                        times,
                        times == 0 ? "" : String.format("%4.1f%%", 100 * v * times / block),
                        flops > 0 ? String.format("  %.0f GFLOP/s", flops / v / 1e6) : "");
            }
            System.out.printf("  block %.2f ms%n", block);
        }
    }

    private static Object[] part(Supplier<NDArray> op, int perBlock, double flops) {
        return new Object[] {op, perBlock, flops};
    }
}
