package ai.radiospark.runtime;

import ai.radiospark.image.ImagePreprocessor;
import ai.radiospark.image.PreprocessedImage;
import ai.radiospark.image.ResizeMode;

/**
 * The production image decoder of {@code ai.radiospark.ml.RadioEmbedder}: {@link ImagePreprocessor} (decode, RGB,
 * Pillow-exact bicubic resize, rescale to [0, 1]), built once per partition.
 *
 * <p>imageSize means: fixed: the output H x W; shortest-edge: min(H, W) is the shorter side's
 * target; native and native-buckets: max(H, W) caps the longer side.
 */
public final class DefaultPixelSource implements PixelSource {
    /** Builds a {@code DefaultPixelSource} per spec (the stage's default). */
    public static final PixelSource.Factory FACTORY = DefaultPixelSource::new;

    private final ImagePreprocessor pre;

    /** A decoder for {@code spec}: its size, resize mode, patch size and pixel limit. */
    public DefaultPixelSource(Spec spec) {
        ResizeMode mode = ResizeMode.parse(spec.resizeMode());
        ImagePreprocessor.Builder b = ImagePreprocessor.builder()
                .optResizeMode(mode)
                .optPatchSize(spec.patchSize())
                .optMaxPixels(spec.maxPixels());
        switch (mode) {
            case FIXED -> b.optSize(spec.height(), spec.width());
            case SHORTEST_EDGE -> b.optShortestEdge(Math.min(spec.height(), spec.width()));
            case NATIVE, NATIVE_BUCKETS -> b.optMaxEdge(Math.max(spec.height(), spec.width()));
            default -> throw new AssertionError(mode);
        }
        this.pre = b.build();
    }

    @Override
    public Pixels decode(byte[] encoded, String name) {
        return pixels(pre.preprocess(encoded, name));
    }

    @Override
    public Pixels fromRgb(byte[] rgb, int width, int height, String name) {
        return pixels(pre.preprocessRgb(rgb, width, height, name));
    }

    private static Pixels pixels(PreprocessedImage p) {
        float[] v = p.pixelValues();
        if (p.offset() != 0 || v.length != p.length()) {
            v = p.toArray();
        }
        return new Pixels(p.height(), p.width(), v, p.originalHeight(), p.originalWidth());
    }
}
