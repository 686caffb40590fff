package ai.radiospark.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Random;

/**
 * Not a test: {@code main} times a ViT-B-sized RADIO forward (random weights, d=768, 12 heads, MLP
 * 3072, 224px) with RadioModel (DJL NDArray ops, float32) against {@link TorchScriptRadio} in
 * float32 and bfloat16, interleaved round-robin so machine load hits every variant alike, and
 * reports summary cosine vs RadioModel.
 *
 * <p>args: [layers=12] [batch=8] [rounds=5]
 */
public final class ForwardDtypeBench {
  public static void main(String[] args) throws Exception {
    int layers = args.length > 0 ? Integer.parseInt(args[0]) : 12;
    int batch = args.length > 1 ? Integer.parseInt(args[1]) : 8;
    int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 5;
    Path dir = syntheticCheckpoint(Files.createTempDirectory("vitb"), 768, 12, layers, false);
    RadioWeights w = Checkpoint.open(dir).weights();
    int hw = 224;
    float[] px = new float[batch * 3 * hw * hw];
    Random r = new Random(7);
    for (int i = 0; i < px.length; i++) {
      px[i] = r.nextFloat();
    }
    try (RadioModel djl = RadioModel.builder().build(w);
        TorchScriptRadio ts32 = new TorchScriptRadio(w, TorchScriptRadio.FLOAT32);
        TorchScriptRadio ts16 = new TorchScriptRadio(w, TorchScriptRadio.BFLOAT16)) {
      int tokens = w.config().prefixTokens() + (hw / 16) * (hw / 16);
      float[] ref = djl.forward(px, batch, hw, hw, EnumSet.of(RadioModel.Output.SUMMARY)).summary();
      float[] s32 = ts32.summary(ts32.lastHiddenState(px, batch, hw, hw), batch, tokens);
      float[] s16 = ts16.summary(ts16.lastHiddenState(px, batch, hw, hw), batch, tokens);
      System.out.printf("summary cosine vs RadioModel f32: ts-f32 %.7f  ts-bf16 %.7f (min per image %.7f)%n",
          Golden.cosine(ref, s32), Golden.cosine(ref, s16), minCos(ref, s16, batch));
      double[][] t = new double[3][rounds];
      for (int k = 0; k < rounds; k++) {
        long a = System.nanoTime();
        djl.forward(px, batch, hw, hw, EnumSet.of(RadioModel.Output.SUMMARY));
        long b = System.nanoTime();
        ts32.lastHiddenState(px, batch, hw, hw);
        long c = System.nanoTime();
        ts16.lastHiddenState(px, batch, hw, hw);
        long d = System.nanoTime();
        t[0][k] = (b - a) / 1e6;
        t[1][k] = (c - b) / 1e6;
        t[2][k] = (d - c) / 1e6;
        System.out.printf("round %d: djl-f32 %.0f ms, ts-f32 %.0f ms, ts-bf16 %.0f ms%n", k, t[0][k], t[1][k], t[2][k]);
      }
      String[] names = {"RadioModel f32 (DJL ops)", "TorchScript f32 + SDPA", "TorchScript bf16 + SDPA"};
      for (int i = 0; i < 3; i++) {
        java.util.Arrays.sort(t[i]);
        System.out.printf("%-26s best %7.0f ms  median %7.0f ms  (%.1f img/s best)%n", names[i], t[i][0],
            t[i][rounds / 2], batch * 1000 / t[i][0]);
      }
      System.out.printf("speed-up bf16 vs RadioModel f32: best %.2fx median %.2fx%n", t[0][0] / t[2][0],
          t[0][rounds / 2] / t[2][rounds / 2]);
    }
  }

  static double minCos(float[] a, float[] b, int batch) {
    int n = a.length / batch;
    double min = 1;
    for (int i = 0; i < batch; i++) {
      min = Math.min(min, Golden.cosine(java.util.Arrays.copyOfRange(a, i * n, (i + 1) * n),
          java.util.Arrays.copyOfRange(b, i * n, (i + 1) * n)));
    }
    return min;
  }

  /** A hub-layout RADIO checkpoint with random weights (initializer_range 0.02). */
  static Path syntheticCheckpoint(Path dir, int d, int heads, int layers, boolean swiglu) throws Exception {
    ObjectMapper om = new ObjectMapper();
    ObjectNode cfg = (ObjectNode) om.readTree(Golden.checkpoint("tiny-vit").resolve("config.json").toFile());
    cfg.put("hidden_size", d).put("num_attention_heads", heads).put("num_hidden_layers", layers)
        .put("use_swiglu_ffn", swiglu);
    om.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), cfg);
    int mlp = 4 * d;
    Random r = new Random(42);
    SafetensorsWriter sw = new SafetensorsWriter(java.util.Map.of("format", "pt"));
    String m = "radio_model.model.";
    sw.add("radio_model.summary_idxs", new long[] {2}, new long[] {0, 1});
    sw.add("radio_model.input_conditioner.norm_mean", new long[] {3, 1, 1}, new float[] {0.48145466f, 0.4578275f,
        0.40821073f});
    sw.add("radio_model.input_conditioner.norm_std", new long[] {3, 1, 1}, new float[] {0.26862954f, 0.26130258f,
        0.27577711f});
    for (int i = 0; i < layers; i++) {
      String b = m + "blocks." + i + ".";
      sw.add(b + "attn.proj.bias", new long[] {d}, rnd(r, d, 0.02, 0));
      sw.add(b + "attn.proj.weight", new long[] {d, d}, rnd(r, d * d, 0.02, 0));
      sw.add(b + "attn.qkv.bias", new long[] {3 * d}, rnd(r, 3 * d, 0.02, 0));
      sw.add(b + "attn.qkv.weight", new long[] {3 * d, d}, rnd(r, 3 * d * d, 0.02, 0));
      sw.add(b + "layer_scale1.lambda1", new long[] {d}, rnd(r, d, 0.1, 1));
      sw.add(b + "layer_scale2.lambda1", new long[] {d}, rnd(r, d, 0.1, 1));
      int in = swiglu ? 2 * mlp : mlp;
      sw.add(b + "mlp.fc1.bias", new long[] {in}, rnd(r, in, 0.02, 0));
      sw.add(b + "mlp.fc1.weight", new long[] {in, d}, rnd(r, in * d, 0.02, 0));
      sw.add(b + "mlp.fc2.bias", new long[] {d}, rnd(r, d, 0.02, 0));
      sw.add(b + "mlp.fc2.weight", new long[] {d, mlp}, rnd(r, d * mlp, 0.02, 0));
      sw.add(b + "norm1.bias", new long[] {d}, rnd(r, d, 0.02, 0));
      sw.add(b + "norm1.weight", new long[] {d}, rnd(r, d, 0.1, 1));
      sw.add(b + "norm2.bias", new long[] {d}, rnd(r, d, 0.02, 0));
      sw.add(b + "norm2.weight", new long[] {d}, rnd(r, d, 0.1, 1));
    }
    sw.add(m + "patch_generator.cls_token.token", new long[] {10, d}, rnd(r, 10 * d, 0.02, 0));
    sw.add(m + "patch_generator.embedder.weight", new long[] {d, 768}, rnd(r, d * 768, 0.02, 0));
    sw.add(m + "patch_generator.pos_embed", new long[] {1, 256, d}, rnd(r, 256 * d, 0.02, 0));
    sw.write(dir.resolve("model.safetensors"));
    return dir;
  }

  static float[] rnd(Random r, int n, double std, double mean) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (mean + std * r.nextGaussian());
    }
    return v;
  }
}
