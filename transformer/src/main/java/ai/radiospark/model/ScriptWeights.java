package ai.radiospark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Hands a model's weights to its forward script ({@link RadioScript}): one list, {@link HeadTensor}s
 * first, then every block's {@link BlockTensor}s, each in its enum's declaration order, which the
 * script's {@code set_weights} copies (converted to the compute type) into the module.
 */
final class ScriptWeights {
    private final RadioWeights weights;
    private final NDManager tmp;
    /** Direct copies of heap weights, freed once set_weights has copied them. */
    private final List<ByteBuffer> scratch;

    private ScriptWeights(RadioWeights weights, NDManager tmp, List<ByteBuffer> scratch) {
        this.weights = weights;
        this.tmp = tmp;
        this.scratch = scratch;
    }

    /**
     * Builds the weight list of {@code weights} and hands it to {@code module}'s {@code set_weights}
     * with {@code plan}'s compute type and linear backend.
     *
     * @throws IllegalStateException if the script kept another number of tensors than the enums name
     */
    static void upload(TorchEngine.Module module, NDManager manager, RadioWeights weights, DevicePlan plan) {
        RadioConfig c = weights.config();
        List<ByteBuffer> scratch = new ArrayList<>();
        try (NDManager tmp = manager.newSubManager()) {
            ScriptWeights w = new ScriptWeights(weights, tmp, scratch);
            List<NDArray> list = new ArrayList<>();
            for (HeadTensor t : HeadTensor.values()) {
                list.add(w.head(t));
            }
            for (int i = 0; i < c.numHiddenLayers(); i++) {
                for (BlockTensor t : BlockTensor.values()) {
                    list.add(w.block(t, i));
                }
            }
            long kept =
                    module.callLong("set_weights", list, plan.scalarType(), plan.linear() == DevicePlan.Linear.ONEDNN);
            if (kept != RadioScript.weightCount(c.numHiddenLayers()) || kept != list.size()) {
                throw new IllegalStateException("set_weights kept " + kept + " of " + list.size() + " tensors");
            }
        } finally {
            // set_weights copied the weights, and the closed sub-manager released its tensors over these buffers.
            scratch.forEach(NativeBuffers::free);
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
     * A weight as a tensor. float32 weights go to libtorch as stored, straight from the checkpoint's
     * memory map (set_weights copies them): no float[] of the whole model on the heap, which took 0.4 s
     * and a heap the model's size per build for the base shape. Heap bytes (a broadcast checkpoint)
     * pass through one direct buffer, freed once the model is built; other types are converted to
     * float32 first.
     */
    private NDArray param(String name) {
        Tensor t = weights.tensor(name);
        Shape shape = new Shape(t.shape());
        if (t.type() == TensorType.F32 && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
            ByteBuffer data = t.data().slice(); // position 0: libtorch reads from the buffer's address
            if (!data.isDirect()) {
                data = NativeBuffers.copyOf(data);
                scratch.add(data);
            }
            return tmp.create(data, shape, DataType.FLOAT32);
        }
        return tmp.create(t.floats(), shape);
    }
}
