package ai.radiospark.runtime;

import ai.radiospark.model.DevicePlan;
import ai.radiospark.model.PixelBytes;
import ai.radiospark.model.RadioModel;
import ai.radiospark.model.RadioOutput;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * One forward pass's pixels, packed as the model's {@link DevicePlan} asks: 8-bit when it uploads
 * uint8 ({@link DevicePlan#uint8Pixels}, a GPU) and every value packs exactly ({@link PixelBytes}),
 * a quarter of the bytes to copy and upload; else float32. The outputs are the same bit for bit. A
 * pass over several input sizes of one token count has one array per size, each size's images
 * contiguous ({@link RadioModel#forward(List, List, Set)}).
 */
public final class BatchPixels {
    private final List<RadioModel.SubBatch> parts;
    private final List<float[]> floats;
    private final List<byte[]> bytes;

    private BatchPixels(List<RadioModel.SubBatch> parts, List<float[]> floats, List<byte[]> bytes) {
        this.parts = parts;
        this.floats = floats;
        this.bytes = bytes;
    }

    /**
     * Packs images of one size.
     *
     * @param images each image's (3, height, width) float32 values, channel-major
     * @param uint8 the model's {@link DevicePlan#uint8Pixels}
     */
    public static BatchPixels of(List<float[]> images, int height, int width, boolean uint8) {
        return of(images, List.of(new RadioModel.SubBatch(images.size(), height, width)), uint8);
    }

    /**
     * Packs images of several sizes with one token count.
     *
     * @param images each image's (3, h, w) float32 values, channel-major: the first sub-batch's
     *     images, then the next one's, ...
     * @param parts the sub-batches: each one's image count and size
     * @param uint8 the model's {@link DevicePlan#uint8Pixels}
     */
    public static BatchPixels of(List<float[]> images, List<RadioModel.SubBatch> parts, boolean uint8) {
        List<RadioModel.SubBatch> copy = List.copyOf(parts);
        if (uint8) {
            List<byte[]> packed = new ArrayList<>(copy.size());
            int i = 0;
            boolean exact = true;
            for (RadioModel.SubBatch s : copy) {
                int per = 3 * s.height() * s.width();
                byte[] b = new byte[s.batch() * per];
                for (int j = 0; j < s.batch() && exact; j++) {
                    exact = PixelBytes.pack(images.get(i + j), 0, b, j * per, per);
                }
                if (!exact) {
                    break;
                }
                packed.add(b);
                i += s.batch();
            }
            if (exact) {
                return new BatchPixels(copy, null, packed);
            }
        }
        List<float[]> out = new ArrayList<>(copy.size());
        int i = 0;
        for (RadioModel.SubBatch s : copy) {
            int per = 3 * s.height() * s.width();
            if (s.batch() == 1 && images.get(i).length == per) {
                out.add(images.get(i)); // one image: its own values, no copy
            } else {
                float[] f = new float[s.batch() * per];
                for (int j = 0; j < s.batch(); j++) {
                    System.arraycopy(images.get(i + j), 0, f, j * per, per);
                }
                out.add(f);
            }
            i += s.batch();
        }
        return new BatchPixels(copy, out, null);
    }

    /** Whether the pass uploads 8-bit pixels. */
    public boolean uint8() {
        return bytes != null;
    }

    /** Runs the pass on {@code model}. */
    public RadioOutput forward(RadioModel model, Set<RadioModel.Output> outputs) {
        return bytes != null ? model.forwardUint8(bytes, parts, outputs) : model.forward(floats, parts, outputs);
    }
}
