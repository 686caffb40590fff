package ai.radiospark.bench;

import ai.radiospark.model.Checkpoint;
import ai.radiospark.model.ModelDType;
import ai.radiospark.model.RadioConfig;
import ai.radiospark.model.RadioModel;
import ai.radiospark.model.RadioWeights;
import ai.radiospark.model.RandomCheckpoint;
import ai.radiospark.model.TorchEngine;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Where a forward pass's time goes, by libtorch operator: passes run under libtorch's profiler
 * ({@link TorchEngine#startProfile}, DJL's {@code JniUtils.startProfile}; a Chrome trace), each operator's self
 * time (its time minus that of the operators it called), per call site the fastest of the passes
 * (they run the same operators in the same order), so that time a thread spent descheduled on a
 * loaded machine counts as little as the passes allow. {@link #parts} groups the operators into
 * the forward's parts for {@code radio bench} ({@code forward_bf16.parts}); {@link #main} prints
 * the operators.
 *
 * <pre>{@code
 * java -cp ... ai.radiospark.bench.ForwardProfile [dtype=bfloat16] [shape=base] [batch=8] [passes=4]
 * }</pre>
 */
public final class ForwardProfile {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The forward's parts, and the operators of each (by name; the rest is "other"). */
    static final Map<String, List<String>> PARTS = new LinkedHashMap<>();

    static {
        PARTS.put(
                "linears",
                List.of("mkldnn::_linear_pointwise", "aten::addmm", "aten::mm", "aten::linear", "aten::gelu"));
        PARTS.put(
                "attention",
                List.of(
                        "aten::_scaled_dot_product_flash_attention_for_cpu",
                        "aten::_scaled_dot_product_flash_attention",
                        "aten::_scaled_dot_product_efficient_attention",
                        "aten::_scaled_dot_product_cudnn_attention",
                        "aten::scaled_dot_product_attention",
                        "aten::bmm",
                        "aten::_softmax"));
        PARTS.put("layer_norm", List.of("aten::native_layer_norm", "aten::layer_norm"));
        PARTS.put("dtype_conversions", List.of("aten::copy_", "aten::_to_copy", "aten::to"));
        PARTS.put("residual", List.of("aten::addcmul", "aten::add", "aten::add_"));
    }

    private ForwardProfile() {}

    /**
     * Runs {@code passes} calls of {@code pass} under the profiler; returns per operator name its
     * self time of one pass in milliseconds (per call site the fastest pass) and its calls per pass.
     */
    static Map<String, double[]> profile(Runnable pass, int passes) {
        Path trace = null;
        try {
            trace = Files.createTempFile("radio-profile", ".json");
            TorchEngine.startProfile();
            try {
                for (int i = 0; i < passes; i++) {
                    pass.run();
                }
            } finally {
                TorchEngine.stopProfile(trace);
            }
            return selfTimes(JSON.readTree(trace.toFile()), passes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            if (trace != null) {
                trace.toFile().delete();
            }
        }
    }

    /**
     * The operators' self times grouped into {@link #PARTS} and "other": per part {@code ms} (per
     * pass) and {@code share} of the total, and the rates of the linears and of attention against
     * their FLOPs per pass ({@code gflops}).
     */
    static ObjectNode parts(Map<String, double[]> ops, double linearFlops, double attentionFlops) {
        Map<String, Double> ms = new LinkedHashMap<>();
        PARTS.keySet().forEach(k -> ms.put(k, 0.0));
        ms.put("other", 0.0);
        double total = 0;
        for (Map.Entry<String, double[]> e : ops.entrySet()) {
            String part = "other";
            for (Map.Entry<String, List<String>> p : PARTS.entrySet()) {
                if (p.getValue().contains(e.getKey())) {
                    part = p.getKey();
                }
            }
            ms.merge(part, e.getValue()[0], Double::sum);
            total += e.getValue()[0];
        }
        ObjectNode out = JSON.createObjectNode();
        out.put("ms", BenchFigures.round(total, 1));
        for (Map.Entry<String, Double> e : ms.entrySet()) {
            ObjectNode p = out.putObject(e.getKey());
            p.put("ms", BenchFigures.round(e.getValue(), 2));
            p.put("share", BenchFigures.round(total > 0 ? e.getValue() / total : 0, 3));
        }
        ((ObjectNode) out.get("linears")).put("gflops", BenchFigures.round(linearFlops / ms.get("linears") / 1e6, 1));
        ((ObjectNode) out.get("attention"))
                .put("gflops", BenchFigures.round(attentionFlops / ms.get("attention") / 1e6, 1));
        return out;
    }

    /** FLOPs of the block linears of one image: 2·L·N·(4·d² + 2·d·mlp). */
    static double linearFlopsPerImage(RadioConfig c, int tokens) {
        double d = c.hiddenSize();
        return 2.0 * c.numHiddenLayers() * tokens * (4 * d * d + 2 * d * c.mlpHiddenSize());
    }

    /** FLOPs of attention (q·kᵀ and p·v) of one image: 2·L·2·N²·d. */
    static double attentionFlopsPerImage(RadioConfig c, int tokens) {
        return 2.0 * c.numHiddenLayers() * 2.0 * tokens * tokens * c.hiddenSize();
    }

    public static void main(String[] args) throws Exception {
        ModelDType dtype = ModelDType.parse(args.length > 0 ? args[0] : "bfloat16");
        String shape = args.length > 1 ? args[1] : "base";
        int batch = args.length > 2 ? Integer.parseInt(args[2]) : 8;
        int passes = args.length > 3 ? Integer.parseInt(args[3]) : 4;
        RadioConfig c = RandomCheckpoint.shape(shape);
        int tokens = c.prefixTokens() + (224 / c.patchSize()) * (224 / c.patchSize());
        Path dir = Files.createTempDirectory("radio-profile");
        RandomCheckpoint.write(c, dir, 42);
        RadioWeights w = Checkpoint.open(dir).weights();
        float[] px = new float[batch * 3 * 224 * 224];
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < px.length; i++) {
            px[i] = (float) r.nextDouble();
        }
        EnumSet<RadioModel.Output> summary = EnumSet.of(RadioModel.Output.SUMMARY);
        try (RadioModel m = RadioModel.builder().optDType(dtype).build(w)) {
            for (int i = 0; i < 2; i++) {
                m.forward(px, batch, 224, 224, summary);
            }
            Map<String, double[]> ops = profile(() -> m.forward(px, batch, 224, 224, summary), passes);
            double total = ops.values().stream().mapToDouble(v -> v[0]).sum();
            System.out.printf(
                    "%s %s, batch %d at 224x224: operators' self time %.1f ms per forward (per call site the fastest of %d)%n",
                    shape, dtype, batch, total, passes);
            List<Map.Entry<String, double[]>> sorted = new ArrayList<>(ops.entrySet());
            sorted.sort(Comparator.comparingDouble(e -> -e.getValue()[0]));
            for (Map.Entry<String, double[]> e : sorted.subList(0, Math.min(25, sorted.size()))) {
                System.out.printf(
                        "  %-55s %9.2f ms %5.1f%% %5.0f calls%n",
                        e.getKey(), e.getValue()[0], 100 * e.getValue()[0] / total, e.getValue()[1]);
            }
            System.out.println(
                    parts(ops, batch * linearFlopsPerImage(c, tokens), batch * attentionFlopsPerImage(c, tokens))
                            .toPrettyString());
        } finally {
            BenchFigures.deleteTree(dir);
        }
    }

    /**
     * Per operator name, the self time in ms (nested events' time subtracted) of one pass and its
     * calls per pass, per call site the fastest of the {@code passes} passes.
     *
     * @throws IllegalStateException if a thread's events do not split into equal passes
     */
    static Map<String, double[]> selfTimes(JsonNode trace, int passes) {
        JsonNode events = trace.isArray() ? trace : trace.path("traceEvents");
        Map<String, List<JsonNode>> byThread = new LinkedHashMap<>();
        for (JsonNode e : events) {
            if ("X".equals(e.path("ph").asText()) && e.has("dur")) {
                byThread.computeIfAbsent(e.path("tid").asText(), k -> new ArrayList<>())
                        .add(e);
            }
        }
        Map<String, double[]> self = new LinkedHashMap<>();
        for (List<JsonNode> list : byThread.values()) {
            list.sort(Comparator.comparingDouble((JsonNode e) -> e.path("ts").asDouble())
                    .thenComparingDouble(e -> -e.path("dur").asDouble()));
            Deque<double[]> stack = new ArrayDeque<>(); // {end, index}
            double[] selfOf = new double[list.size()];
            for (int i = 0; i < list.size(); i++) {
                JsonNode e = list.get(i);
                double ts = e.path("ts").asDouble();
                double dur = e.path("dur").asDouble();
                while (!stack.isEmpty() && stack.peek()[0] <= ts) {
                    stack.pop();
                }
                selfOf[i] = dur;
                if (!stack.isEmpty()) {
                    selfOf[(int) stack.peek()[1]] -= dur;
                }
                stack.push(new double[] {ts + dur, i});
            }
            int per = list.size() / passes;
            if (per * passes != list.size()) {
                throw new IllegalStateException(
                        "The profile's " + list.size() + " events on one thread are not " + passes + " equal passes");
            }
            for (int i = 0; i < per; i++) {
                double best = Double.MAX_VALUE;
                for (int k = 0; k < passes; k++) {
                    best = Math.min(best, selfOf[k * per + i]);
                }
                double[] v = self.computeIfAbsent(list.get(i).path("name").asText(), k -> new double[2]);
                v[0] += best / 1000;
                v[1]++;
            }
        }
        return self;
    }
}
