package ai.radiospark.model;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A benchmark (docs/performance.md): the base-shape forward with the block linears on aten (MKL) vs oneDNN,
 * float32 and bfloat16, interleaved in rounds in one JVM, on a random-weight checkpoint. Reports median wall ms
 * and process CPU seconds per forward (load-robust). It sits in this package for the package-private
 * {@code RadioModel.Builder.linearOneDnn}.
 *
 * <pre>{@code
 * java -cp ... ai.radiospark.model.ForwardImplProbe [rounds=4] [reps=2] [batch=8]
 * }</pre>
 */
public final class ForwardImplProbe {
    private ForwardImplProbe() {}

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 4;
        int reps = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        int batch = args.length > 2 ? Integer.parseInt(args[2]) : 8;
        Path dir = Files.createTempDirectory("probe");
        RandomCheckpoint.write(RandomCheckpoint.shape("base"), dir, 42);
        RadioWeights w = Checkpoint.open(dir).weights();
        float[] px = new float[batch * 3 * 224 * 224];
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < px.length; i++) {
            px[i] = (float) r.nextDouble();
        }
        Map<String, RadioModel> models = new LinkedHashMap<>();
        models.put("f32-aten", RadioModel.builder().linearOneDnn(false).build(w));
        models.put("f32-onednn", RadioModel.builder().linearOneDnn(true).build(w));
        models.put(
                "bf16-aten",
                RadioModel.builder()
                        .optDType(ModelDType.BFLOAT16)
                        .linearOneDnn(false)
                        .build(w));
        models.put(
                "bf16-onednn",
                RadioModel.builder()
                        .optDType(ModelDType.BFLOAT16)
                        .linearOneDnn(true)
                        .build(w));
        EnumSet<RadioModel.Output> sum = EnumSet.of(RadioModel.Output.SUMMARY);
        float[] ref = models.get("f32-aten").forward(px, batch, 224, 224, sum).summary();
        Map<String, List<Double>> wall = new LinkedHashMap<>();
        Map<String, List<Double>> cpu = new LinkedHashMap<>();
        for (Map.Entry<String, RadioModel> e : models.entrySet()) {
            float[] s = e.getValue().forward(px, batch, 224, 224, sum).summary();
            System.out.printf(
                    "%-12s summary cosine vs f32-aten %.7f%n", e.getKey(), ai.radiospark.Cosine.similarity(ref, s));
            wall.put(e.getKey(), new ArrayList<>());
            cpu.put(e.getKey(), new ArrayList<>());
        }
        com.sun.management.OperatingSystemMXBean os =
                (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        for (int k = 0; k < rounds; k++) {
            StringBuilder line = new StringBuilder("round " + k + ":");
            for (Map.Entry<String, RadioModel> e : models.entrySet()) {
                for (int i = 0; i < reps; i++) {
                    long c0 = os.getProcessCpuTime();
                    long t0 = System.nanoTime();
                    e.getValue().forward(px, batch, 224, 224, sum);
                    double ms = (System.nanoTime() - t0) / 1e6;
                    wall.get(e.getKey()).add(ms);
                    cpu.get(e.getKey()).add((os.getProcessCpuTime() - c0) / 1e9);
                    line.append(String.format(" %s %.0f", e.getKey(), ms));
                }
            }
            System.out.println(line);
        }
        double base = median(wall.get("f32-aten"));
        for (String k : models.keySet()) {
            double m = median(wall.get(k));
            System.out.printf(
                    "%-12s median %6.0f ms (%.2f img/s), best %6.0f ms, CPU %.2f s/forward -> %.2f img per CPU-s; "
                            + "speed vs f32-aten %.2fx%n",
                    k,
                    m,
                    batch * 1000 / m,
                    Collections.min(wall.get(k)),
                    median(cpu.get(k)),
                    batch / median(cpu.get(k)),
                    base / m);
        }
        for (RadioModel m : models.values()) {
            m.close();
        }
    }

    static double median(List<Double> v) {
        List<Double> s = new ArrayList<>(v);
        Collections.sort(s);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }
}
