package ai.radiospark.runtime;

import java.io.Serializable;

/**
 * The decode-and-resize step of {@code ai.radiospark.ml.RadioEmbedder}, kept behind this seam so the stage does not
 * depend on how images are decoded. Implementations are built once per partition on the executor
 * (by a serializable {@link Factory}) and must be thread-safe: several decoder threads share one.
 */
public interface PixelSource {
    /** Decodes encoded image bytes (JPEG, PNG, ...) and resizes them as the {@link Spec} says. */
    Pixels decode(byte[] encoded, String name);

    /**
     * Resizes already-decoded pixels: packed 8-bit RGB, row-major, 3 bytes per pixel (the Spark
     * {@code image} source's data, converted from BGR(A)/gray). No re-encoding.
     */
    Pixels fromRgb(byte[] rgb, int width, int height, String name);

    /**
     * One image's (3, height, width) float32 values in [0, 1], channel-major, not normalised, and
     * the size of the image before resizing.
     */
    record Pixels(int height, int width, float[] chw, int originalHeight, int originalWidth) {}

    /** How to size images: the stage's imageSize, resizeMode, maxPixels and the model's patch size. */
    record Spec(int height, int width, String resizeMode, int patchSize, long maxPixels) implements Serializable {}

    /** Builds a {@link PixelSource} on the executor. */
    interface Factory extends Serializable {
        PixelSource create(Spec spec);
    }
}
