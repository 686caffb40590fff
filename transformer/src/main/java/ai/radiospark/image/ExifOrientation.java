package ai.radiospark.image;

/**
 * Reads the EXIF Orientation tag (0x0112) of a JPEG and applies it to packed RGB pixels.
 *
 * <p>Orientation values: 1 as stored, 2 mirrored horizontally, 3 rotated 180, 4 mirrored
 * vertically, 5 transposed, 6 rotated 90 clockwise, 7 transversed, 8 rotated 90 counter-clockwise.
 */
final class ExifOrientation {
    private ExifOrientation() {}

    /** The orientation of a JPEG file (1..8), or 1 when absent or unreadable. */
    static int read(byte[] jpeg) {
        try {
            int p = 2;
            while (p + 4 <= jpeg.length) {
                if ((jpeg[p] & 0xFF) != 0xFF) {
                    return 1;
                }
                int marker = jpeg[p + 1] & 0xFF;
                if (marker == 0xFF) {
                    p++;
                    continue;
                }
                if (marker == 0xDA || marker == 0xD9) {
                    return 1; // Start of scan / end of image: metadata segments are over.
                }
                int len = u16(jpeg, p + 2, false);
                if (marker == 0xE1
                        && len >= 8
                        && p + 4 + 6 <= jpeg.length
                        && jpeg[p + 4] == 'E'
                        && jpeg[p + 5] == 'x'
                        && jpeg[p + 6] == 'i'
                        && jpeg[p + 7] == 'f'
                        && jpeg[p + 8] == 0
                        && jpeg[p + 9] == 0) {
                    int v = fromTiff(jpeg, p + 10, Math.min(jpeg.length, p + 2 + len));
                    return v >= 1 && v <= 8 ? v : 1;
                }
                p += 2 + len;
            }
        } catch (ArrayIndexOutOfBoundsException e) {
            // Malformed metadata: treat as no orientation.
        }
        return 1;
    }

    private static int fromTiff(byte[] b, int tiff, int end) {
        boolean little;
        if (b[tiff] == 'I' && b[tiff + 1] == 'I') {
            little = true;
        } else if (b[tiff] == 'M' && b[tiff + 1] == 'M') {
            little = false;
        } else {
            return 1;
        }
        long ifd = u32(b, tiff + 4, little);
        int p = (int) (tiff + ifd);
        if (ifd < 8 || p + 2 > end) {
            return 1;
        }
        int entries = u16(b, p, little);
        p += 2;
        for (int i = 0; i < entries && p + 12 <= end; i++, p += 12) {
            if (u16(b, p, little) == 0x0112) {
                return u16(b, p + 8, little); // Type SHORT, count 1: value in the first 2 bytes.
            }
        }
        return 1;
    }

    private static int u16(byte[] b, int p, boolean little) {
        int a = b[p] & 0xFF;
        int c = b[p + 1] & 0xFF;
        return little ? (c << 8) | a : (a << 8) | c;
    }

    private static long u32(byte[] b, int p, boolean little) {
        long hi = u16(b, little ? p + 2 : p, little);
        long lo = u16(b, little ? p : p + 2, little);
        return (hi << 16) | lo;
    }

    /** Applies {@code orientation} (1..8) to the image; 1 returns it unchanged. */
    static DecodedImage apply(DecodedImage img, int orientation) {
        if (orientation <= 1 || orientation > 8) {
            return img;
        }
        int w = img.width();
        int h = img.height();
        boolean swap = orientation >= 5;
        int ow = swap ? h : w;
        int oh = swap ? w : h;
        byte[] in = img.rgb();
        byte[] out = new byte[in.length];
        int o = 0;
        for (int oy = 0; oy < oh; oy++) {
            for (int ox = 0; ox < ow; ox++) {
                int sx;
                int sy;
                switch (orientation) {
                    case 2:
                        sx = w - 1 - ox;
                        sy = oy;
                        break;
                    case 3:
                        sx = w - 1 - ox;
                        sy = h - 1 - oy;
                        break;
                    case 4:
                        sx = ox;
                        sy = h - 1 - oy;
                        break;
                    case 5:
                        sx = oy;
                        sy = ox;
                        break;
                    case 6:
                        sx = oy;
                        sy = h - 1 - ox;
                        break;
                    case 7:
                        sx = w - 1 - oy;
                        sy = h - 1 - ox;
                        break;
                    default:
                        sx = w - 1 - oy;
                        sy = ox;
                        break; // 8
                }
                int s = (sy * w + sx) * 3;
                out[o++] = in[s];
                out[o++] = in[s + 1];
                out[o++] = in[s + 2];
            }
        }
        int origW = swap ? img.originalHeight() : img.originalWidth();
        int origH = swap ? img.originalWidth() : img.originalHeight();
        return new DecodedImage(ow, oh, out, origW, origH);
    }
}
