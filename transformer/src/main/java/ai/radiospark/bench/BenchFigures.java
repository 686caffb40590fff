package ai.radiospark.bench;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

/** The benchmarks' figures and inputs: medians, cosines, rounding, peak RSS, load, synthetic JPEGs. */
public final class BenchFigures {
    private BenchFigures() {}

    /** A photo-sized JPEG with smooth gradients and some noise, when no image is given. */
    public static void writeSyntheticJpeg(Path file) throws IOException {
        writeSyntheticJpeg(file, 3);
    }

    /** The same, with noise from {@code seed}: distinct seeds give distinct files. */
    public static void writeSyntheticJpeg(Path file, long seed) throws IOException {
        int w = 640;
        int h = 427;
        BufferedImage im = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        SplittableRandom r = new SplittableRandom(seed);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int red = (x * 255 / w + r.nextInt(16)) & 0xff;
                int g = (y * 255 / h + r.nextInt(16)) & 0xff;
                int b = ((x + y) * 255 / (w + h) + r.nextInt(16)) & 0xff;
                im.setRGB(x, y, red << 16 | g << 8 | b);
            }
        }
        if (!ImageIO.write(im, "jpg", file.toFile())) {
            throw new IOException("no JPEG writer");
        }
    }

    /** Peak resident set size of this process (VmHWM), in MB; -1 where /proc is absent. */
    public static double rssPeakMb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return round(Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0, 1);
                }
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux
        }
        return -1;
    }

    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException e) {
            return "unknown";
        }
    }

    static double median(List<Double> v) {
        List<Double> s = new ArrayList<>(v);
        Collections.sort(s);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    static double cosine(float[] a, float[] b) {
        return ai.radiospark.Cosine.similarity(a, b);
    }

    static String fmt(List<Double> ms) {
        StringBuilder b = new StringBuilder();
        for (double v : ms) {
            b.append(b.length() == 0 ? "" : " ").append(String.format(Locale.ROOT, "%.0f", v));
        }
        return b.toString();
    }

    static List<Double> rounded(List<Double> v) {
        return v.stream().map(x -> round(x, 1)).toList();
    }

    public static double round(double v, int digits) {
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }

    static void deleteTree(Path dir) {
        if (dir == null) {
            return;
        }
        try (Stream<Path> w = Files.walk(dir)) {
            w.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // temp dir
        }
    }
}
