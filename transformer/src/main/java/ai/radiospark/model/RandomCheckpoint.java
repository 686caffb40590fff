package ai.radiospark.model;

import ai.radiospark.RadioException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Random-weight RADIO checkpoints of named shapes, in the hub layout, for benchmarks, tests and
 * smoke runs. Their embeddings mean nothing: never use one for real work.
 *
 * <p>Weights are drawn as the golden models' were, far enough from their initial values that
 * every term of the forward pass matters: LayerNorm weights 1±0.2, biases ~0.1, matrices with
 * standard deviation 1/sqrt(fan_in), LayerScale in [0.5, 1].
 *
 * <pre>{@code
 * RandomCheckpoint.write(RandomCheckpoint.shape("base"), Path.of("/tmp/base"), 42);
 * }</pre>
 */
public final class RandomCheckpoint {
    private RandomCheckpoint() {}

    /**
     * The configuration of a named shape: {@code tiny} (d=64, 2 layers, 4 heads), {@code base}
     * (d=768, 12 layers, 12 heads), {@code large} (d=1024, 24 layers, 16 heads) or {@code huge}
     * (C-RADIOv4-H: d=1280, 32 layers, 16 heads). All use patch 16, 3 cls tokens and 7 registers.
     */
    public static RadioConfig shape(String name) {
        RadioConfig.Builder b = RadioConfig.builder();
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "tiny" ->
                b.hiddenSize(64)
                        .numHiddenLayers(2)
                        .numAttentionHeads(4)
                        .maxImgSize(512)
                        .build();
            case "base" ->
                b.hiddenSize(768).numHiddenLayers(12).numAttentionHeads(12).build();
            case "large" ->
                b.hiddenSize(1024).numHiddenLayers(24).numAttentionHeads(16).build();
            case "huge" -> b.build();
            default -> throw new RadioException("Unknown model shape \"" + name + "\". Use tiny, base, large or huge.");
        };
    }

    /** Writes {@code config.json} and {@code model.safetensors} with weights drawn from {@code seed}. */
    public static void write(RadioConfig c, Path dir, long seed) {
        SplittableRandom root = new SplittableRandom(seed);
        CheckpointWriter w = new CheckpointWriter(c);
        int d = c.hiddenSize();
        int p = c.patchSize();
        int g = c.positionGrid();
        int hf = c.mlpHiddenSize();
        String pre = "radio_model.";
        w.add(pre + "input_conditioner.norm_mean", new long[] {3, 1, 1}, c::normMean);
        w.add(pre + "input_conditioner.norm_std", new long[] {3, 1, 1}, c::normStd);
        w.addInt64(
                pre + "summary_idxs",
                new long[] {c.summaryIdxs().length},
                java.util.Arrays.stream(c.summaryIdxs()).asLongStream().toArray());
        String pg = pre + "model.patch_generator.";
        int fanIn = c.numChannels() * p * p;
        w.add(
                pg + "embedder.weight",
                new long[] {d, fanIn},
                normal(root.split(), (long) d * fanIn, 0, 1 / Math.sqrt(fanIn)));
        w.add(pg + "pos_embed", new long[] {1, (long) g * g, d}, normal(root.split(), (long) g * g * d, 0, 0.5));
        w.add(
                pg + "cls_token.token",
                new long[] {c.prefixTokens(), d},
                normal(root.split(), (long) c.prefixTokens() * d, 0, 1));
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String b = pre + "model.blocks." + i + ".";
            w.add(b + "norm1.weight", new long[] {d}, uniform(root.split(), d, 0.8, 1.2));
            w.add(b + "norm1.bias", new long[] {d}, normal(root.split(), d, 0, 0.1));
            w.add(b + "attn.qkv.weight", new long[] {3L * d, d}, normal(root.split(), 3L * d * d, 0, 1 / Math.sqrt(d)));
            if (c.qkvBias()) {
                w.add(b + "attn.qkv.bias", new long[] {3L * d}, normal(root.split(), 3L * d, 0, 0.1));
            }
            w.add(b + "attn.proj.weight", new long[] {d, d}, normal(root.split(), (long) d * d, 0, 1 / Math.sqrt(d)));
            w.add(b + "attn.proj.bias", new long[] {d}, normal(root.split(), d, 0, 0.1));
            w.add(b + "layer_scale1.lambda1", new long[] {d}, uniform(root.split(), d, 0.5, 1.0));
            w.add(b + "norm2.weight", new long[] {d}, uniform(root.split(), d, 0.8, 1.2));
            w.add(b + "norm2.bias", new long[] {d}, normal(root.split(), d, 0, 0.1));
            String in = c.useSwigluFfn() ? "mlp.weights_in." : "mlp.fc1.";
            String out = c.useSwigluFfn() ? "mlp.weights_out." : "mlp.fc2.";
            long inRows = c.useSwigluFfn() ? 2L * hf : hf;
            w.add(b + in + "weight", new long[] {inRows, d}, normal(root.split(), inRows * d, 0, 1 / Math.sqrt(d)));
            w.add(b + in + "bias", new long[] {inRows}, normal(root.split(), inRows, 0, 0.1));
            w.add(b + out + "weight", new long[] {d, hf}, normal(root.split(), (long) d * hf, 0, 1 / Math.sqrt(hf)));
            w.add(b + out + "bias", new long[] {d}, normal(root.split(), d, 0, 0.1));
            w.add(b + "layer_scale2.lambda1", new long[] {d}, uniform(root.split(), d, 0.5, 1.0));
        }
        w.write(dir);
    }

    private static java.util.function.Supplier<float[]> normal(SplittableRandom r, long n, double mean, double std) {
        return () -> {
            float[] v = new float[Math.toIntExact(n)];
            for (int i = 0; i < v.length; i += 2) {
                // Box-Muller: two normals per two uniforms, reproducible from the split generator.
                double u1 = 1.0 - r.nextDouble();
                double u2 = r.nextDouble();
                double rad = Math.sqrt(-2 * Math.log(u1));
                v[i] = (float) (mean + std * rad * Math.cos(2 * Math.PI * u2));
                if (i + 1 < v.length) {
                    v[i + 1] = (float) (mean + std * rad * Math.sin(2 * Math.PI * u2));
                }
            }
            return v;
        };
    }

    private static java.util.function.Supplier<float[]> uniform(SplittableRandom r, long n, double lo, double hi) {
        return () -> {
            float[] v = new float[Math.toIntExact(n)];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (lo + (hi - lo) * r.nextDouble());
            }
            return v;
        };
    }
}
