package ai.radiospark.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.radiospark.RadioException;
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

  private final RadioConfig config;
  private final RadioWeights weights;
  private final ModelDType dtype;
  private final Device device;
  private final NDManager manager;
  private final PositionEmbedding positions;
  private final NDArray patch;
  private final NDArray cls;
  private final NDArray mean;
  private final NDArray std;
  private final Block[] blocks;
  private volatile boolean closed;

  private record Block(NDArray norm1W, NDArray norm1B, NDArray qkvW, NDArray qkvB, NDArray projW,
      NDArray projB, NDArray norm2W, NDArray norm2B, NDArray inW, NDArray inB, NDArray outW, NDArray outB,
      NDArray ls1, NDArray ls2) {}

  private RadioModel(RadioWeights weights, Device device, ModelDType dtype) {
    this.weights = weights;
    this.config = weights.config();
    this.dtype = dtype;
    this.device = device;
    this.manager = NDManager.newBaseManager(device, "PyTorch");
    boolean ok = false;
    try {
      RadioConfig c = config;
      int d = c.hiddenSize();
      this.patch = param("patch");
      this.cls = param("cls_token");
      this.mean = manager.create(c.normMean(), new Shape(1, c.numChannels(), 1, 1));
      this.std = manager.create(c.normStd(), new Shape(1, c.numChannels(), 1, 1));
      this.positions = new PositionEmbedding(weights.tensor("pos_embed").floats(), c.positionGrid(), d);
      this.blocks = new Block[c.numHiddenLayers()];
      for (int i = 0; i < blocks.length; i++) {
        String b = "blocks." + i + ".";
        blocks[i] = new Block(param(b + "norm1.weight"), param(b + "norm1.bias"), param(b + "qkv.weight"),
            optParam(b + "qkv.bias"), param(b + "proj.weight"), param(b + "proj.bias"), param(b + "norm2.weight"),
            param(b + "norm2.bias"), param(b + "mlp.in.weight"), param(b + "mlp.in.bias"),
            param(b + "mlp.out.weight"), param(b + "mlp.out.bias"), optParam(b + "ls1"), optParam(b + "ls2"));
      }
      ok = true;
    } finally {
      if (!ok) {
        manager.close();
      }
    }
    LOG.info("Built RADIO model from {} on {} in {} ({} layers, d={}, {} MB of weights)", weights.source(), device,
        dtype, config.numHiddenLayers(), config.hiddenSize(), weights.byteSize() >> 20);
  }

  /** Starts building a model: float32 on the CPU unless told otherwise. */
  public static Builder builder() {
    return new Builder();
  }

  /** Builds models; {@code opt*} for what is optional, {@link #build} validates. */
  public static final class Builder {
    private Device device = Device.cpu();
    private ModelDType dtype = ModelDType.FLOAT32;

    private Builder() {}

    public Builder optDevice(Device device) {
      this.device = device;
      return this;
    }

    public Builder optDType(ModelDType dtype) {
      this.dtype = dtype;
      return this;
    }

    public RadioModel build(RadioWeights weights) {
      return new RadioModel(weights, device, dtype);
    }
  }

  private NDArray param(String name) {
    Tensor t = weights.tensor(name);
    float[] v = t.floats();
    NDArray a = manager.create(v, new Shape(t.shape()));
    return a;
  }

  private NDArray optParam(String name) {
    return weights.tensors().containsKey(name) ? param(name) : null;
  }

  public RadioConfig config() {
    return config;
  }

  public RadioWeights weights() {
    return weights;
  }

  public ModelDType dtype() {
    return dtype;
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
    int h = c.numAttentionHeads();
    int hd = c.headDim();
    int prefix = c.prefixTokens();
    int tokens = prefix + n;
    float eps = (float) c.layerNormEps();
    Shape normShape = new Shape(d);
    float scale = (float) (1.0 / Math.sqrt(hd));
    boolean wantHidden = outputs.contains(Output.HIDDEN_STATES);
    List<float[]> hidden = wantHidden ? new ArrayList<>() : Collections.emptyList();

    ByteBuffer input = NativeBuffers.of(pixels);
    ByteBuffer pos = NativeBuffers.of(positions.forGrid(rows, cols));
    try (NDManager scope = manager.newSubManager()) {
      NDArray x = scope.create(input, new Shape(batch, ch, height, width), DataType.FLOAT32);
      x = x.sub(mean).div(std);
      // Patches, row-major over the grid, each flattened channel-major (c, py, px).
      x = x.reshape(batch, ch, rows, p, cols, p).transpose(0, 2, 4, 1, 3, 5).reshape(batch, n, (long) ch * p * p);
      x = Linear.linear(x, patch).singletonOrThrow();
      x = x.add(scope.create(pos, new Shape(n, d), DataType.FLOAT32));
      NDArray prefixTokens = scope.zeros(new Shape(batch, prefix, d)).add(cls);
      NDArray t = NDArrays.concat(new NDList(prefixTokens, x), 1);
      if (wantHidden) {
        hidden.add(floats(t));
      }
      for (Block blk : blocks) {
        NDArray y = LayerNorm.layerNorm(t, normShape, blk.norm1W, blk.norm1B, eps).singletonOrThrow();
        NDArray qkv = blk.qkvB == null ? Linear.linear(y, blk.qkvW).singletonOrThrow()
            : Linear.linear(y, blk.qkvW, blk.qkvB).singletonOrThrow();
        // (B, n, 3, h, hd) -> (3, B, h, n, hd)
        qkv = qkv.reshape(batch, tokens, 3, h, hd).transpose(2, 0, 3, 1, 4);
        NDList parts = qkv.split(3, 0);
        NDArray q = parts.get(0).squeeze(0).mul(scale);
        NDArray k = parts.get(1).squeeze(0);
        NDArray v = parts.get(2).squeeze(0);
        NDArray attn = q.matMul(k.transpose(0, 1, 3, 2)).softmax(-1);
        NDArray a = attn.matMul(v).transpose(0, 2, 1, 3).reshape(batch, tokens, d);
        a = Linear.linear(a, blk.projW, blk.projB).singletonOrThrow();
        if (blk.ls1 != null) {
          a = a.mul(blk.ls1);
        }
        t = t.add(a);
        y = LayerNorm.layerNorm(t, normShape, blk.norm2W, blk.norm2B, eps).singletonOrThrow();
        y = Linear.linear(y, blk.inW, blk.inB).singletonOrThrow();
        if (c.useSwigluFfn()) {
          NDList halves = y.split(2, 2);
          NDArray x1 = halves.get(0);
          y = x1.mul(Activation.sigmoid(x1)).mul(halves.get(1));
        } else {
          y = Activation.gelu(y);
        }
        y = Linear.linear(y, blk.outW, blk.outB).singletonOrThrow();
        if (blk.ls2 != null) {
          y = y.mul(blk.ls2);
        }
        t = t.add(y);
        if (wantHidden) {
          hidden.add(floats(t));
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
