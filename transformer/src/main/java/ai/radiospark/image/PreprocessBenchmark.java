package ai.radiospark.image;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * Measures single-thread images per second of decode + resize (224x224 fixed, Pillow bicubic) +
 * rescale for one image (default china.jpg from the golden data), and the same pipeline in Pillow
 * when a Python with Pillow and numpy is available. Rates are per second of CPU time of the
 * measuring thread/process, so that a busy shared machine distorts them less. Prints one JSON line:
 * {@code {"preprocess":{"img_per_s_per_core":..., ..., "peer":{...} | "not available"}}}.
 *
 * <pre>{@code
 * java -cp ... ai.radiospark.image.PreprocessBenchmark [image] [seconds]
 * }</pre>
 */
public final class PreprocessBenchmark {
    private static final String DEFAULT_IMAGE = "transformer/src/test/resources/golden/images/china.jpg";

    private PreprocessBenchmark() {}

    public static void main(String[] args) throws Exception {
        Path image = Path.of(args.length > 0 ? args[0] : DEFAULT_IMAGE);
        if (!Files.exists(image) && args.length == 0) {
            image = Path.of("src/test/resources/golden/images/china.jpg");
        }
        double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 5.0;
        System.out.println("{\"preprocess\":" + measure(image, seconds, true) + "}");
    }

    /**
     * Measures {@code image} for about {@code seconds} (plus warm-up) and, if {@code withPeer},
     * Pillow on the same file; returns the JSON object {@code {"img_per_s_per_core":..., ...,
     * "peer":{...} | "not available"}}.
     */
    public static String measure(Path image, double seconds, boolean withPeer) throws IOException {
        byte[] bytes = Files.readAllBytes(image);
        String name = image.getFileName().toString();
        ImagePreprocessor pre = ImagePreprocessor.builder().build();
        ImageDecoder decoder = new ImageDecoder(ImageDecoder.DEFAULT_MAX_PIXELS, false);
        float[] out = new float[3 * 224 * 224];

        double full = rate(seconds, () -> pre.preprocess(bytes, name, out, 0));
        double decode = rate(seconds / 2, () -> decoder.decode(bytes, name, null));
        DecodedImage d = decoder.decode(bytes, name, null);
        double resize =
                rate(seconds / 2, () -> PillowBicubicResampler.resize(d.rgb(), d.width(), d.height(), 224, 224));

        String peer = withPeer ? peer(image, seconds) : "\"not available\"";
        return String.format(
                Locale.ROOT,
                "{\"img_per_s_per_core\":%.1f,\"image\":\"%s\",\"size\":\"224x224\","
                        + "\"decode_ms\":%.3f,\"resize_ms\":%.3f,\"peer\":%s}",
                full,
                name,
                1000 / decode,
                1000 / resize,
                peer);
    }

    /**
     * Runs {@code task} for about {@code seconds} after a warm-up; returns runs per second of this
     * thread's CPU time (robust on a shared machine; equals wall-clock rate on an idle core).
     */
    private static double rate(double seconds, Runnable task) {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long warmupEnd = System.nanoTime() + (long) (Math.min(3.0, seconds) * 1e9);
        while (System.nanoTime() < warmupEnd) {
            task.run();
        }
        long start = System.nanoTime();
        long cpuStart = threads.getCurrentThreadCpuTime();
        long end = start + (long) (seconds * 1e9);
        long n = 0;
        do {
            task.run();
            n++;
        } while (System.nanoTime() < end);
        return n / ((threads.getCurrentThreadCpuTime() - cpuStart) / 1e9);
    }

    private static final String PEER_SCRIPT = String.join(
            "\n",
            "import sys, time, json",
            "import numpy as np, PIL",
            "from PIL import Image",
            "path, seconds = sys.argv[1], float(sys.argv[2])",
            "def once():",
            "    im = Image.open(path).convert('RGB').resize((224, 224), Image.BICUBIC)",
            "    return np.asarray(im, dtype=np.float32) / 255",
            "end = time.perf_counter() + min(3.0, seconds)",
            "while time.perf_counter() < end: once()",
            "n = 0; start = time.perf_counter(); cpu = time.process_time(); end = start + seconds",
            "while True:",
            "    once(); n += 1",
            "    if time.perf_counter() >= end: break",
            "print(json.dumps({'img_per_s_per_core': round(n / (time.process_time() - cpu), 1),",
            "                  'impl': 'Pillow ' + PIL.__version__ + ' open+convert+resize(BICUBIC)+/255',",
            "                  'python': sys.executable}))");

    /** Pillow's rate on the same image, or "not available" as a JSON string. */
    static String peer(Path image, double seconds) {
        for (String python : List.of("/usr/bin/python3", "python3")) {
            try {
                Process check = new ProcessBuilder(python, "-c", "import PIL, numpy")
                        .redirectErrorStream(true)
                        .start();
                check.getInputStream().readAllBytes();
                if (!check.waitFor(60, TimeUnit.SECONDS) || check.exitValue() != 0) {
                    continue;
                }
                Process run = new ProcessBuilder(python, "-c", PEER_SCRIPT, image.toString(), Double.toString(seconds))
                        .redirectError(ProcessBuilder.Redirect.INHERIT)
                        .start();
                String line = new String(run.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
                if (run.waitFor(120, TimeUnit.SECONDS) && run.exitValue() == 0 && line.startsWith("{")) {
                    return line;
                }
            } catch (IOException e) {
                // This python is missing: try the next one.
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return "\"not available\"";
    }
}
