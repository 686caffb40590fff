package ai.radiospark.runtime;

import ai.radiospark.model.DevicePlan;
import ai.radiospark.model.PixelBytes;
import ai.radiospark.model.RadioModel;
import ai.radiospark.model.RadioOutput;
import java.util.List;
import java.util.Set;

/**
 * One forward pass's pixels, packed as the model's {@link DevicePlan} asks: 8-bit when it uploads
 * uint8 ({@link DevicePlan#uint8Pixels}, a GPU) and every value packs exactly ({@link PixelBytes}),
 * a quarter of the bytes to copy and upload; else float32. The outputs are the same bit for bit.
 */
public final class BatchPixels {
    private final int batch;
    private final int height;
    private final int width;
    private final float[] floats;
    private final byte[] bytes;

    private BatchPixels(int batch, int height, int width, float[] floats, byte[] bytes) {
        this.batch = batch;
        this.height = height;
        this.width = width;
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
        int b = images.size();
        int per = 3 * height * width;
        if (uint8) {
            byte[] bytes = new byte[b * per];
            boolean exact = true;
            for (int j = 0; j < b && exact; j++) {
                exact = PixelBytes.pack(images.get(j), 0, bytes, j * per, per);
            }
            if (exact) {
                return new BatchPixels(b, height, width, null, bytes);
            }
        }
        if (b == 1 && images.get(0).length == per) {
            return new BatchPixels(1, height, width, images.get(0), null); // one image: its own values, no copy
        }
        float[] floats = new float[b * per];
        for (int j = 0; j < b; j++) {
            System.arraycopy(images.get(j), 0, floats, j * per, per);
        }
        return new BatchPixels(b, height, width, floats, null);
    }

    /** Whether the pass uploads 8-bit pixels. */
    public boolean uint8() {
        return bytes != null;
    }

    /** Runs the pass on {@code model}. */
    public RadioOutput forward(RadioModel model, Set<RadioModel.Output> outputs) {
        return bytes != null
                ? model.forwardUint8(bytes, batch, height, width, outputs)
                : model.forward(floats, batch, height, width, outputs);
    }
}
