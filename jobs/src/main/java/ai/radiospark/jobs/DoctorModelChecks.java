package ai.radiospark.jobs;

import ai.djl.Device;
import ai.radiospark.Cosine;
import ai.radiospark.RadioException;
import ai.radiospark.model.AttentionCheck;
import ai.radiospark.model.Checkpoint;
import ai.radiospark.model.DevicePlan;
import ai.radiospark.model.ModelDType;
import ai.radiospark.model.RadioModel;
import ai.radiospark.model.RadioOutput;
import ai.radiospark.model.RadioWeights;
import ai.radiospark.model.SafetensorsFile;
import ai.radiospark.model.TensorInfo;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * The checks of {@code radio doctor} that run the model, on every device {@link DoctorChecks}
 * found: the bundled golden case and the fused attention kernel per device and dtype, what runs
 * where, and the throughput probe. Every device decision comes from {@link DevicePlan}.
 */
final class DoctorModelChecks {
    /** The bundled golden case (see resources ai/radiospark/jobs/doctor/README.md). */
    static final String GOLDEN = "/ai/radiospark/jobs/doctor/tiny-vit/";

    static final String GOLDEN_CASE = "case4_3x3x48x48";
    /** RadioModelGoldenTest's float32 tolerance: max abs error. */
    static final double FLOAT32_ATOL = 1e-4;
    /** RadioModelBf16Test's bfloat16 (and float16) tolerance: cosine of the summary and of each image's features. */
    static final double LOW_PRECISION_MIN_COSINE = 0.999;

    private static final EnumSet<RadioModel.Output> BOTH =
            EnumSet.of(RadioModel.Output.SUMMARY, RadioModel.Output.FEATURES);

    private final DoctorChecks checks;
    private final ObjectNode report;
    private final List<Device> devices;
    /** Whether the golden case passed, per {@link DoctorChecks#label} of device and dtype. */
    private final Map<String, Boolean> passed = new HashMap<>();

    DoctorModelChecks(DoctorChecks checks) {
        this.checks = checks;
        this.report = checks.report();
        this.devices = checks.devices();
    }

    private static String label(Device d) {
        return DoctorChecks.label(d);
    }

    private boolean attempt(ObjectNode r, String what, Supplier<String> check) {
        return checks.attempt(r, what, check);
    }

    /**
     * The bundled golden case on every device and dtype (float16 only where {@link DevicePlan}
     * allows it), and the fused attention kernel in each: ran or why not, max errors, tolerance.
     */
    void parity() {
        RadioWeights weights = Checkpoint.fromBytes(
                        "radio-spark:doctor/tiny-vit",
                        Map.of(
                                "config.json",
                                resource("config.json"),
                                "model.safetensors",
                                resource("model.safetensors")))
                .weights();
        SafetensorsFile golden =
                SafetensorsFile.of(GOLDEN_CASE, ByteBuffer.wrap(resource(GOLDEN_CASE + ".safetensors")));
        TensorInfo px = golden.info("pixel_values");
        int b = (int) px.shape()[0];
        int h = (int) px.shape()[2];
        int w = (int) px.shape()[3];
        float[] pixels = golden.floats("pixel_values");
        float[] summary = golden.floats("summary");
        float[] features = golden.floats("features");
        ObjectNode head = report.putObject("golden");
        head.put("model", "tiny-vit").put("case", GOLDEN_CASE);
        head.put("float32_tolerance", "max abs error <= " + FLOAT32_ATOL);
        head.put(
                "low_precision_tolerance",
                "cosine >= " + LOW_PRECISION_MIN_COSINE + " (summary, each image's features)");
        ArrayNode parity = report.putArray("parity");
        ArrayNode attention = report.putArray("attention");
        for (Device device : devices) {
            for (ModelDType dtype : ModelDType.values()) {
                ObjectNode r = parity.addObject().put("device", label(device)).put("dtype", dtype.label());
                ObjectNode a =
                        attention.addObject().put("device", label(device)).put("dtype", dtype.label());
                DevicePlan plan;
                try {
                    plan = DevicePlan.of(device, dtype);
                } catch (RadioException e) {
                    r.put("status", "skipped").put("reason", e.getMessage());
                    a.put("status", "skipped").put("reason", e.getMessage());
                    continue;
                }
                r.put("plan", plan.toString());
                String what = label(device) + " " + dtype.label();
                passed.put(what, attempt(r, "golden case " + what, () -> {
                    try (RadioModel model =
                            RadioModel.builder().optDevice(device).optPlan(plan).build(weights)) {
                        RadioOutput out = model.forward(pixels, b, h, w, BOTH);
                        double max = Math.max(maxAbs(summary, out.summary()), maxAbs(features, out.features()));
                        r.put("max_abs_error", max);
                        if (dtype == ModelDType.FLOAT32) {
                            r.put("tolerance", FLOAT32_ATOL);
                            return max <= FLOAT32_ATOL ? null : "max abs error " + max + " > " + FLOAT32_ATOL;
                        }
                        double cos = Math.min(
                                Cosine.similarity(summary, out.summary()),
                                Cosine.lowestPerImage(features, out.features(), b));
                        r.put("min_cosine", cos).put("tolerance_min_cosine", LOW_PRECISION_MIN_COSINE);
                        return cos >= LOW_PRECISION_MIN_COSINE
                                ? null
                                : "cosine " + cos + " < " + LOW_PRECISION_MIN_COSINE;
                    }
                }));
                attempt(a, "fused attention " + what, () -> {
                    AttentionCheck.Result res = AttentionCheck.run(plan, device);
                    a.put("max_abs_error_vs_plain", res.maxAbsError()).put("tolerance", res.tolerance());
                    return res.withinTolerance()
                            ? null
                            : "max abs error vs plain attention " + res.maxAbsError() + " > " + res.tolerance();
                });
            }
        }
        capabilities(parity, attention);
    }

    /**
     * Per device, whether bfloat16, float16 and the fused attention kernel run there (ran, whatever
     * their errors), or the one-line reason they did not, from the parity and attention results.
     */
    private void capabilities(ArrayNode parity, ArrayNode attention) {
        ArrayNode caps = report.putArray("capabilities");
        for (Device device : devices) {
            ObjectNode c = caps.addObject().put("device", label(device));
            for (ModelDType dtype : List.of(ModelDType.BFLOAT16, ModelDType.FLOAT16)) {
                for (JsonNode p : parity) {
                    if (p.path("device").asText().equals(label(device))
                            && p.path("dtype").asText().equals(dtype.label())) {
                        ObjectNode e = c.putObject(dtype.label());
                        boolean ran = List.of("ok", "failed")
                                .contains(p.path("status").asText());
                        e.put("runs", ran);
                        if (!ran) {
                            e.put("reason", p.path("reason").asText());
                        }
                    }
                }
            }
            ObjectNode f = c.putObject("fused_attention");
            ArrayNode ran = f.putArray("dtypes");
            for (JsonNode a : attention) {
                if (!a.path("device").asText().equals(label(device))) {
                    continue;
                }
                String status = a.path("status").asText();
                if (status.equals("ok") || status.equals("failed")) {
                    ran.add(a.path("dtype").asText());
                } else if (status.equals("error") && !f.has("reason")) {
                    f.put(
                            "reason",
                            a.path("dtype").asText() + ": " + a.path("reason").asText());
                }
            }
            f.put("runs", !f.has("reason") && !ran.isEmpty());
        }
    }

    /**
     * Images per second of {@code weights} per device and dtype that passed parity, over about
     * {@code seconds} (at least one forward) each after two untimed forwards, one when the first
     * took longer than {@code seconds}.
     */
    void throughput(RadioWeights weights, String modelName, int batchSize, double seconds) {
        ObjectNode t = report.putObject("throughput");
        int p = weights.config().patchSize();
        int size = Math.max(p, 224 / p * p);
        t.put("model", modelName).put("size", size + "x" + size).put("seconds_each", seconds);
        ArrayNode runs = t.putArray("runs");
        float[] pixels = new float[0];
        for (Device device : devices) {
            for (ModelDType dtype : ModelDType.values()) {
                if (!passed.getOrDefault(label(device) + " " + dtype.label(), false)) {
                    continue;
                }
                DevicePlan plan = DevicePlan.of(device, dtype);
                int batch = plan.batchSize(batchSize);
                if (pixels.length != batch * 3 * size * size) {
                    pixels = new float[batch * 3 * size * size];
                    SplittableRandom random = new SplittableRandom(5);
                    for (int i = 0; i < pixels.length; i++) {
                        pixels[i] = (float) random.nextDouble();
                    }
                }
                probe(runs.addObject(), device, plan, weights, pixels, batch, size, seconds);
            }
        }
    }

    private void probe(
            ObjectNode r,
            Device device,
            DevicePlan plan,
            RadioWeights weights,
            float[] px,
            int batch,
            int size,
            double seconds) {
        r.put("device", label(device)).put("dtype", plan.compute().label()).put("batch_size", batch);
        attempt(r, "throughput " + label(device) + " " + plan.compute().label(), () -> {
            try (RadioModel model =
                    RadioModel.builder().optDevice(device).optPlan(plan).build(weights)) {
                long w0 = System.nanoTime();
                model.forward(px, batch, size, size, EnumSet.of(RadioModel.Output.SUMMARY));
                if (System.nanoTime() - w0 < seconds * 1e9) {
                    // the profiling executor optimises the graph on the second run
                    model.forward(px, batch, size, size, EnumSet.of(RadioModel.Output.SUMMARY));
                }
                long t0 = System.nanoTime();
                long images = 0;
                do {
                    model.forward(px, batch, size, size, EnumSet.of(RadioModel.Output.SUMMARY));
                    images += batch;
                } while (System.nanoTime() - t0 < seconds * 1e9);
                double s = (System.nanoTime() - t0) / 1e9;
                r.put("images", images).put("img_per_s", Math.round(images / s * 100) / 100.0);
                return null;
            }
        });
    }

    private static byte[] resource(String name) {
        try (InputStream in = DoctorChecks.class.getResourceAsStream(GOLDEN + name)) {
            if (in == null) {
                throw new RadioException("The jar lacks the golden file " + GOLDEN + name
                        + " of radio doctor: rebuild it (mvn package) from a full checkout.");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static double maxAbs(float[] expected, float[] actual) {
        double max = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs((double) expected[i] - actual[i]);
            max = Double.isNaN(d) ? Double.POSITIVE_INFINITY : Math.max(max, d);
        }
        return max;
    }
}
