package ai.radiospark.image;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentSampleModel;
import java.awt.image.DataBuffer;
import java.awt.image.DataBufferByte;
import java.awt.image.DataBufferInt;
import java.awt.image.DataBufferUShort;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.awt.image.SampleModel;
import java.awt.image.SinglePixelPackedSampleModel;

/**
 * Converts any decoded image to packed 8-bit RGB the way Pillow's {@code convert("RGB")} does:
 * gray is replicated, alpha is dropped (not composited), palettes are expanded, CMYK uses Pillow's
 * naive formula {@code R = (255 - C) * (255 - K) / 255}, 16-bit samples are scaled to 8 bits with
 * {@code round(v / 257)}. Colour-managed conversions (gamma of linear gray, ICC profiles) are
 * deliberately NOT applied, because Pillow does not apply them either.
 *
 * <p>Common layouts (interleaved byte/ushort rasters such as TYPE_3BYTE_BGR, TYPE_4BYTE_ABGR,
 * TYPE_BYTE_GRAY, TYPE_USHORT_GRAY, and packed int rasters such as TYPE_INT_RGB/ARGB/BGR) are read
 * straight from the data buffer; anything else goes through {@link Raster#getPixels} row by row.
 */
final class RasterToRgb {
    private RasterToRgb() {}

    static byte[] convert(BufferedImage image) {
        ColorModel cm = image.getColorModel();
        Raster raster = image.getRaster();
        int w = image.getWidth();
        int h = image.getHeight();
        byte[] out = new byte[w * h * 3];
        if (cm instanceof IndexColorModel) {
            indexed(raster, (IndexColorModel) cm, w, h, out);
            return out;
        }
        int csType = cm.getColorSpace().getType();
        int bands = raster.getNumBands();
        boolean cmyk = csType == ColorSpace.TYPE_CMYK && bands >= 4;
        boolean gray = !cmyk && (csType == ColorSpace.TYPE_GRAY || bands < 3);
        if (!cmyk && !gray && csType != ColorSpace.TYPE_RGB) {
            // Unusual colour space (e.g. YCbCr, Lab, a CMYK variant): let Java2D convert it to sRGB.
            viaRgbInts(image, w, h, out);
            return out;
        }
        SampleModel sm = raster.getSampleModel();
        boolean noParent = raster.getParent() == null
                && raster.getSampleModelTranslateX() == 0
                && raster.getSampleModelTranslateY() == 0;
        if (noParent && sm instanceof ComponentSampleModel && !cmyk) {
            ComponentSampleModel csm = (ComponentSampleModel) sm;
            DataBuffer db = raster.getDataBuffer();
            if (db instanceof DataBufferByte && db.getNumBanks() == 1 && allSampleSizes(sm, 8)) {
                componentBytes(((DataBufferByte) db).getData(), db.getOffset(), csm, gray, w, h, out);
                return out;
            }
            if (db instanceof DataBufferUShort && db.getNumBanks() == 1 && allSampleSizes(sm, 16)) {
                componentShorts(((DataBufferUShort) db).getData(), db.getOffset(), csm, gray, w, h, out);
                return out;
            }
        }
        if (noParent
                && sm instanceof SinglePixelPackedSampleModel
                && !gray
                && !cmyk
                && raster.getDataBuffer() instanceof DataBufferInt
                && allSampleSizes(sm, 8)) {
            packedInts(raster, (SinglePixelPackedSampleModel) sm, w, h, out);
            return out;
        }
        generic(raster, sm, gray, cmyk, w, h, out);
        return out;
    }

    private static boolean allSampleSizes(SampleModel sm, int bits) {
        for (int b = 0; b < sm.getNumBands(); b++) {
            if (sm.getSampleSize(b) != bits) {
                return false;
            }
        }
        return true;
    }

    private static void componentBytes(
            byte[] data, int offset, ComponentSampleModel sm, boolean gray, int w, int h, byte[] out) {
        int ps = sm.getPixelStride();
        int ss = sm.getScanlineStride();
        int[] bo = sm.getBandOffsets();
        int o = 0;
        if (gray) {
            int b0 = bo[0] + offset;
            for (int y = 0; y < h; y++) {
                int p = y * ss + b0;
                for (int x = 0; x < w; x++, p += ps) {
                    byte v = data[p];
                    out[o++] = v;
                    out[o++] = v;
                    out[o++] = v;
                }
            }
            return;
        }
        int r = bo[0] + offset;
        int g = bo[1] + offset;
        int b = bo[2] + offset;
        if (ps == 3 && r == 2 + offset && g == 1 + offset && b == offset) {
            // TYPE_3BYTE_BGR, the most common case (JPEG): swap in place order.
            for (int y = 0; y < h; y++) {
                int p = y * ss + offset;
                for (int x = 0; x < w; x++, p += 3) {
                    out[o++] = data[p + 2];
                    out[o++] = data[p + 1];
                    out[o++] = data[p];
                }
            }
            return;
        }
        for (int y = 0; y < h; y++) {
            int p = y * ss;
            for (int x = 0; x < w; x++, p += ps) {
                out[o++] = data[p + r];
                out[o++] = data[p + g];
                out[o++] = data[p + b];
            }
        }
    }

    // libjpeg's YCbCr -> RGB tables (jdcolor.c), so that our conversion is libjpeg's to the bit.
    private static final int SCALEBITS = 16;
    private static final int[] CR_R = new int[256];
    private static final int[] CB_B = new int[256];
    private static final int[] CR_G = new int[256];
    private static final int[] CB_G = new int[256];

    static {
        int half = 1 << (SCALEBITS - 1);
        for (int i = 0; i < 256; i++) {
            int x = i - 128;
            CR_R[i] = (fix(1.40200) * x + half) >> SCALEBITS;
            CB_B[i] = (fix(1.77200) * x + half) >> SCALEBITS;
            CR_G[i] = -fix(0.71414) * x;
            CB_G[i] = -fix(0.34414) * x + half;
        }
    }

    private static int fix(double x) {
        return (int) (x * (1L << SCALEBITS) + 0.5);
    }

    private static int clamp255(int v) {
        return v < 0 ? 0 : (v > 255 ? 255 : v);
    }

    /**
     * Converts a raw JPEG raster (from {@code ImageReader.readRaster}, no colour conversion) to RGB
     * with libjpeg's integer YCbCr formula; GRAY is replicated and RGB copied.
     */
    static byte[] fromJpegRaster(Raster raster, JpegColourSpace colour) {
        int w = raster.getWidth();
        int h = raster.getHeight();
        byte[] out = new byte[w * h * 3];
        SampleModel sm = raster.getSampleModel();
        DataBuffer db = raster.getDataBuffer();
        int bands = colour == JpegColourSpace.GRAY ? 1 : 3;
        if (!(sm instanceof ComponentSampleModel)
                || !(db instanceof DataBufferByte)
                || db.getNumBanks() != 1
                || raster.getNumBands() != bands
                || raster.getParent() != null
                || raster.getSampleModelTranslateX() != 0
                || raster.getSampleModelTranslateY() != 0) {
            throw new IllegalStateException("unexpected JPEG raster layout " + sm);
        }
        ComponentSampleModel csm = (ComponentSampleModel) sm;
        byte[] data = ((DataBufferByte) db).getData();
        int offset = db.getOffset();
        if (colour != JpegColourSpace.YCBCR) {
            componentBytes(data, offset, csm, colour == JpegColourSpace.GRAY, w, h, out);
            return out;
        }
        int ps = csm.getPixelStride();
        int ss = csm.getScanlineStride();
        int[] bo = csm.getBandOffsets();
        int o = 0;
        for (int yy = 0; yy < h; yy++) {
            int p = offset + yy * ss;
            for (int x = 0; x < w; x++, p += ps) {
                int y = data[p + bo[0]] & 0xFF;
                int cb = data[p + bo[1]] & 0xFF;
                int cr = data[p + bo[2]] & 0xFF;
                out[o++] = (byte) clamp255(y + CR_R[cr]);
                out[o++] = (byte) clamp255(y + ((CB_G[cb] + CR_G[cr]) >> SCALEBITS));
                out[o++] = (byte) clamp255(y + CB_B[cb]);
            }
        }
        return out;
    }

    static int to8(int v16) {
        return (v16 + 128) / 257; // round(v / 257): 0 -> 0, 65535 -> 255
    }

    private static void componentShorts(
            short[] data, int offset, ComponentSampleModel sm, boolean gray, int w, int h, byte[] out) {
        int ps = sm.getPixelStride();
        int ss = sm.getScanlineStride();
        int[] bo = sm.getBandOffsets();
        int r = bo[0] + offset;
        int g = (gray ? bo[0] : bo[1]) + offset;
        int b = (gray ? bo[0] : bo[2]) + offset;
        int o = 0;
        for (int y = 0; y < h; y++) {
            int p = y * ss;
            for (int x = 0; x < w; x++, p += ps) {
                out[o++] = (byte) to8(data[p + r] & 0xFFFF);
                out[o++] = (byte) to8(data[p + g] & 0xFFFF);
                out[o++] = (byte) to8(data[p + b] & 0xFFFF);
            }
        }
    }

    private static void packedInts(Raster raster, SinglePixelPackedSampleModel sm, int w, int h, byte[] out) {
        DataBufferInt db = (DataBufferInt) raster.getDataBuffer();
        int[] data = db.getData();
        int offset = db.getOffset();
        int ss = sm.getScanlineStride();
        int[] shifts = sm.getBitOffsets();
        int rs = shifts[0];
        int gs = shifts[1];
        int bs = shifts[2];
        int o = 0;
        for (int y = 0; y < h; y++) {
            int p = offset + y * ss;
            for (int x = 0; x < w; x++) {
                int v = data[p + x];
                out[o++] = (byte) (v >>> rs);
                out[o++] = (byte) (v >>> gs);
                out[o++] = (byte) (v >>> bs);
            }
        }
    }

    private static void indexed(Raster raster, IndexColorModel cm, int w, int h, byte[] out) {
        int size = cm.getMapSize();
        byte[] rs = new byte[size];
        byte[] gs = new byte[size];
        byte[] bs = new byte[size];
        cm.getReds(rs);
        cm.getGreens(gs);
        cm.getBlues(bs);
        int[] row = new int[w];
        int o = 0;
        for (int y = 0; y < h; y++) {
            raster.getSamples(0, y, w, 1, 0, row);
            for (int x = 0; x < w; x++) {
                int i = row[x];
                if (i >= size) {
                    i = 0;
                }
                out[o++] = rs[i];
                out[o++] = gs[i];
                out[o++] = bs[i];
            }
        }
    }

    private static int scaler(int bits, int v) {
        if (bits == 8) {
            return v;
        }
        if (bits == 16) {
            return to8(v);
        }
        int max = (1 << bits) - 1;
        return (int) Math.round(v * 255.0 / max);
    }

    private static void generic(Raster raster, SampleModel sm, boolean gray, boolean cmyk, int w, int h, byte[] out) {
        int bands = raster.getNumBands();
        int[] bits = new int[bands];
        for (int b = 0; b < bands; b++) {
            bits[b] = sm.getSampleSize(b);
        }
        int[] row = new int[w * bands];
        int minX = raster.getMinX();
        int minY = raster.getMinY();
        int o = 0;
        for (int y = 0; y < h; y++) {
            raster.getPixels(minX, minY + y, w, 1, row);
            for (int x = 0, p = 0; x < w; x++, p += bands) {
                if (gray) {
                    int v = scaler(bits[0], row[p]);
                    out[o++] = (byte) v;
                    out[o++] = (byte) v;
                    out[o++] = (byte) v;
                } else if (cmyk) {
                    int nk = 255 - scaler(bits[3], row[p + 3]);
                    out[o++] = (byte) cmykChannel(scaler(bits[0], row[p]), nk);
                    out[o++] = (byte) cmykChannel(scaler(bits[1], row[p + 1]), nk);
                    out[o++] = (byte) cmykChannel(scaler(bits[2], row[p + 2]), nk);
                } else {
                    out[o++] = (byte) scaler(bits[0], row[p]);
                    out[o++] = (byte) scaler(bits[1], row[p + 1]);
                    out[o++] = (byte) scaler(bits[2], row[p + 2]);
                }
            }
        }
    }

    /** Pillow's {@code cmyk2rgb}: {@code CLIP8(nk - MULDIV255(c, nk))}. */
    static int cmykChannel(int c, int nk) {
        int tmp = c * nk + 128;
        int mul = ((tmp >> 8) + tmp) >> 8;
        int v = nk - mul;
        return v < 0 ? 0 : Math.min(v, 255);
    }

    private static void viaRgbInts(BufferedImage image, int w, int h, byte[] out) {
        int[] row = new int[w];
        int o = 0;
        for (int y = 0; y < h; y++) {
            image.getRGB(0, y, w, 1, row, 0, w);
            for (int x = 0; x < w; x++) {
                int v = row[x];
                out[o++] = (byte) (v >> 16);
                out[o++] = (byte) (v >> 8);
                out[o++] = (byte) v;
            }
        }
    }
}
