package ai.radiospark.jobs;

import ai.radiospark.bench.BenchFigures;
import ai.radiospark.model.Checkpoint;
import ai.radiospark.model.RandomCheckpoint;
import ai.radiospark.model.TensorInfo;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * {@code radio bench --only footprint}: the memory and time of {@code radio extract} with a real-sized
 * model (issue 17 item 3). It writes a random-weight checkpoint ({@code radio init --shape huge} by
 * default, 2.6 GB) and a few JPEGs, then runs {@code radio extract} twice as child JVMs, the way
 * {@code scripts/radio} runs it (this JVM's options and classpath, local mode, {@code --device cpu}):
 *
 * <ul>
 *   <li>{@code peak_rss_mb}: the first run's peak resident memory, {@code VmHWM} of its
 *       {@code /proc/<pid>/status}, polled every 20 ms until it exits (the high-water mark only grows, so
 *       a poll after the peak reads it); against {@code weights_mb}, the checkpoint's tensor bytes;
 *   <li>{@code model_build_s}: the model build as the child logs it ({@code ExecutorModelCache});
 *   <li>{@code rerun_s}: the wall time of a second run over the same table, which embeds nothing (JVM
 *       and Spark start-up included).
 * </ul>
 */
final class FootprintBench {
    /** The model cache's line for the one build: {@code Built RADIO model <key> on <device> (<dtype>) in N ms}. */
    private static final Pattern BUILD = Pattern.compile("Built RADIO model \\S+ on \\S+ \\(\\S+\\) in (\\d+) ms");

    private static final Pattern EMBEDDED = Pattern.compile("(?m)^\\s*embedded\\s+([0-9,]+)");

    /** Goal of issue 17: peak RSS at most this many times the weights. */
    static final double GOAL_RSS_VS_WEIGHTS = 1.5;

    /** Goal of issue 17: a rerun over an unchanged table within this many seconds. */
    static final double GOAL_RERUN_S = 15;

    private final PrintWriter log;
    private final String shape;
    private final int images;
    private final int batch;

    FootprintBench(PrintWriter log, String shape, int images, int batch) {
        this.log = log;
        this.shape = shape;
        this.images = images;
        this.batch = batch;
    }

    /** Runs both extracts and puts {@code footprint} into {@code report}. */
    void run(ObjectNode report) throws IOException, InterruptedException {
        ObjectNode f = report.putObject("footprint");
        Path root = Files.createTempDirectory("radio-bench-footprint");
        try {
            Path model = root.resolve("model");
            RandomCheckpoint.write(RandomCheckpoint.shape(shape), model, 42);
            long weightBytes = Checkpoint.open(model).tensorInfos().values().stream()
                    .mapToLong(TensorInfo::byteLength)
                    .sum();
            Path input = Files.createDirectories(root.resolve("images"));
            for (int i = 0; i < images; i++) {
                BenchFigures.writeSyntheticJpeg(input.resolve(String.format("img%05d.jpg", i)), i);
            }
            List<String> command = extractCommand(input, root.resolve("table"), model);
            log.printf(
                    "footprint: radio extract of %d JPEGs with the %s model (%.0f MB of weights), batch %d, local mode, "
                            + "as a child JVM, then a rerun%n",
                    images, shape, weightBytes / 1048576.0, batch);
            log.flush();
            Child first = runChild(command, root.resolve("first.log"));
            Child rerun = runChild(command, root.resolve("rerun.log"));
            double weightsMb = weightBytes / 1048576.0;
            double peakMb = first.peakRssKb / 1024.0;
            f.put("shape", shape)
                    .put("images", images)
                    .put("batch", batch)
                    .put("weights_mb", BenchFigures.round(weightsMb, 1))
                    .put("peak_rss_mb", BenchFigures.round(peakMb, 1))
                    .put("peak_rss_vs_weights", BenchFigures.round(peakMb / weightsMb, 3))
                    .put("goal_peak_rss_vs_weights", GOAL_RSS_VS_WEIGHTS)
                    .put("model_build_s", first.buildMs < 0 ? -1 : BenchFigures.round(first.buildMs / 1e3, 2))
                    .put("first_run_s", BenchFigures.round(first.seconds, 2))
                    .put("embedded", first.embedded)
                    .put("rerun_s", BenchFigures.round(rerun.seconds, 2))
                    .put("rerun_embedded", rerun.embedded)
                    .put("rerun_peak_rss_mb", BenchFigures.round(rerun.peakRssKb / 1024.0, 1))
                    .put("goal_rerun_s", GOAL_RERUN_S);
        } finally {
            try (Stream<Path> w = Files.walk(root)) {
                w.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private List<String> extractCommand(Path input, Path table, Path model) {
        List<String> c = new ArrayList<>();
        c.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            // this JVM's heap, --add-opens and log configuration, as scripts/radio gave them; no agents or debuggers
            if (!a.startsWith("-agentlib") && !a.startsWith("-javaagent") && !a.startsWith("-Xrunjdwp")) {
                c.add(a);
            }
        }
        c.add("-cp");
        c.add(System.getProperty("java.class.path"));
        c.add(RadioCli.class.getName());
        c.addAll(List.of(
                "extract",
                "--input",
                input.toString(),
                "--output",
                table.toString(),
                "--model",
                model.toString(),
                "--batch-size",
                Integer.toString(batch),
                "--device",
                "cpu",
                "--progress-seconds",
                "3600"));
        return c;
    }

    /** What one child run gave: its peak RSS (kB), wall seconds, the build's milliseconds and images embedded. */
    private record Child(long peakRssKb, double seconds, long buildMs, long embedded) {}

    private Child runChild(List<String> command, Path logFile) throws IOException, InterruptedException {
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(logFile.toFile())
                .start();
        File status = new File("/proc/" + p.pid() + "/status");
        long peak = -1;
        while (!p.waitFor(20, TimeUnit.MILLISECONDS)) {
            peak = Math.max(peak, highWaterMarkKb(status));
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        String out = Files.readString(logFile);
        if (p.exitValue() != 0) {
            throw new IllegalStateException("radio extract (child JVM) exited with " + p.exitValue() + ": "
                    + out.substring(Math.max(0, out.length() - 4000)));
        }
        Matcher b = BUILD.matcher(out);
        long buildMs = b.find() ? Long.parseLong(b.group(1)) : -1;
        Matcher e = EMBEDDED.matcher(out);
        long embedded = e.find() ? Long.parseLong(e.group(1).replace(",", "")) : -1;
        return new Child(peak, seconds, buildMs, embedded);
    }

    /** {@code VmHWM} in kB, or -1 once the process is gone (or not on Linux). */
    private static long highWaterMarkKb(File status) {
        try {
            for (String line : Files.readAllLines(status.toPath())) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException | RuntimeException e) {
            // exited between the poll and the read
        }
        return -1;
    }
}
