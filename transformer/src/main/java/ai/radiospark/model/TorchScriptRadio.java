package ai.radiospark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * PROTOTYPE: the RADIO forward pass as a TorchScript module generated from Java ({@link
 * TorchScriptArchive}) and run through DJL 0.36, so it can compute in bfloat16 (which DJL's own
 * NDArray API cannot create, see RESEARCH-bf16.md) and use torch's fused
 * {@code scaled_dot_product_attention}.
 *
 * <p>Weights are handed to the module once ({@code set_weights}), which keeps the matrices in the
 * compute dtype; the residual stream, LayerNorm, patch embedding and layer scales stay float32
 * (autocast-style). Input and output tensors are float32, so Java never sees a bf16 tensor.
 *
 * <p>The module clones every weight it keeps: tensors made by DJL's {@code NDManager.create(float[])}
 * are {@code torch::from_blob} views of a Java direct buffer that is released with the NDArray, so
 * keeping the bare view inside the module is a use-after-free (observed: SIGSEGV in MKL sgemm).
 */
public final class TorchScriptRadio implements AutoCloseable {
  /** c10::ScalarType codes used by TorchScript. */
  public static final int FLOAT32 = 6;
  public static final int BFLOAT16 = 15;
  public static final int FLOAT16 = 5;

  static final int PER_BLOCK = 14;

  static final String SOURCE = """
      class Radio(Module):
        __parameters__ = []
        __buffers__ = []
        training : bool
        w : List[Tensor]
        def set_weights(self, ws: List[Tensor], cdt: int, first_block: int) -> int:
          out = annotate(List[Tensor], [])
          for i in range(len(ws)):
            t = ws[i]
            j = (i - first_block) % 14
            if i >= first_block and j in [2, 3, 4, 5, 8, 9, 10, 11]:
              t = t.to(cdt)
            # clone: DJL's create(float[]) tensors are views of Java direct buffers (from_blob)
            out.append(t.contiguous().clone())
          self.w = out
          return len(out)
        def block(self, x: Tensor, o: int, heads: int, eps: float, swiglu: bool, cdt: int) -> Tensor:
          w = self.w
          B = x.size(0)
          T = x.size(1)
          D = x.size(2)
          y = torch.layer_norm(x, [D], w[o], w[o + 1], eps).to(cdt)
          qkv = torch.linear(y, w[o + 2], w[o + 3]).reshape([B, T, 3, heads, D // heads]).permute([2, 0, 3, 1, 4])
          a = torch.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
          a = torch.linear(a.transpose(1, 2).reshape([B, T, D]), w[o + 4], w[o + 5])
          x = x + a.to(6) * w[o + 12]
          y = torch.layer_norm(x, [D], w[o + 6], w[o + 7], eps).to(cdt)
          y = torch.linear(y, w[o + 8], w[o + 9])
          if swiglu:
            hh = y.chunk(2, -1)
            y = torch.silu(hh[0]) * hh[1]
          else:
            y = torch.gelu(y)
          y = torch.linear(y, w[o + 10], w[o + 11])
          return x + y.to(6) * w[o + 13]
        def embed(self, px: Tensor, pos: Tensor, p: int) -> Tensor:
          w = self.w
          B = px.size(0)
          C = px.size(1)
          rows = px.size(2) // p
          cols = px.size(3) // p
          x = (px - w[2]) / w[3]
          x = x.reshape([B, C, rows, p, cols, p]).permute([0, 2, 4, 1, 3, 5]).reshape([B, rows * cols, C * p * p])
          x = torch.linear(x, w[0]) + pos
          cls = w[1].unsqueeze(0).expand([B, -1, -1])
          return torch.cat([cls, x], 1)
        def forward(self, px: Tensor, pos: Tensor, p: int, heads: int, eps: float, swiglu: bool, cdt: int, layers: int) -> Tensor:
          t = self.embed(px, pos, p)
          for i in range(layers):
            t = self.block(t, 4 + 14 * i, heads, eps, swiglu, cdt)
          return t
        def forward_all(self, px: Tensor, pos: Tensor, p: int, heads: int, eps: float, swiglu: bool, cdt: int, layers: int) -> List[Tensor]:
          t = self.embed(px, pos, p)
          out = [t]
          for i in range(layers):
            t = self.block(t, 4 + 14 * i, heads, eps, swiglu, cdt)
            out.append(t)
          return out
      """;

  private final RadioConfig config;
  private final PtNDManager manager;
  private final PtSymbolBlock module;
  private final PositionEmbedding positions;
  private final int computeType;

  /**
   * @param computeType {@link #FLOAT32} or {@link #BFLOAT16} (or {@link #FLOAT16})
   */
  public TorchScriptRadio(RadioWeights weights, int computeType) {
    this.config = weights.config();
    this.computeType = computeType;
    this.manager = (PtNDManager) NDManager.newBaseManager("PyTorch");
    RadioConfig c = config;
    int d = c.hiddenSize();
    this.positions = new PositionEmbedding(weights.tensor("pos_embed").floats(), c.positionGrid(), d);
    Path pt = null;
    try {
      pt = Files.createTempFile("radio-ts", ".pt");
      new TorchScriptArchive("Radio", SOURCE).attribute("w", TorchScriptArchive.Init.EMPTY_LIST).write(pt);
      this.module = JniUtils.loadModule(manager, pt, true, new String[0], new String[0], false);
    } catch (IOException e) {
      manager.close();
      throw new UncheckedIOException(e);
    } finally {
      if (pt != null) {
        try {
          Files.deleteIfExists(pt);
        } catch (IOException ignored) {
          // temp file
        }
      }
    }
    try (NDManager tmp = manager.newSubManager()) {
      List<PtNDArray> ws = new ArrayList<>();
      ws.add(param(tmp, weights, "patch"));
      ws.add(param(tmp, weights, "cls_token"));
      ws.add((PtNDArray) tmp.create(c.normMean(), new Shape(1, c.numChannels(), 1, 1)));
      ws.add((PtNDArray) tmp.create(c.normStd(), new Shape(1, c.numChannels(), 1, 1)));
      for (int i = 0; i < c.numHiddenLayers(); i++) {
        String b = "blocks." + i + ".";
        ws.add(param(tmp, weights, b + "norm1.weight"));
        ws.add(param(tmp, weights, b + "norm1.bias"));
        PtNDArray qkvW = param(tmp, weights, b + "qkv.weight");
        ws.add(qkvW);
        ws.add(weights.tensors().containsKey(b + "qkv.bias") ? param(tmp, weights, b + "qkv.bias")
            : (PtNDArray) tmp.zeros(new Shape(qkvW.getShape().get(0))));
        ws.add(param(tmp, weights, b + "proj.weight"));
        ws.add(param(tmp, weights, b + "proj.bias"));
        ws.add(param(tmp, weights, b + "norm2.weight"));
        ws.add(param(tmp, weights, b + "norm2.bias"));
        ws.add(param(tmp, weights, b + "mlp.in.weight"));
        ws.add(param(tmp, weights, b + "mlp.in.bias"));
        ws.add(param(tmp, weights, b + "mlp.out.weight"));
        ws.add(param(tmp, weights, b + "mlp.out.bias"));
        ws.add(weights.tensors().containsKey(b + "ls1") ? param(tmp, weights, b + "ls1")
            : (PtNDArray) tmp.ones(new Shape(d)));
        ws.add(weights.tensors().containsKey(b + "ls2") ? param(tmp, weights, b + "ls2")
            : (PtNDArray) tmp.ones(new Shape(d)));
      }
      try (IValue list = IValue.listFrom(ws.toArray(new PtNDArray[0]));
          IValue cdt = IValue.from((long) computeType);
          IValue first = IValue.from(4L);
          IValue n = IValueUtils.runMethod(module, "set_weights", list, cdt, first)) {
        if (n.toLong() != ws.size()) {
          throw new IllegalStateException("set_weights returned " + n.toLong());
        }
      }
    }
  }

  private static PtNDArray param(NDManager m, RadioWeights w, String name) {
    Tensor t = w.tensor(name);
    return (PtNDArray) m.create(t.floats(), new Shape(t.shape()));
  }

  /** Final tokens (B, prefix + n, d), float32, row-major. */
  public float[] lastHiddenState(float[] pixels, int batch, int height, int width) {
    RadioConfig c = config;
    int p = c.patchSize();
    int rows = height / p;
    int cols = width / p;
    try (NDManager scope = manager.newSubManager()) {
      PtNDArray px = (PtNDArray) scope.create(pixels, new Shape(batch, c.numChannels(), height, width));
      PtNDArray pos = (PtNDArray) scope.create(positions.forGrid(rows, cols), new Shape((long) rows * cols,
          c.hiddenSize()));
      IValue[] in = {IValue.from(px), IValue.from(pos), IValue.from((long) p),
          IValue.from((long) c.numAttentionHeads()), IValue.from(c.layerNormEps()), IValue.from(c.useSwigluFfn()),
          IValue.from((long) computeType), IValue.from((long) c.numHiddenLayers())};
      try (IValue r = IValueUtils.runMethod(module, "forward", in)) {
        NDArray t = r.toTensor((PtNDManager) scope);
        return t.toFloatArray();
      } finally {
        for (IValue v : in) {
          v.close();
        }
      }
    }
  }

  /** Summary tokens (B, len(summary_idxs) * d) from a last hidden state. */
  public float[] summary(float[] last, int batch, int tokens) {
    int d = config.hiddenSize();
    int[] idx = config.summaryIdxs();
    float[] out = new float[batch * idx.length * d];
    for (int b = 0; b < batch; b++) {
      for (int j = 0; j < idx.length; j++) {
        System.arraycopy(last, (b * tokens + idx[j]) * d, out, (b * idx.length + j) * d, d);
      }
    }
    return out;
  }

  @Override
  public void close() {
    module.close();
    manager.close();
  }
}
