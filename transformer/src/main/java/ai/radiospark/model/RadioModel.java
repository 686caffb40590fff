package ai.radiospark.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
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
 * The RADIO vision transformer's forward pass on DJL's PyTorch engine: the forward of Hugging Face
 * transformers' {@code RadioModel}, which the golden tests check it against (the reference data and its
 * tolerances: {@code golden/REFERENCE-README.md} in the test resources).
 *
 * <p>Weights are converted once, when the model is built, and live in the model's own
 * {@link NDManager} until {@link #close()}. Each {@link #forward} call runs in a child manager
 * that is closed before it returns, so every intermediate of a batch is freed with the batch.
 * The model is immutable after construction: concurrent {@code forward} calls from several
 * threads are safe and share the weights.
 *
 * <p>The pass runs as one call into a TorchScript module that this class writes from Java
 * ({@link TorchScriptArchive}, source {@link RadioScript}, weights in the order of {@link HeadTensor} and
 * {@link BlockTensor}) and loads through {@link TorchEngine}: one native call per
 * batch instead of ~25 per layer, torch's fused {@code scaled_dot_product_attention}, and
 * bfloat16 compute, which DJL's NDArray API cannot create (docs/research-bf16.md). In
 * {@link ModelDType#BFLOAT16} the matrices are converted once, when the model is built; the input
 * conditioner, patch embedding, LayerNorms, residual stream and layer scales stay float32, the
 * attention kernel accumulates its softmax in float32, and outputs are float32. {@link ModelDType#FLOAT16}
 * computes the same way in half precision; {@link DevicePlan} allows it only on GPUs. Every
 * device-dependent choice (linear backend, compute type, graph optimisation) comes from the
 * model's {@link DevicePlan}.
 *
 * <p>A pass can take several input sizes with one token count (patch rows x columns), such as
 * 1024x768 and 768x1024: {@link #forward(List, List, Set)} patch-embeds each size on its own grid
 * and runs the blocks once over all of them ({@code forward_grids} in {@link RadioScript}).
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

    /**
     * Block linears through oneDNN ({@code mkldnn::_linear_pointwise}, weights prepacked once,
     * GELU fused) rather than {@code aten::linear}. libtorch's statically linked oneMKL takes its
     * generic (non-AVX-512) sgemm path on AMD CPUs, oneDNN's brgemm uses AVX-512 (and
     * AVX512-BF16 for bfloat16). {@code -Dradio.linear=aten} switches back, for comparison
     * ({@link DevicePlan.Settings#fromSystemProperties}).
     */
    static final boolean ONEDNN_DEFAULT =
            DevicePlan.Settings.fromSystemProperties().cpuLinear() == DevicePlan.Linear.ONEDNN;

    private final RadioConfig config;
    /** Where the weights came from, for messages: the model keeps no reference to the weights once built. */
    private final String source;

    private final DevicePlan plan;
    private final Device device;
    private final NDManager manager;
    private final TorchEngine.Module module;
    private final PositionCache positions;
    private volatile boolean closed;

    private RadioModel(RadioWeights weights, Device device, DevicePlan plan) {
        this.source = weights.source();
        this.config = weights.config();
        this.plan = plan;
        this.device = device;
        this.manager = TorchEngine.newManager(device);
        boolean ok = false;
        try {
            this.positions = new PositionCache(
                    new PositionEmbedding(
                            weights.tensor("pos_embed").floats(), config.positionGrid(), config.hiddenSize()),
                    manager,
                    PositionCache.CAPACITY);
            this.module = TorchEngine.load(
                    manager,
                    new TorchScriptArchive(RadioScript.CLASS, RadioScript.source())
                            .attribute("onednn", TorchScriptArchive.Init.FALSE)
                            .attribute("w", TorchScriptArchive.Init.EMPTY_LIST));
            TorchEngine.setGraphOptimize(plan.graphOptimize());
            ScriptWeights.upload(module, manager, weights, plan);
            ok = true;
        } finally {
            if (!ok) {
                manager.close();
            }
        }
        LOG.info(
                "Built RADIO model from {} on {} in {} ({} layers, d={}, {} MB of weights; {})",
                weights.source(),
                device,
                plan.compute(),
                config.numHiddenLayers(),
                config.hiddenSize(),
                weights.byteSize() >> 20,
                plan);
        if (plan.tf32() && System.getenv("TORCH_ALLOW_TF32_CUBLAS_OVERRIDE") == null) {
            LOG.info(
                    "TF32 is allowed for float32 on {} but not in effect: libtorch enables it only with "
                            + "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1 in the executor's environment (DJL 0.36 has no call for it).",
                    device);
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
            DevicePlan p = plan != null
                    ? plan
                    : DevicePlan.of(
                            device,
                            dtype,
                            new DevicePlan.Settings(onednn ? DevicePlan.Linear.ONEDNN : DevicePlan.Linear.ATEN));
            return new RadioModel(weights, device, p);
        }
    }

    public RadioConfig config() {
        return config;
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
        return module.callBoolean("uses_onednn") ? DevicePlan.Linear.ONEDNN : DevicePlan.Linear.ATEN;
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
        return forward(List.of(pixels), List.of(new SubBatch(batch, height, width)), outputs);
    }

    /**
     * Runs a batch of 8-bit pixels, a quarter of the float32 bytes to copy and upload: the graph
     * rescales them on the device exactly as {@link ai.radiospark.image.ImagePreprocessor} does
     * (float32 of the float64 product {@code v * (1 / 255)}), so the outputs equal those of
     * {@link #forward(float[], int, int, int, Set)} on the preprocessor's floats, bit for bit.
     * {@link DevicePlan#uint8Pixels} says when the stage uses it.
     *
     * @param pixels (B, C, H, W) values 0..255 (unsigned), row-major, before rescaling
     */
    public RadioOutput forwardUint8(byte[] pixels, int batch, int height, int width, Set<Output> outputs) {
        return forwardUint8(List.of(pixels), List.of(new SubBatch(batch, height, width)), outputs);
    }

    /**
     * Images of one input size in a forward pass over several: {@code batch} images of
     * {@code height} x {@code width}, multiples of the patch size.
     */
    public record SubBatch(int batch, int height, int width) {}

    /**
     * Runs one forward pass over sub-batches of different input sizes with the same number of patches
     * (rows x cols), for example 768x1024 and 1024x768: each sub-batch is patch-embedded with its own
     * grid's position embedding, then the transformer blocks run once over all of them. Each image's
     * outputs are those of a pass of its own size, within the float tolerances of batching
     * ({@code MixedGridForwardTest}). The output's images are the sub-batches' images in order, each
     * with its own grid ({@link RadioOutput#rows(int)}).
     *
     * @param pixels each sub-batch's (b, C, h, w) values in [0, 1], row-major
     * @param parts each sub-batch's b, h and w, in the order of {@code pixels}
     */
    public RadioOutput forward(List<float[]> pixels, List<SubBatch> parts, Set<Output> outputs) {
        List<ByteBuffer> inputs = new ArrayList<>(pixels.size());
        try {
            check(pixels.stream().mapToLong(a -> a.length).toArray(), parts);
            for (float[] a : pixels) {
                inputs.add(NativeBuffers.of(a));
            }
            return run(false, inputs, DataType.FLOAT32, parts, outputs);
        } finally {
            // The tensors made over these buffers died with the pass's scope.
            inputs.forEach(NativeBuffers::free);
        }
    }

    /** {@link #forward(List, List, Set)} on 8-bit pixels, as {@link #forwardUint8(byte[], int, int, int, Set)}. */
    public RadioOutput forwardUint8(List<byte[]> pixels, List<SubBatch> parts, Set<Output> outputs) {
        List<ByteBuffer> inputs = new ArrayList<>(pixels.size());
        try {
            check(pixels.stream().mapToLong(a -> a.length).toArray(), parts);
            for (byte[] a : pixels) {
                inputs.add(NativeBuffers.copyOf(ByteBuffer.wrap(a)));
            }
            return run(true, inputs, DataType.UINT8, parts, outputs);
        } finally {
            inputs.forEach(NativeBuffers::free);
        }
    }

    private void check(long[] lengths, List<SubBatch> parts) {
        if (lengths.length != parts.size() || parts.isEmpty()) {
            throw new IllegalArgumentException(lengths.length + " pixel arrays for " + parts.size()
                    + " sub-batches: pass one array per sub-batch");
        }
        int p = config.patchSize();
        long tokens = -1;
        for (int i = 0; i < parts.size(); i++) {
            SubBatch s = parts.get(i);
            check(lengths[i], s.batch(), s.height(), s.width());
            long t = (long) (s.height() / p) * (s.width() / p);
            if (tokens >= 0 && t != tokens) {
                throw new RadioException(
                        "Cannot run input sizes " + parts.get(0).height() + "x"
                                + parts.get(0).width() + " and " + s.height() + "x" + s.width()
                                + " in one forward pass: their patch counts differ (" + tokens + " and " + t
                                + "). Run each size in its own pass, or sizes with equal rows x cols patches together.");
            }
            tokens = t;
        }
    }

    private void check(long length, int batch, int height, int width) {
        RadioConfig c = config;
        int p = c.patchSize();
        int ch = c.numChannels();
        if (closed) {
            throw new IllegalStateException("RadioModel from " + source + " is closed");
        }
        if (batch <= 0) {
            throw new RadioException(
                    "Cannot run RADIO on an empty batch (batch size " + batch + "). Pass at least one image.");
        }
        if (height <= 0 || width <= 0 || height % p != 0 || width % p != 0) {
            throw new RadioException("Input size " + height + "x" + width + " is not a multiple of the patch size " + p
                    + ". Resize images to a multiple of " + p + " (for example " + Math.max(p, height / p * p) + "x"
                    + Math.max(p, width / p * p) + "), or use the native resize mode, which snaps to the patch grid.");
        }
        long expected = (long) batch * ch * height * width;
        if (length != expected) {
            long perImage = (long) height * width;
            String channels =
                    length % (batch * perImage) == 0 ? length / (batch * perImage) + " channels" : length + " values";
            throw new RadioException("Input has " + channels + " but RADIO takes (" + batch + ", " + ch + ", " + height
                    + ", " + width + ") = " + expected + " values. Convert images to RGB (" + ch + " channels) first.");
        }
    }

    /**
     * One pass: a single sub-batch through the module's {@code forward} (or {@code forward_uint8}),
     * several through {@code forward_grids} (or {@code forward_grids_uint8}).
     */
    private RadioOutput run(
            boolean uint8, List<ByteBuffer> inputs, DataType type, List<SubBatch> parts, Set<Output> outputs) {
        RadioConfig c = config;
        int p = c.patchSize();
        int d = c.hiddenSize();
        int prefix = c.prefixTokens();
        boolean wantHidden = outputs.contains(Output.HIDDEN_STATES);
        List<float[]> hidden = wantHidden ? new ArrayList<>() : Collections.emptyList();
        List<RadioOutput.Grid> grids = new ArrayList<>(parts.size());
        int batch = 0;
        for (SubBatch s : parts) {
            grids.add(new RadioOutput.Grid(s.batch(), s.height() / p, s.width() / p));
            batch += s.batch();
        }
        List<PositionCache.Entry> pos = new ArrayList<>(parts.size());
        try (NDManager scope = manager.newSubManager()) {
            List<NDArray> px = new ArrayList<>(parts.size());
            List<NDArray> posTensors = new ArrayList<>(parts.size());
            for (int i = 0; i < parts.size(); i++) {
                SubBatch s = parts.get(i);
                PositionCache.Entry e = positions.acquire(s.height() / p, s.width() / p);
                pos.add(e);
                posTensors.add(e.tensor());
                px.add(scope.create(inputs.get(i), new Shape(s.batch(), c.numChannels(), s.height(), s.width()), type));
            }
            boolean one = parts.size() == 1;
            String method = (one ? "forward" : "forward_grids") + (uint8 ? "_uint8" : "");
            TorchEngine.setGraphOptimize(plan.graphOptimize()); // per thread in libtorch
            NDArray[] states = module.callTensors(
                    scope,
                    method,
                    one ? px.get(0) : px,
                    one ? posTensors.get(0) : posTensors,
                    p,
                    c.numAttentionHeads(),
                    c.layerNormEps(),
                    c.useSwigluFfn(),
                    plan.scalarType(),
                    c.numHiddenLayers(),
                    wantHidden);
            NDArray t = states[states.length - 1];
            if (wantHidden) {
                for (NDArray s : states) {
                    hidden.add(floats(s));
                }
            }
            float[] summary = null;
            if (outputs.contains(Output.SUMMARY)) {
                NDList summaryParts = new NDList();
                for (int idx : c.summaryIdxs()) {
                    summaryParts.add(t.get(":, " + idx + ", :"));
                }
                summary = floats(NDArrays.concat(summaryParts, 1));
            }
            float[] features = outputs.contains(Output.FEATURES) ? floats(t.get(":, " + prefix + ":, :")) : null;
            float[] last = outputs.contains(Output.LAST_HIDDEN_STATE) ? floats(t) : null;
            return new RadioOutput(batch, d, summary, features, last, hidden, grids);
        } finally {
            pos.forEach(positions::release);
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

    /** Position-embedding tensors uploaded to the device so far: one per grid size while it stays cached. */
    long positionUploads() {
        return positions.uploads();
    }

    @Override
    public void close() {
        closed = true;
        positions.close();
        module.close();
        manager.close();
    }
}
