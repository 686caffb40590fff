package ai.radiospark.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import ai.radiospark.RadioException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The RADIO vision transformer's forward pass (RADIO-SPEC.md) on DJL's PyTorch engine.
 *
 * <p>Weights are converted once, when the model is built, and live in the model's own
 * {@link NDManager} until {@link #close()}. Each {@link #forward} call runs in a child manager
 * that is closed before it returns, so every intermediate of a batch is freed with the batch.
 * The model is immutable after construction: concurrent {@code forward} calls from several
 * threads are safe and share the weights.
 *
 * <p>The pass runs as one call into a TorchScript module that this class writes from Java
 * ({@link TorchScriptArchive}, source {@link #SOURCE}) and loads through DJL: one native call per
 * batch instead of ~25 per layer, torch's fused {@code scaled_dot_product_attention}, and
 * bfloat16 compute, which DJL's NDArray API cannot create (RESEARCH-bf16.md). In
 * {@link ModelDType#BFLOAT16} the matrices are converted once, when the model is built; the input
 * conditioner, patch embedding, LayerNorms, residual stream and layer scales stay float32, the
 * attention kernel accumulates its softmax in float32, and outputs are float32. {@link ModelDType#FLOAT16}
 * computes the same way in half precision; {@link DevicePlan} allows it only on GPUs. Every
 * device-dependent choice (linear backend, compute type, graph optimisation) comes from the
 * model's {@link DevicePlan}.
 *
 * <pre>{@code
 * RadioWeights weights = Checkpoint.open(Path.of("/models/C-RADIOv4-H")).weights();
 * try (RadioModel model = RadioModel.builder().optDType(ModelDType.BFLOAT16).build(weights)) {
 *   RadioOutput out = model.forward(pixels, batch, 224, 224, EnumSet.of(RadioModel.Output.SUMMARY));
 * }
 * }</pre>
 */
public final class RadioModel implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RadioModel.class);

  /** What a forward pass returns besides nothing. */
  public enum Output {
    SUMMARY,
    FEATURES,
    LAST_HIDDEN_STATE,
    /** The embedding output and every block's output. */
    HIDDEN_STATES
  }

  private static final int HEAD = 4;
  private static final int PER_BLOCK = 14;

  /**
   * Block linears through oneDNN ({@code mkldnn::_linear_pointwise}, weights prepacked once,
   * GELU fused) rather than {@code aten::linear}. libtorch's statically linked oneMKL takes its
   * generic (non-AVX-512) sgemm path on AMD CPUs, oneDNN's brgemm uses AVX-512 (and
   * AVX512-BF16 for bfloat16). {@code -Dradio.linear=aten} switches back, for comparison
   * ({@link DevicePlan.Settings#fromSystemProperties}).
   */
  static final boolean ONEDNN_DEFAULT =
      DevicePlan.Settings.fromSystemProperties().cpuLinear() == DevicePlan.Linear.ONEDNN;

  /**
   * The forward pass in TorchScript. Weights: patch, cls, mean, std, then per block norm1 w/b,
   * qkv w/b, proj w/b, norm2 w/b, mlp in w/b, mlp out w/b, ls1, ls2. {@code set_weights} clones
   * every tensor it keeps (DJL's {@code create(float[])} tensors are views of Java direct buffers
   * that die with their NDArray) and converts the block matrices and their biases to the compute
   * dtype {@code cdt}.
   */
  static final String SOURCE = """
      class Radio(Module):
        __parameters__ = []
        __buffers__ = []
        training : bool
        onednn : bool
        w : List[Tensor]
        def set_weights(self, ws: List[Tensor], cdt: int, onednn: bool) -> int:
          out = annotate(List[Tensor], [])
          for i in range(len(ws)):
            t = ws[i]
            j = (i - 4) % 14
            if i >= 4 and j in [2, 3, 4, 5, 8, 9, 10, 11]:
              t = t.to(cdt)
            t = t.contiguous().clone()
            if onednn and i >= 4 and j in [2, 4, 8, 10]:
              t = ops.mkldnn._reorder_linear_weight(t, None)
            out.append(t)
          self.w = out
          self.onednn = onednn
          return len(out)
        def uses_onednn(self) -> bool:
          return self.onednn
        def lin(self, x: Tensor, w: Tensor, b: Tensor, act: str) -> Tensor:
          if self.onednn:
            return ops.mkldnn._linear_pointwise(x, w, b, act, annotate(List[Optional[number]], []), "none")
          y = torch.linear(x, w, b)
          if act == "gelu":
            y = torch.gelu(y)
          return y
        def block(self, x: Tensor, o: int, heads: int, eps: float, swiglu: bool, cdt: int) -> Tensor:
          w = self.w
          B = x.size(0)
          T = x.size(1)
          D = x.size(2)
          y = torch.layer_norm(x, [D], w[o], w[o + 1], eps).to(cdt)
          qkv = self.lin(y, w[o + 2], w[o + 3], "none").view([B, T, 3, heads, D // heads]).permute([2, 0, 3, 1, 4])
          a = torch.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
          a = self.lin(a.transpose(1, 2).reshape([B, T, D]), w[o + 4], w[o + 5], "none")
          x = torch.addcmul(x, a.to(6), w[o + 12])
          y = torch.layer_norm(x, [D], w[o + 6], w[o + 7], eps).to(cdt)
          if swiglu:
            y = self.lin(y, w[o + 8], w[o + 9], "none")
            hh = y.chunk(2, -1)
            y = torch.silu(hh[0]) * hh[1]
          else:
            y = self.lin(y, w[o + 8], w[o + 9], "gelu")
          y = self.lin(y, w[o + 10], w[o + 11], "none")
          return torch.addcmul(x, y.to(6), w[o + 13])
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
        def forward(self, px: Tensor, pos: Tensor, p: int, heads: int, eps: float, swiglu: bool, cdt: int, layers: int, all: bool) -> List[Tensor]:
          t = self.embed(px, pos, p)
          out = annotate(List[Tensor], [])
          if all:
            out.append(t)
          for i in range(layers):
            t = self.block(t, 4 + 14 * i, heads, eps, swiglu, cdt)
            if all:
              out.append(t)
          if not all:
            out.append(t)
          return out
      """;

  private final RadioConfig config;
  private final RadioWeights weights;
  private final DevicePlan plan;
  private final Device device;
  private final PtNDManager manager;
  private final PtSymbolBlock module;
  private final PositionEmbedding positions;
  private volatile boolean closed;

  private RadioModel(RadioWeights weights, Device device, DevicePlan plan) {
    this.weights = weights;
    this.config = weights.config();
    this.plan = plan;
    this.device = device;
    this.manager = (PtNDManager) NDManager.newBaseManager(device, "PyTorch");
    boolean ok = false;
    try {
      RadioConfig c = config;
      int d = c.hiddenSize();
      this.positions = new PositionEmbedding(weights.tensor("pos_embed").floats(), c.positionGrid(), d);
      byte[] archive = new TorchScriptArchive("Radio", SOURCE).attribute("onednn", TorchScriptArchive.Init.FALSE)
          .attribute("w", TorchScriptArchive.Init.EMPTY_LIST)
          .toBytes();
      this.module = JniUtils.loadModule(manager, new ByteArrayInputStream(archive), true, false);
      List<ByteBuffer> scratch = new ArrayList<>();
      try (NDManager tmp = manager.newSubManager()) {
        List<PtNDArray> ws = new ArrayList<>();
        ws.add(param(tmp, scratch, "patch"));
        ws.add(param(tmp, scratch, "cls_token"));
        ws.add((PtNDArray) tmp.create(c.normMean(), new Shape(1, c.numChannels(), 1, 1)));
        ws.add((PtNDArray) tmp.create(c.normStd(), new Shape(1, c.numChannels(), 1, 1)));
        for (int i = 0; i < c.numHiddenLayers(); i++) {
          String b = "blocks." + i + ".";
          ws.add(param(tmp, scratch, b + "norm1.weight"));
          ws.add(param(tmp, scratch, b + "norm1.bias"));
          PtNDArray qkvW = param(tmp, scratch, b + "qkv.weight");
          ws.add(qkvW);
          ws.add(has(b + "qkv.bias") ? param(tmp, scratch, b + "qkv.bias")
              : (PtNDArray) tmp.zeros(new Shape(qkvW.getShape().get(0))));
          ws.add(param(tmp, scratch, b + "proj.weight"));
          ws.add(param(tmp, scratch, b + "proj.bias"));
          ws.add(param(tmp, scratch, b + "norm2.weight"));
          ws.add(param(tmp, scratch, b + "norm2.bias"));
          ws.add(param(tmp, scratch, b + "mlp.in.weight"));
          ws.add(param(tmp, scratch, b + "mlp.in.bias"));
          ws.add(param(tmp, scratch, b + "mlp.out.weight"));
          ws.add(param(tmp, scratch, b + "mlp.out.bias"));
          ws.add(has(b + "ls1") ? param(tmp, scratch, b + "ls1") : (PtNDArray) tmp.ones(new Shape(d)));
          ws.add(has(b + "ls2") ? param(tmp, scratch, b + "ls2") : (PtNDArray) tmp.ones(new Shape(d)));
        }
        JniUtils.setGraphExecutorOptimize(plan.graphOptimize());
        try (IValue list = IValue.listFrom(ws.toArray(new PtNDArray[0]));
            IValue cdt = IValue.from((long) plan.scalarType());
            IValue packed = IValue.from(plan.linear() == DevicePlan.Linear.ONEDNN);
            IValue n = IValueUtils.runMethod(module, "set_weights", list, cdt, packed)) {
          if (n.toLong() != HEAD + PER_BLOCK * (long) c.numHiddenLayers()) {
            throw new IllegalStateException("set_weights kept " + n.toLong() + " tensors");
          }
        }
      } finally {
        // set_weights copied the weights, and the closed sub-manager released its tensors over these buffers.
        scratch.forEach(NativeBuffers::free);
      }
      ok = true;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      if (!ok) {
        manager.close();
      }
    }
    LOG.info("Built RADIO model from {} on {} in {} ({} layers, d={}, {} MB of weights; {})", weights.source(),
        device, plan.compute(), config.numHiddenLayers(), config.hiddenSize(), weights.byteSize() >> 20, plan);
    if (plan.tf32() && System.getenv("TORCH_ALLOW_TF32_CUBLAS_OVERRIDE") == null) {
      LOG.info("TF32 is allowed for float32 on {} but not in effect: libtorch enables it only with "
          + "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1 in the executor's environment (DJL 0.36 has no call for it).", device);
    }
  }

  /** Starts building a model: float32 on the CPU unless told otherwise. */
  public static Builder builder() {
    return new Builder();
  }

  /** Builds models; {@code opt*} for what is optional, {@link #build} validates. */
  public static final class Builder {
    private Device device = Device.cpu();
    private ModelDType dtype = ModelDType.FLOAT32;
    private boolean onednn = ONEDNN_DEFAULT;
    private DevicePlan plan;

    private Builder() {}

    public Builder optDevice(Device device) {
      this.device = device;
      return this;
    }

    public Builder optDType(ModelDType dtype) {
      this.dtype = dtype;
      return this;
    }

    /** For comparisons: true runs the block linears through oneDNN, false through aten::linear. */
    Builder linearOneDnn(boolean onednn) {
      this.onednn = onednn;
      return this;
    }

    /**
     * Runs with {@code plan} instead of the plan of the model's device and dtype: for testing one
     * device's configuration on another (the GPU plan on the CPU). Its compute type replaces the dtype.
     */
    public Builder optPlan(DevicePlan plan) {
      this.plan = plan;
      return this;
    }

    /**
     * Builds the model with its device's {@link DevicePlan}.
     *
     * @throws ai.radiospark.RadioException for float16 on the CPU
     */
    public RadioModel build(RadioWeights weights) {
      DevicePlan p = plan != null ? plan : DevicePlan.of(device, dtype,
          new DevicePlan.Settings(onednn ? DevicePlan.Linear.ONEDNN : DevicePlan.Linear.ATEN));
      return new RadioModel(weights, device, p);
    }
  }

  /**
   * A weight as a tensor of {@code m}. float32 weights go to libtorch as stored, straight from
   * the checkpoint's memory map (set_weights copies them): no float[] of the whole model on the
   * heap, which took 0.4 s and a heap the model's size per build for the base shape. Heap bytes
   * (a broadcast checkpoint) pass through one direct buffer, freed once the model is built;
   * other types are converted to float32 first.
   */
  private PtNDArray param(NDManager m, List<ByteBuffer> scratch, String name) {
    Tensor t = weights.tensor(name);
    Shape shape = new Shape(t.shape());
    if (t.type() == TensorType.F32 && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
      ByteBuffer data = t.data().slice(); // position 0: libtorch reads from the buffer's address
      if (!data.isDirect()) {
        data = NativeBuffers.copyOf(data);
        scratch.add(data);
      }
      return (PtNDArray) m.create(data, shape, DataType.FLOAT32);
    }
    return (PtNDArray) m.create(t.floats(), shape);
  }

  private boolean has(String name) {
    return weights.tensors().containsKey(name);
  }

  public RadioConfig config() {
    return config;
  }

  public RadioWeights weights() {
    return weights;
  }

  /** The type the model computes in: its plan's compute type. */
  public ModelDType dtype() {
    return plan.compute();
  }

  /** The device decisions this model was built with. */
  public DevicePlan plan() {
    return plan;
  }

  /** The linear backend the loaded TorchScript module runs, as the module itself reports it. */
  public DevicePlan.Linear linear() {
    try (IValue r = IValueUtils.runMethod(module, "uses_onednn")) {
      return r.toBoolean() ? DevicePlan.Linear.ONEDNN : DevicePlan.Linear.ATEN;
    }
  }

  public Device device() {
    return device;
  }

  /**
   * Runs a batch.
   *
   * @param pixels (B, C, H, W) pixel values in [0, 1], row-major; the model's input conditioner
   *     normalises them (do not normalise before)
   * @param batch B
   * @param height H, a multiple of the patch size
   * @param width W, a multiple of the patch size
   * @param outputs what to return
   */
  public RadioOutput forward(float[] pixels, int batch, int height, int width, Set<Output> outputs) {
    RadioConfig c = config;
    int p = c.patchSize();
    int ch = c.numChannels();
    if (closed) {
      throw new IllegalStateException("RadioModel from " + weights.source() + " is closed");
    }
    if (batch <= 0) {
      throw new RadioException("Cannot run RADIO on an empty batch (batch size " + batch
          + "). Pass at least one image.");
    }
    if (height <= 0 || width <= 0 || height % p != 0 || width % p != 0) {
      throw new RadioException("Input size " + height + "x" + width + " is not a multiple of the patch size " + p
          + ". Resize images to a multiple of " + p + " (for example " + Math.max(p, height / p * p) + "x"
          + Math.max(p, width / p * p) + "), or use the native resize mode, which snaps to the patch grid.");
    }
    long expected = (long) batch * ch * height * width;
    if (pixels.length != expected) {
      long perImage = (long) height * width;
      String channels = pixels.length % (batch * perImage) == 0
          ? pixels.length / (batch * perImage) + " channels" : pixels.length + " values";
      throw new RadioException("Input has " + channels + " but RADIO takes (" + batch + ", " + ch + ", " + height
          + ", " + width + ") = " + expected + " values. Convert images to RGB (" + ch + " channels) first.");
    }
    int rows = height / p;
    int cols = width / p;
    int n = rows * cols;
    int d = c.hiddenSize();
    int prefix = c.prefixTokens();
    boolean wantHidden = outputs.contains(Output.HIDDEN_STATES);
    List<float[]> hidden = wantHidden ? new ArrayList<>() : Collections.emptyList();

    ByteBuffer input = NativeBuffers.of(pixels);
    ByteBuffer pos = NativeBuffers.of(positions.forGrid(rows, cols));
    PtNDManager scope = (PtNDManager) manager.newSubManager();
    IValue[] in = new IValue[9];
    try (scope) {
      in[0] = IValue.from(scope.create(input, new Shape(batch, ch, height, width), DataType.FLOAT32));
      in[1] = IValue.from(scope.create(pos, new Shape(n, d), DataType.FLOAT32));
      in[2] = IValue.from((long) p);
      in[3] = IValue.from((long) c.numAttentionHeads());
      in[4] = IValue.from(c.layerNormEps());
      in[5] = IValue.from(c.useSwigluFfn());
      in[6] = IValue.from((long) plan.scalarType());
      in[7] = IValue.from((long) c.numHiddenLayers());
      in[8] = IValue.from(wantHidden);
      PtNDArray[] states;
      JniUtils.setGraphExecutorOptimize(plan.graphOptimize()); // per thread in libtorch
      try (IValue r = IValueUtils.runMethod(module, "forward", in)) {
        states = r.toTensorArray(scope);
      }
      NDArray t = states[states.length - 1];
      if (wantHidden) {
        for (NDArray s : states) {
          hidden.add(floats(s));
        }
      }
      float[] summary = null;
      if (outputs.contains(Output.SUMMARY)) {
        NDList parts = new NDList();
        for (int idx : c.summaryIdxs()) {
          parts.add(t.get(":, " + idx + ", :"));
        }
        summary = floats(NDArrays.concat(parts, 1));
      }
      float[] features = outputs.contains(Output.FEATURES) ? floats(t.get(":, " + prefix + ":, :")) : null;
      float[] last = outputs.contains(Output.LAST_HIDDEN_STATE) ? floats(t) : null;
      return new RadioOutput(batch, rows, cols, d, summary, features, last, hidden);
    } finally {
      for (IValue v : in) {
        if (v != null) {
          v.close();
        }
      }
      // The tensors made over these buffers died with the scope.
      NativeBuffers.free(input);
      NativeBuffers.free(pos);
    }
  }

  /** Copies a float32 tensor out through a view of its memory, allocating nothing native. */
  private static float[] floats(NDArray a) {
    ByteBuffer b = a.toByteBuffer(true).order(ByteOrder.nativeOrder());
    float[] out = new float[Math.toIntExact(a.size())];
    b.asFloatBuffer().get(out);
    return out;
  }

  /** Convenience: summary and features. */
  public RadioOutput forward(float[] pixels, int batch, int height, int width) {
    return forward(pixels, batch, height, width, EnumSet.of(Output.SUMMARY, Output.FEATURES));
  }

  @Override
  public void close() {
    closed = true;
    module.close();
    manager.close();
  }

  static DataType dataType(ModelDType t) {
    return switch (t) {
      case FLOAT32 -> DataType.FLOAT32;
      case BFLOAT16 -> DataType.BFLOAT16;
      case FLOAT16 -> DataType.FLOAT16;
    };
  }
}
