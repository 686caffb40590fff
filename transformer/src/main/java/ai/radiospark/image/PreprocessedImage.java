package ai.radiospark.image;

/**
 * One preprocessed image: {@code pixelValues[offset, offset + length())} holds float32 values in
 * [0, 1], channel-major (C, H, W) with C = 3 (R, G, B), not normalised (the model's input
 * conditioner normalises: normalise exactly once).
 *
 * <pre>{@code
 * PreprocessedImage p = preprocessor.preprocess(bytes, "cat.jpg");
 * float red00 = p.pixelValues()[p.offset()];
 * }</pre>
 *
 * @param name the file name given to the preprocessor (for messages)
 * @param height output height in pixels (after resize)
 * @param width output width in pixels (after resize)
 * @param originalHeight height declared by the file (after EXIF orientation, if applied)
 * @param originalWidth width declared by the file (after EXIF orientation, if applied)
 * @param pixelValues the array holding the values: a fresh one, or the caller's batch buffer
 * @param offset where this image's values start in {@code pixelValues}
 */
public record PreprocessedImage(
        String name, int height, int width, int originalHeight, int originalWidth, float[] pixelValues, int offset) {

    /** Number of floats of this image: 3 * height * width. */
    public int length() {
        return 3 * height * width;
    }

    /** A copy of this image's values, (3, height, width) channel-major. */
    public float[] toArray() {
        return java.util.Arrays.copyOfRange(pixelValues, offset, offset + length());
    }
}
