package ai.radiospark.image;

import com.twelvemonkeys.imageio.stream.ByteArrayImageInputStream;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.DataBufferByte;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.IntBinaryOperator;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.spi.IIORegistry;
import javax.imageio.spi.ImageReaderSpi;

/**
 * The fast path for the common JPEGs: the JDK's own JPEG reader (the libjpeg that TwelveMonkeys
 * wraps), one instance reused per thread, reading the file without its ICC profile segments.
 *
 * <ul>
 *   <li>Sequential YCbCr: read into an RGB-ordered byte raster, so libjpeg itself converts to RGB
 *       (its integer formula, SIMD in libjpeg-turbo) and each scanline is copied straight into
 *       our packed RGB array.</li>
 *   <li>Progressive YCbCr and grayscale: raw samples, converted by {@link RasterToRgb} as on the
 *       general path (the JDK reader converts every progressive pass, so converting once is
 *       faster).</li>
 * </ul>
 *
 * <p>The output equals the general path's (TwelveMonkeys' raw raster + {@link RasterToRgb}): same
 * libjpeg, same coefficients, same upsampling; the YCbCr conversion of the first case is libjpeg's
 * own, which {@link RasterToRgb} reproduces to the bit. It is only used where libjpeg and the JDK
 * reader agree that the data is YCbCr (the JDK guesses differently from libjpeg for files with an
 * Adobe marker of transform 0 or 2, and for unmarked files whose components are not subsampled),
 * and ICC profiles are left out so that the JDK reader does not colour-convert (Pillow does not).
 *
 * <p>{@link #decode} returns null for any other file and whenever anything goes wrong (unreadable
 * header, over the pixel limit, corrupt or truncated data): the caller then takes the general
 * path, which decodes what it can and reports errors exactly as before.
 */
final class JdkJpegDecoder {
    private static final String JDK_SPI = "com.sun.imageio.plugins.jpeg.JPEGImageReaderSpi";
    private static final ImageReaderSpi SPI = findSpi();
    private static final ThreadLocal<ImageReader> READER = new ThreadLocal<>();
    private static final ColorModel RGB = new ComponentColorModel(
            ColorSpace.getInstance(ColorSpace.CS_sRGB), false, false, ColorModel.OPAQUE, DataBuffer.TYPE_BYTE);
    private static final int[] RGB_BANDS = {0, 1, 2};

    private JdkJpegDecoder() {}

    /** How a file is read, or null: not for this path. */
    enum Mode {
        /** Sequential YCbCr read into RGB by libjpeg. */
        RGB,
        /** Raw YCbCr samples (progressive). */
        RAW_YCBCR,
        /** Raw gray samples. */
        RAW_GRAY
    }

    static boolean available() {
        return SPI != null;
    }

    /**
     * Decodes {@code jpeg} (already known to start like a JPEG), or returns null: not a file for
     * this path, or anything failed (see the class comment).
     */
    static DecodedImage decode(byte[] jpeg, long maxPixels, IntBinaryOperator subsampling) {
        if (SPI == null) {
            return null;
        }
        Header header = Header.scan(jpeg);
        Mode mode = header == null ? null : header.mode(JpegColourSpace.of(jpeg));
        if (mode == null) {
            return null;
        }
        ImageReader reader = READER.get();
        boolean reusable = false;
        try {
            if (reader == null) {
                reader = SPI.createReaderInstance();
            }
            reader.setInput(new ByteArrayImageInputStream(header.withoutIcc(jpeg)), true, true);
            List<String> warnings = new ArrayList<>(0);
            reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
            int width = reader.getWidth(0);
            int height = reader.getHeight(0);
            if (width != header.width
                    || height != header.height
                    || width <= 0
                    || height <= 0
                    || (long) width * height > maxPixels) {
                reusable = true;
                return null; // The general path reports it.
            }
            int factor = subsampling == null ? 1 : Math.max(1, subsampling.applyAsInt(width, height));
            ImageReadParam param = reader.getDefaultReadParam();
            if (factor > 1) {
                param.setSourceSubsampling(factor, factor, 0, 0);
            }
            DecodedImage decoded;
            if (mode == Mode.RGB) {
                int w = (width + factor - 1) / factor;
                int h = (height + factor - 1) / factor;
                byte[] rgb = new byte[3 * w * h];
                WritableRaster raster = Raster.createInterleavedRaster(
                        new DataBufferByte(rgb, rgb.length), w, h, 3 * w, 3, RGB_BANDS, null);
                param.setDestination(new BufferedImage(RGB, raster, false, null));
                BufferedImage image = reader.read(0, param);
                if (image.getRaster() != raster) {
                    return null;
                }
                decoded = new DecodedImage(w, h, rgb, width, height);
            } else {
                Raster raw = reader.readRaster(0, param);
                decoded = new DecodedImage(
                        raw.getWidth(),
                        raw.getHeight(),
                        RasterToRgb.fromJpegRaster(
                                raw, mode == Mode.RAW_GRAY ? JpegColourSpace.GRAY : JpegColourSpace.YCBCR),
                        width,
                        height);
            }
            reusable = true;
            for (String warning : warnings) {
                if (ImageDecoder.isTruncation(warning)) {
                    return null; // The general path reports it.
                }
            }
            return decoded;
        } catch (IOException | RuntimeException e) {
            return null; // The general path decodes it if it can, or reports it.
        } finally {
            if (reader != null) {
                release(reader, reusable);
            }
        }
    }

    /** Keeps {@code reader} for this thread's next image, or disposes of it. */
    private static void release(ImageReader reader, boolean reusable) {
        if (reusable) {
            try {
                reader.reset();
                READER.set(reader);
                return;
            } catch (RuntimeException e) {
                // Not reusable after all.
            }
        }
        READER.remove();
        try {
            reader.dispose();
        } catch (RuntimeException e) {
            // Already unusable; nothing more to free.
        }
    }

    private static ImageReaderSpi findSpi() {
        try {
            Iterator<ImageReaderSpi> it =
                    IIORegistry.getDefaultInstance().getServiceProviders(ImageReaderSpi.class, true);
            while (it.hasNext()) {
                ImageReaderSpi s = it.next();
                if (s.getClass().getName().equals(JDK_SPI)) {
                    return s;
                }
            }
        } catch (RuntimeException | LinkageError e) {
            // No JDK JPEG reader: the general path does everything.
        }
        return null;
    }

    /**
     * What libjpeg (and the JDK reader) will decide from the markers before the first scan, read
     * the way libjpeg reads them (jdmarker.c). Null from {@link #scan} for anything unusual.
     */
    static final class Header {
        int sof = -1;
        int precision;
        int width;
        int height;
        int components;
        final int[] ids = new int[4];
        final int[] hSampling = new int[4];
        final int[] vSampling = new int[4];
        boolean jfif;
        int adobeTransform = -1;
        /** APP0 "JFIF" or APP14 "Adobe" segments too short for libjpeg to take them as such. */
        boolean oddMarkers;
        /** [start, end) of each APP2 ICC_PROFILE segment. */
        final List<int[]> icc = new ArrayList<>(0);

        static Header scan(byte[] b) {
            Header h = new Header();
            int p = 2;
            try {
                while (true) {
                    if ((b[p] & 0xFF) != 0xFF) {
                        return null;
                    }
                    int marker = b[p + 1] & 0xFF;
                    if (marker == 0xFF) {
                        p++; // fill byte
                        continue;
                    }
                    if (marker == 0xDA) {
                        return h.sof < 0 ? null : h;
                    }
                    if (marker == 0xD9 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {
                        return null; // no length field here: unusual before the first scan
                    }
                    int len = ((b[p + 2] & 0xFF) << 8) | (b[p + 3] & 0xFF);
                    if (len < 2 || p + 2 + len > b.length) {
                        return null;
                    }
                    int data = p + 4;
                    int dataLen = len - 2;
                    if (marker == 0xE0 && startsWith(b, data, dataLen, "JFIF\0")) {
                        if (dataLen >= 14) {
                            h.jfif = true;
                        } else {
                            h.oddMarkers = true;
                        }
                    } else if (marker == 0xEE && startsWith(b, data, dataLen, "Adobe")) {
                        if (dataLen >= 12) {
                            h.adobeTransform = b[data + 11] & 0xFF;
                        } else {
                            h.oddMarkers = true;
                        }
                    } else if (marker == 0xE2 && startsWith(b, data, dataLen, "ICC_PROFILE\0")) {
                        h.icc.add(new int[] {p, p + 2 + len});
                    } else if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
                        if (h.sof >= 0 || dataLen < 6) {
                            return null;
                        }
                        h.sof = marker;
                        h.precision = b[data] & 0xFF;
                        h.height = ((b[data + 1] & 0xFF) << 8) | (b[data + 2] & 0xFF);
                        h.width = ((b[data + 3] & 0xFF) << 8) | (b[data + 4] & 0xFF);
                        h.components = b[data + 5] & 0xFF;
                        if (h.components < 1 || h.components > 4 || dataLen != 6 + 3 * h.components) {
                            return null;
                        }
                        for (int c = 0; c < h.components; c++) {
                            h.ids[c] = b[data + 6 + 3 * c] & 0xFF;
                            h.hSampling[c] = (b[data + 7 + 3 * c] & 0xFF) >> 4;
                            h.vSampling[c] = b[data + 7 + 3 * c] & 0x0F;
                        }
                    }
                    p += 2 + len;
                }
            } catch (ArrayIndexOutOfBoundsException e) {
                return null;
            }
        }

        private static boolean startsWith(byte[] b, int at, int length, String id) {
            if (length < id.length()) {
                return false;
            }
            for (int i = 0; i < id.length(); i++) {
                if (b[at + i] != id.charAt(i)) {
                    return false;
                }
            }
            return true;
        }

        /** {@code colour} is what the general path decides ({@link JpegColourSpace#of}). */
        Mode mode(JpegColourSpace colour) {
            boolean huffman = sof == 0xC0 || sof == 0xC1 || sof == 0xC2;
            if (!huffman || precision != 8 || oddMarkers || width == 0 || height == 0) {
                return null;
            }
            if (components == 1 && colour == JpegColourSpace.GRAY) {
                return Mode.RAW_GRAY;
            }
            if (components != 3 || colour != JpegColourSpace.YCBCR) {
                return null;
            }
            if (sof == 0xC2) {
                return Mode.RAW_YCBCR;
            }
            // The JDK reader takes YCbCr data to RGB only where it agrees with libjpeg that it is YCbCr:
            // an Adobe marker must say transform 1, and unmarked data must have subsampled components.
            boolean jdkYcbcr = adobeTransform >= 0 ? adobeTransform == 1 : (jfif || subsampled());
            return jdkYcbcr ? Mode.RGB : null;
        }

        private boolean subsampled() {
            return hSampling[1] != hSampling[0]
                    || hSampling[2] != hSampling[0]
                    || vSampling[1] != vSampling[0]
                    || vSampling[2] != vSampling[0];
        }

        /** The file without its ICC profile segments (the file itself when it has none). */
        byte[] withoutIcc(byte[] jpeg) {
            if (icc.isEmpty()) {
                return jpeg;
            }
            int removed = 0;
            for (int[] s : icc) {
                removed += s[1] - s[0];
            }
            byte[] out = new byte[jpeg.length - removed];
            int from = 0;
            int to = 0;
            for (int[] s : icc) {
                System.arraycopy(jpeg, from, out, to, s[0] - from);
                to += s[0] - from;
                from = s[1];
            }
            System.arraycopy(jpeg, from, out, to, jpeg.length - from);
            return out;
        }
    }
}
