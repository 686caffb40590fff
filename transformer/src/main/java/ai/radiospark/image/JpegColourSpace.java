package ai.radiospark.image;

/**
 * The colour space of a JPEG's coded data as libjpeg decides it ({@code default_decompress_parms}
 * in jdapimin.c), read from the markers before the first scan.
 */
enum JpegColourSpace {
    GRAY,
    YCBCR,
    RGB,
    /** Four components (CMYK/YCCK) or anything unusual: decoded by the reader's own conversion. */
    OTHER;

    static JpegColourSpace of(byte[] jpeg) {
        boolean jfif = false;
        int adobeTransform = -1;
        int p = 2;
        try {
            while (p + 4 <= jpeg.length) {
                if ((jpeg[p] & 0xFF) != 0xFF) {
                    return OTHER;
                }
                int marker = jpeg[p + 1] & 0xFF;
                if (marker == 0xFF) {
                    p++;
                    continue;
                }
                int len = ((jpeg[p + 2] & 0xFF) << 8) | (jpeg[p + 3] & 0xFF);
                if (marker == 0xE0
                        && len >= 7
                        && jpeg[p + 4] == 'J'
                        && jpeg[p + 5] == 'F'
                        && jpeg[p + 6] == 'I'
                        && jpeg[p + 7] == 'F'
                        && jpeg[p + 8] == 0) {
                    jfif = true;
                } else if (marker == 0xEE
                        && len >= 12
                        && jpeg[p + 4] == 'A'
                        && jpeg[p + 5] == 'd'
                        && jpeg[p + 6] == 'o'
                        && jpeg[p + 7] == 'b'
                        && jpeg[p + 8] == 'e') {
                    adobeTransform = jpeg[p + 4 + 11] & 0xFF;
                } else if (isStartOfFrame(marker)) {
                    if ((jpeg[p + 4] & 0xFF) != 8) {
                        return OTHER; // 12-bit or other precision
                    }
                    int components = jpeg[p + 9] & 0xFF;
                    if (components == 1) {
                        return GRAY;
                    }
                    if (components != 3) {
                        return OTHER;
                    }
                    if (jfif) {
                        return YCBCR;
                    }
                    if (adobeTransform >= 0) {
                        return adobeTransform == 0 ? RGB : YCBCR;
                    }
                    int c0 = jpeg[p + 10] & 0xFF;
                    int c1 = jpeg[p + 13] & 0xFF;
                    int c2 = jpeg[p + 16] & 0xFF;
                    return c0 == 'R' && c1 == 'G' && c2 == 'B' ? RGB : YCBCR;
                } else if (marker == 0xDA || marker == 0xD9) {
                    return OTHER;
                }
                p += 2 + len;
            }
        } catch (ArrayIndexOutOfBoundsException e) {
            // Malformed: let the reader report it.
        }
        return OTHER;
    }

    private static boolean isStartOfFrame(int m) {
        return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
    }
}
