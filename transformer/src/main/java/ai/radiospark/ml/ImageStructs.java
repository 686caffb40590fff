package ai.radiospark.ml;

import ai.radiospark.RadioException;
import ai.radiospark.runtime.PixelSource;
import org.apache.spark.sql.Row;

/**
 * Reads the Spark {@code image} data source's struct (origin, height, width, nChannels, mode,
 * data): 8-bit pixels, row-major, channels in OpenCV order: 1 = gray (CV_8UC1, mode 0), 3 = BGR
 * (CV_8UC3, mode 16), 4 = BGRA (CV_8UC4, mode 24). Converts them to packed RGB for the pixel
 * source, without re-encoding. Alpha is dropped, as Pillow's {@code convert("RGB")} does.
 */
final class ImageStructs {
    private ImageStructs() {}

    static int originIndex(Row img) {
        try {
            return img.fieldIndex("origin");
        } catch (RuntimeException e) {
            return -1;
        }
    }

    static PixelSource.Pixels toPixels(Row img, String name, PixelSource source) {
        int height = img.getInt(img.fieldIndex("height"));
        int width = img.getInt(img.fieldIndex("width"));
        int channels = img.getInt(img.fieldIndex("nChannels"));
        int mode = img.getInt(img.fieldIndex("mode"));
        byte[] data = (byte[]) img.get(img.fieldIndex("data"));
        return source.fromRgb(toRgb(data, width, height, channels, mode, name), width, height, name);
    }

    /** Packed RGB of an image struct's data. */
    static byte[] toRgb(byte[] data, int width, int height, int channels, int mode, String name) {
        int expectedMode = switch (channels) {
            case 1 -> 0;
            case 3 -> 16;
            case 4 -> 24;
            default -> -1;
        };
        if (expectedMode < 0 || mode != expectedMode) {
            throw new RadioException("Image " + name + " has nChannels=" + channels + " and mode (OpenCV type) " + mode
                    + "; only 8-bit images are supported: gray (1 channel, mode 0), BGR (3, mode 16) or BGRA (4, mode 24), "
                    + "as spark.read.format(\"image\") makes. Read the file with binaryFile instead.");
        }
        if (width <= 0 || height <= 0 || data == null || (long) width * height * channels != data.length) {
            throw new RadioException("Image " + name + " is " + width + "x" + height + " with " + channels
                    + " channels, so its data should have " + ((long) width * height * channels) + " bytes, but has "
                    + (data == null ? "none" : data.length) + ". The image struct is corrupt; re-read the file.");
        }
        int n = width * height;
        byte[] rgb = new byte[3 * n];
        if (channels == 1) {
            for (int i = 0, o = 0; i < n; i++, o += 3) {
                byte g = data[i];
                rgb[o] = g;
                rgb[o + 1] = g;
                rgb[o + 2] = g;
            }
        } else {
            for (int i = 0, s = 0, o = 0; i < n; i++, s += channels, o += 3) {
                rgb[o] = data[s + 2];
                rgb[o + 1] = data[s + 1];
                rgb[o + 2] = data[s];
            }
        }
        return rgb;
    }
}
