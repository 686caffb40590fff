package ai.radiospark.image;

import ai.radiospark.RadioException;
import com.twelvemonkeys.imageio.stream.ByteArrayImageInputStream;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.IntBinaryOperator;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.event.IIOReadWarningListener;
import javax.imageio.stream.ImageInputStream;

/**
 * Decodes image bytes to packed 8-bit RGB with guard rails: empty input, unknown formats, truncated
 * files and images over the pixel limit are refused with a {@link RadioException} naming the file.
 * The format is recognised from the magic bytes, never from the file name.
 *
 * <table>
 *   <caption>format, decoder, why</caption>
 *   <tr><th>format</th><th>decoder</th><th>why</th></tr>
 *   <tr><td>JPEG</td><td>TwelveMonkeys JPEGImageReader (wraps the JDK's libjpeg decoder)</td>
 *       <td>the JDK reader alone fails on CMYK/YCCK and some Adobe-marker files and on many
 *       slightly broken files; TwelveMonkeys handles them and reads CMYK as raw samples</td></tr>
 *   <tr><td>PNG</td><td>JDK PNGImageReader</td><td>complete (1-16 bit, gray, palette, alpha,
 *       interlace); no TwelveMonkeys alternative</td></tr>
 *   <tr><td>GIF</td><td>JDK GIFImageReader, first frame</td><td>complete; the only one</td></tr>
 *   <tr><td>BMP</td><td>TwelveMonkeys BMPImageReader</td><td>more header variants (OS/2, V4/V5,
 *       RLE, bitfields) than the JDK's</td></tr>
 *   <tr><td>WebP</td><td>TwelveMonkeys WebPImageReader</td><td>the JDK has none</td></tr>
 *   <tr><td>TIFF</td><td>TwelveMonkeys TIFFImageReader</td><td>more compressions (JPEG-in-TIFF,
 *       LZW predictors, Deflate, PackBits) and CMYK than the JDK's TIFF reader</td></tr>
 * </table>
 *
 * <p>Readers are instantiated from their provider class directly (falling back to ImageIO's
 * registry), so the choice does not depend on which plugins the global registry happened to scan.
 * One reader per call: instances of this class are immutable and thread-safe.
 *
 * <p>Common JPEGs (sequential or progressive YCbCr, gray) first take a faster path with the same
 * output: {@link JdkJpegDecoder} (the JDK reader that TwelveMonkeys wraps, reused per thread). Any
 * other file, and any file that path fails on, takes the general path described above.
 */
final class ImageDecoder {
    static final long DEFAULT_MAX_PIXELS = 100_000_000L;

    private final long maxPixels;
    private final boolean exifOrientation;
    private final boolean jdkJpeg;

    ImageDecoder(long maxPixels, boolean exifOrientation) {
        this(maxPixels, exifOrientation, true);
    }

    private ImageDecoder(long maxPixels, boolean exifOrientation, boolean jdkJpeg) {
        this.maxPixels = maxPixels;
        this.exifOrientation = exifOrientation;
        this.jdkJpeg = jdkJpeg;
    }

    /** The same decoder without the JPEG fast path (for tests: the general path alone). */
    ImageDecoder withoutJdkJpeg() {
        return new ImageDecoder(maxPixels, exifOrientation, false);
    }

    /**
     * Decodes {@code bytes}; {@code subsampling} (may be null) maps the declared (width, height) to an
     * ImageIO source subsampling factor (1 = full resolution).
     */
    DecodedImage decode(byte[] bytes, String name, IntBinaryOperator subsampling) {
        if (bytes == null || bytes.length == 0) {
            throw new RadioException("Cannot decode image " + name + ": the file is empty (0 bytes). "
                    + "Check that it was written completely, or leave it out of the input.");
        }
        ImageFormat format = ImageFormat.sniff(bytes);
        if (format == null) {
            throw new RadioException("Cannot decode image " + name + ": its content is not a JPEG, PNG, "
                    + "GIF, BMP, WebP or TIFF image (first bytes: " + firstBytes(bytes) + "). "
                    + "Convert it to one of these formats, or leave it out of the input.");
        }
        if (format == ImageFormat.JPEG && jdkJpeg) {
            DecodedImage fast = JdkJpegDecoder.decode(bytes, maxPixels, subsampling);
            if (fast != null) {
                return exifOrientation ? ExifOrientation.apply(fast, ExifOrientation.read(bytes)) : fast;
            }
        }
        ImageReader reader;
        try {
            reader = format.newReader();
        } catch (IOException e) {
            reader = null;
        }
        if (reader == null) {
            throw new RadioException("Cannot decode image " + name + ": no ImageIO reader for "
                    + format + " is available. Put the TwelveMonkeys imageio-" + format.formatName
                    + " jar on the class path.");
        }
        List<String> warnings = new ArrayList<>();
        try (ImageInputStream in = new ByteArrayImageInputStream(bytes)) {
            reader.setInput(in, true, true);
            IIOReadWarningListener listener = (source, warning) -> warnings.add(warning);
            reader.addIIOReadWarningListener(listener);
            int width;
            int height;
            try {
                width = reader.getWidth(0);
                height = reader.getHeight(0);
            } catch (IOException | RuntimeException e) {
                throw new RadioException(
                        "Cannot decode image " + name + ": its " + format
                                + " header is unreadable (" + describe(e) + "). The file is corrupt or truncated; "
                                + "re-export it or leave it out of the input.",
                        e);
            }
            long pixels = (long) width * height;
            if (width <= 0 || height <= 0) {
                throw new RadioException("Cannot decode image " + name + ": its header declares a size of " + width
                        + "x" + height + " pixels. The file is corrupt; leave it out of the input.");
            }
            if (pixels > maxPixels) {
                throw new RadioException(String.format(
                        Locale.ROOT,
                        "Refusing to decode image %s: its header declares %dx%d = %,d pixels, over the limit "
                                + "of %,d pixels (protects executors from decompression bombs and out-of-memory). "
                                + "Downscale the image, or raise the limit: --max-pixels of radio extract or radio preprocess, "
                                + "maxPixels of RadioEmbedder or ImagePreprocessor.",
                        name,
                        width,
                        height,
                        pixels,
                        maxPixels));
            }
            ImageReadParam param = reader.getDefaultReadParam();
            int factor = subsampling == null ? 1 : Math.max(1, subsampling.applyAsInt(width, height));
            if (factor > 1) {
                param.setSourceSubsampling(factor, factor, 0, 0);
            }
            JpegColourSpace jpegColour = format == ImageFormat.JPEG ? JpegColourSpace.of(bytes) : JpegColourSpace.OTHER;
            BufferedImage image = null;
            java.awt.image.Raster raw = null;
            try {
                if (jpegColour != JpegColourSpace.OTHER) {
                    // Raw samples + our bit-exact copy of libjpeg's YCbCr->RGB: 2-3x faster than read(),
                    // whose copy into a BGR BufferedImage dominates the decode time.
                    raw = reader.readRaster(0, param);
                } else {
                    image = reader.read(0, param);
                }
            } catch (IOException | RuntimeException e) {
                throw new RadioException(
                        "Cannot decode image " + name + ": the " + format
                                + " data is corrupt or truncated (" + describe(e) + "). Re-export the image or leave "
                                + "it out of the input.",
                        e);
            }
            for (String warning : warnings) {
                if (isTruncation(warning)) {
                    throw new RadioException("Cannot decode image " + name + ": the " + format
                            + " data ends early (decoder: \"" + warning + "\"); the file is truncated. "
                            + "Re-download or re-export it, or leave it out of the input.");
                }
            }
            DecodedImage decoded = raw != null
                    ? new DecodedImage(
                            raw.getWidth(), raw.getHeight(), RasterToRgb.fromJpegRaster(raw, jpegColour), width, height)
                    : new DecodedImage(image.getWidth(), image.getHeight(), RasterToRgb.convert(image), width, height);
            if (exifOrientation && format == ImageFormat.JPEG) {
                decoded = ExifOrientation.apply(decoded, ExifOrientation.read(bytes));
            }
            return decoded;
        } catch (IOException e) {
            throw new RadioException("Cannot decode image " + name + ": " + describe(e), e);
        } finally {
            reader.dispose();
        }
    }

    static boolean isTruncation(String warning) {
        String w = warning.toLowerCase(Locale.ROOT);
        return w.contains("premature end")
                || w.contains("end of file")
                || w.contains("eof")
                || w.contains("truncat")
                || w.contains("unexpected end");
    }

    private static String describe(Throwable e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }

    private static String firstBytes(byte[] b) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < Math.min(8, b.length); i++) {
            s.append(String.format(Locale.ROOT, "%02x", b[i] & 0xFF));
            if (i < Math.min(8, b.length) - 1) {
                s.append(' ');
            }
        }
        return s.toString();
    }
}
