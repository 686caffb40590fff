package ai.radiospark.image;

import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.spi.IIORegistry;
import javax.imageio.spi.ImageReaderSpi;

/**
 * The image formats we decode, recognised by their magic bytes (never by file name), each with the
 * ImageIO reader chosen for it. See {@link ImageDecoder} for why each reader was chosen.
 */
enum ImageFormat {
    JPEG("jpeg", "com.twelvemonkeys.imageio.plugins.jpeg.JPEGImageReaderSpi"),
    PNG("png", "com.sun.imageio.plugins.png.PNGImageReaderSpi"),
    GIF("gif", "com.sun.imageio.plugins.gif.GIFImageReaderSpi"),
    BMP("bmp", "com.twelvemonkeys.imageio.plugins.bmp.BMPImageReaderSpi"),
    WEBP("webp", "com.twelvemonkeys.imageio.plugins.webp.WebPImageReaderSpi"),
    TIFF("tiff", "com.twelvemonkeys.imageio.plugins.tiff.TIFFImageReaderSpi");

    final String formatName;
    private final String preferredSpi;
    private volatile ImageReaderSpi spi;

    ImageFormat(String formatName, String preferredSpi) {
        this.formatName = formatName;
        this.preferredSpi = preferredSpi;
    }

    /** The format whose signature starts {@code bytes}, or null. */
    static ImageFormat sniff(byte[] b) {
        int n = b.length;
        if (n >= 3 && (b[0] & 0xFF) == 0xFF && (b[1] & 0xFF) == 0xD8 && (b[2] & 0xFF) == 0xFF) {
            return JPEG;
        }
        if (n >= 8
                && (b[0] & 0xFF) == 0x89
                && b[1] == 'P'
                && b[2] == 'N'
                && b[3] == 'G'
                && b[4] == 0x0D
                && b[5] == 0x0A
                && b[6] == 0x1A
                && b[7] == 0x0A) {
            return PNG;
        }
        if (n >= 6
                && b[0] == 'G'
                && b[1] == 'I'
                && b[2] == 'F'
                && b[3] == '8'
                && (b[4] == '7' || b[4] == '9')
                && b[5] == 'a') {
            return GIF;
        }
        if (n >= 14 && b[0] == 'B' && b[1] == 'M') {
            return BMP;
        }
        if (n >= 12
                && b[0] == 'R'
                && b[1] == 'I'
                && b[2] == 'F'
                && b[3] == 'F'
                && b[8] == 'W'
                && b[9] == 'E'
                && b[10] == 'B'
                && b[11] == 'P') {
            return WEBP;
        }
        if (n >= 4
                && ((b[0] == 'I' && b[1] == 'I' && b[2] == 42 && b[3] == 0)
                        || (b[0] == 'M' && b[1] == 'M' && b[2] == 0 && b[3] == 42))) {
            return TIFF;
        }
        return null;
    }

    /** A new (not thread-safe) reader of the chosen implementation. */
    ImageReader newReader() throws java.io.IOException {
        ImageReaderSpi s = spi;
        if (s == null) {
            s = findSpi();
            spi = s;
        }
        return s == null ? null : s.createReaderInstance();
    }

    /** Class name of the reader implementation used for this format (for tests and logs). */
    String readerClassName() {
        try {
            ImageReader r = newReader();
            if (r == null) {
                return "none";
            }
            String name = r.getClass().getName();
            r.dispose();
            return name;
        } catch (java.io.IOException e) {
            return "none";
        }
    }

    private ImageReaderSpi findSpi() {
        IIORegistry registry = IIORegistry.getDefaultInstance();
        Iterator<ImageReaderSpi> it = registry.getServiceProviders(ImageReaderSpi.class, true);
        while (it.hasNext()) {
            ImageReaderSpi s = it.next();
            if (s.getClass().getName().equals(preferredSpi)) {
                return s;
            }
        }
        // Not registered: on Spark executors the registry may have been initialised before our jars
        // were on the class path, and then TwelveMonkeys would be silently missing. Register it now
        // (registration lets it find its delegate, e.g. the JDK JPEG reader).
        try {
            Class<?> c = Class.forName(preferredSpi, true, ImageFormat.class.getClassLoader());
            ImageReaderSpi s = (ImageReaderSpi) c.getDeclaredConstructor().newInstance();
            registry.registerServiceProvider(s, ImageReaderSpi.class);
            if (registry.contains(s)) {
                return s;
            }
        } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
            // Fall back to whatever ImageIO has registered for the format.
        }
        Iterator<ImageReader> readers = ImageIO.getImageReadersByFormatName(formatName);
        return readers.hasNext() ? readers.next().getOriginatingProvider() : null;
    }
}
