package ai.radiospark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.Function;

/**
 * Hands a model's weights to its forward script ({@link RadioScript}), one tensor at a time:
 * {@link HeadTensor}s first, then every block's {@link BlockTensor}s, each in its enum's declaration
 * order, which the script's {@code add_weight} copies (converted to the compute type) into the module.
 *
 * <p>Each weight's host copy (a direct buffer, when the weights are on the heap or not float32) is
 * freed as soon as the module holds the weight on the device, before the next weight is made: the
 * build's direct memory peaks at about one weight, not the whole model (which, on top of the heap
 * copy and the CUDA libraries, can exceed a YARN container's memory overhead).
 */
final class ScriptWeights {
    private final RadioWeights weights;
    private final NDManager tmp;
    /** The direct copy behind the weight being made, freed once the module has copied it. */
    private ByteBuffer host;
    /** The checkpoint file's map behind the weight being made, unmapped once the module has copied it. */
    private ByteBuffer mapped;

    private ScriptWeights(RadioWeights weights, NDManager tmp) {
        this.weights = weights;
        this.tmp = tmp;
    }

    /**
     * Hands every weight of {@code weights} to {@code module}'s {@code add_weight} with {@code plan}'s
     * compute type and linear backend.
     *
     * @throws IllegalStateException if the script kept another number of tensors than the enums name
     */
    static void upload(TorchEngine.Module module, NDManager manager, RadioWeights weights, DevicePlan plan) {
        RadioConfig c = weights.config();
        int cdt = plan.scalarType();
        boolean onednn = plan.linear() == DevicePlan.Linear.ONEDNN;
        long kept = 0;
        long sent = 0;
        for (HeadTensor t : HeadTensor.values()) {
            kept = add(module, manager, weights, cdt, onednn, w -> w.head(t));
            sent++;
        }
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            for (BlockTensor t : BlockTensor.values()) {
                int block = i;
                kept = add(module, manager, weights, cdt, onednn, w -> w.block(t, block));
                sent++;
            }
        }
        if (kept != RadioScript.weightCount(c.numHiddenLayers()) || kept != sent) {
            throw new IllegalStateException("add_weight kept " + kept + " of " + sent + " tensors");
        }
    }

    /** Makes one weight, hands it to the module, and frees its tensor and host copy. */
    private static long add(
            TorchEngine.Module module,
            NDManager manager,
            RadioWeights weights,
            int cdt,
            boolean onednn,
            Function<ScriptWeights, NDArray> make) {
        NDManager tmp = manager.newSubManager();
        ScriptWeights w = new ScriptWeights(weights, tmp);
        try {
            return module.callLong("add_weight", make.apply(w), cdt, onednn);
        } finally {
            tmp.close(); // the tensor over the host copy (or the map) dies first
            NativeBuffers.free(w.host);
            NativeBuffers.unmap(w.mapped);
        }
    }

    private NDArray head(HeadTensor t) {
        RadioConfig c = weights.config();
        return switch (t) {
            case PATCH -> param("patch");
            case CLS_TOKEN -> param("cls_token");
            case NORM_MEAN -> tmp.create(c.normMean(), new Shape(1, c.numChannels(), 1, 1));
            case NORM_STD -> tmp.create(c.normStd(), new Shape(1, c.numChannels(), 1, 1));
        };
    }

    private NDArray block(BlockTensor t, int block) {
        String key = t.key(block);
        if (weights.tensors().containsKey(key)) {
            return param(key);
        }
        Shape shape = new Shape(t.fillLength(weights.config().hiddenSize()));
        return switch (t.fill()) {
            case ZEROS -> tmp.zeros(shape);
            case ONES -> tmp.ones(shape);
            case NONE -> throw new IllegalStateException("no tensor " + key);
        };
    }

    /**
     * A weight as a tensor. float32 weights go to libtorch as stored, straight from a memory map of
     * the checkpoint made for this weight alone and unmapped once add_weight has copied it, so that the
     * pages read leave the process's resident memory with it: no float[] of the whole model on the heap,
     * which took 0.4 s and a heap the model's size per build for the base shape, and no second copy of
     * the model resident in the map. Heap bytes (a broadcast checkpoint) and other types (converted
     * to float32 first) pass through one direct buffer, freed once the module has copied the weight.
     */
    private NDArray param(String name) {
        Tensor t = weights.tensor(name);
        Shape shape = new Shape(t.shape());
        if (t.type() == TensorType.F32 && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
            mapped = t.openMap();
            // position 0: libtorch reads from the buffer's address
            ByteBuffer data = mapped != null ? mapped.duplicate() : t.data().slice();
            if (!data.isDirect()) {
                data = NativeBuffers.copyOf(data);
                host = data;
            }
            return tmp.create(data, shape, DataType.FLOAT32);
        }
        host = NativeBuffers.of(t.floats());
        return tmp.create(host, shape, DataType.FLOAT32);
    }
}
