package ai.radiospark.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.radiospark.JavaSerialization;
import ai.radiospark.RadioException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading checkpoints: dtypes, shards, bytes in memory, and every way a checkpoint can be broken. */
class CheckpointTest {
    /**
     * BF16 weights keep 8 significant bits (relative rounding 2⁻⁹). Rounding the golden weights
     * alone moves tiny-vit's outputs by up to 0.017 on summary values near 0.8 and 0.027 on
     * features near 3 (the float32 path is within 3e-6 of the reference, so this is the weights,
     * not the forward pass), and the error does not scale with the value: a flat 1e-2 is out of
     * reach (tiny-swiglu's features move by 0.062, eight times its F16 error, as 3 fewer mantissa
     * bits predict), so BF16 is held to 0.1 and a summary cosine above 0.9999. F16 keeps 11 bits and
     * stays within 1e-2.
     */
    static final double BF16_ATOL = 0.1;

    static final double F16_ATOL = 1e-2;

    @TempDir
    Path tmp;

    static RadioOutput run(RadioWeights w, SafetensorsFile golden) {
        TensorInfo px = golden.info("pixel_values");
        try (RadioModel m = RadioModel.builder().build(w)) {
            return m.forward(
                    golden.floats("pixel_values"), (int) px.shape()[0], (int) px.shape()[2], (int) px.shape()[3]);
        }
    }

    static SafetensorsFile case0(String model) {
        return Golden.file(model + "/case0_2x3x224x224.safetensors");
    }

    @Test
    void bf16AndShardedCheckpointsGiveTheReferenceOutputs() {
        for (String model : new String[] {"tiny-vit", "tiny-swiglu"}) {
            SafetensorsFile golden = case0(model);
            Checkpoint src = Checkpoint.open(Golden.checkpoint(model));
            Path bf16 = tmp.resolve(model + "-bf16");
            CheckpointWriter.rewrite(src, bf16, TensorType.BF16, 1);
            Path sharded = tmp.resolve(model + "-2shards");
            CheckpointWriter.rewrite(src, sharded, TensorType.F32, 2);
            Path bf16Sharded = tmp.resolve(model + "-bf16-2shards");
            CheckpointWriter.rewrite(src, bf16Sharded, TensorType.BF16, 2);
            Path f16 = tmp.resolve(model + "-f16");
            CheckpointWriter.rewrite(src, f16, TensorType.F16, 1);

            assertTrue(Files.exists(sharded.resolve("model-00001-of-00002.safetensors")));
            assertTrue(Files.exists(sharded.resolve("model-00002-of-00002.safetensors")));
            assertTrue(Files.exists(sharded.resolve("model.safetensors.index.json")));
            assertEquals(
                    TensorType.BF16,
                    Checkpoint.open(bf16)
                            .tensorInfos()
                            .get("radio_model.model.patch_generator.pos_embed")
                            .type());

            RadioOutput exact = run(Checkpoint.open(sharded).weights(), golden);
            Golden.assertClose(golden.floats("summary"), exact.summary(), 1e-4, model + " sharded summary");
            Golden.assertClose(golden.floats("features"), exact.features(), 1e-4, model + " sharded features");
            for (Path dir : new Path[] {f16, bf16, bf16Sharded}) {
                RadioOutput out = run(Checkpoint.open(dir).weights(), golden);
                double atol = dir.equals(f16) ? F16_ATOL : BF16_ATOL;
                double s = Golden.assertClose(golden.floats("summary"), out.summary(), atol, dir + " summary");
                double f = Golden.assertClose(golden.floats("features"), out.features(), atol, dir + " features");
                double cos = Golden.cosine(golden.floats("summary"), out.summary());
                assertTrue(cos > 0.9999, dir + " summary cosine " + cos);
                System.out.printf(
                        "%s: summary max err %.4f, features max err %.4f, summary cosine %.6f%n",
                        dir.getFileName(), s, f, cos);
            }
        }
    }

    @Test
    void checkpointFromBytesInMemoryEqualsTheDirectory() throws IOException {
        Path dir = Golden.checkpoint("tiny-vit");
        Map<String, byte[]> files = new HashMap<>();
        files.put("config.json", Files.readAllBytes(dir.resolve("config.json")));
        files.put("model.safetensors", Files.readAllBytes(dir.resolve("model.safetensors")));
        Checkpoint fromBytes = Checkpoint.fromBytes("tiny-vit", files);
        Checkpoint fromDir = Checkpoint.open(dir);
        assertEquals(fromDir.sha256(), fromBytes.sha256());
        SafetensorsFile golden = case0("tiny-vit");
        assertArrayEquals(
                run(fromDir.weights(), golden).summary(),
                run(fromBytes.weights(), golden).summary());

        Path sharded = tmp.resolve("sharded");
        CheckpointWriter.rewrite(fromDir, sharded, TensorType.F32, 2);
        Map<String, byte[]> shardFiles = new HashMap<>();
        try (Stream<Path> s = Files.list(sharded)) {
            for (Path p : s.toList()) {
                shardFiles.put(p.getFileName().toString(), Files.readAllBytes(p));
            }
        }
        Golden.assertClose(
                golden.floats("summary"),
                run(Checkpoint.fromBytes("sharded", shardFiles).weights(), golden)
                        .summary(),
                1e-4,
                "sharded from bytes");
    }

    @Test
    void weightsSurviveJavaSerializationAsABroadcastWould() throws Exception {
        RadioWeights w = Checkpoint.open(Golden.checkpoint("tiny-swiglu")).weights();
        RadioWeights back = JavaSerialization.roundTrip(w);
        assertEquals(w.checkpointSha256(), back.checkpointSha256());
        assertEquals(w.config(), back.config());
        assertEquals(w.tensors().keySet(), back.tensors().keySet());
        SafetensorsFile golden = case0("tiny-swiglu");
        assertArrayEquals(run(w, golden).features(), run(back, golden).features());
    }

    @Test
    void adaptorHeadsAreSkippedAndMissingLayerScaleIsIdentity() {
        Checkpoint src = Checkpoint.open(Golden.checkpoint("tiny-vit"));
        // Extra tensors, as published checkpoints carry: loaded fine, outputs unchanged.
        Path extra = copyWith(
                src, tmp.resolve("extra"), n -> true, Map.of("radio_model.adaptors.clip.head.weight", new long[] {8, 64
                }));
        SafetensorsFile golden = case0("tiny-vit");
        Golden.assertClose(
                golden.floats("summary"),
                run(Checkpoint.open(extra).weights(), golden).summary(),
                1e-4,
                "extra");

        // LayerScale lambdas omitted mean identity: equal to lambdas of exactly 1.
        Path noLs = copyWith(src, tmp.resolve("no-ls"), n -> !n.contains("layer_scale"), Map.of());
        Path onesLs = tmp.resolve("ones-ls");
        CheckpointWriter w = new CheckpointWriter(src.config());
        for (var e : src.tensorInfos().entrySet()) {
            if (e.getKey().contains("layer_scale")) {
                w.add(e.getKey(), e.getValue().shape(), () -> ones(64));
            } else if (e.getValue().type() == TensorType.I64) {
                w.addInt64(e.getKey(), e.getValue().shape(), new long[] {0, 1});
            } else {
                w.add(
                        e.getKey(),
                        e.getValue().shape(),
                        () -> src.tensor(e.getKey()).floats());
            }
        }
        w.write(onesLs);
        RadioWeights noLsWeights = Checkpoint.open(noLs).weights();
        assertTrue(noLsWeights.tensors().keySet().stream().noneMatch(k -> k.endsWith(".ls1") || k.endsWith(".ls2")));
        assertArrayEquals(
                run(Checkpoint.open(onesLs).weights(), golden).summary(),
                run(noLsWeights, golden).summary());
    }

    @Test
    void checkpointsWithNonFiniteWeightsAreRefusedNamingTheTensor() {
        Checkpoint src = Checkpoint.open(Golden.checkpoint("tiny-vit"));
        String qkv = "radio_model.model.blocks.1.attn.qkv.weight"; // [192, 64]
        for (TensorType type : new TensorType[] {TensorType.F32, TensorType.BF16, TensorType.F16}) {
            Path dir = tmp.resolve("nan-" + type);
            // A NaN, both infinities, the last element included (the scan's tail); largest finite kept.
            writeWith(src, dir, type, 1, qkv, v -> {
                v[5] = Float.NaN;
                v[100] = Float.POSITIVE_INFINITY;
                v[v.length - 1] = Float.NEGATIVE_INFINITY;
                v[7] = type == TensorType.F16
                        ? 65504f // the largest finite value of each type
                        : type == TensorType.BF16 ? Float.intBitsToFloat(0x7f7f0000) : Float.MAX_VALUE;
            });
            String m = message(() -> Checkpoint.open(dir).weights());
            assertEquals(
                    "Cannot load model " + dir + ": tensor '" + qkv + "' in " + dir.resolve("model.safetensors")
                            + " has 3 non-finite values (NaN or Inf) among its 12288: the checkpoint is corrupt. Re-download it, or "
                            + "re-export it from a model with finite weights.",
                    m,
                    type.toString());
        }
        // Sharded, and held in memory as a broadcast delivers it: the same check.
        Path sharded = tmp.resolve("nan-sharded");
        String patch = "radio_model.model.patch_generator.embedder.weight";
        writeWith(src, sharded, TensorType.BF16, 2, patch, v -> v[0] = Float.NaN);
        String m = message(() -> Checkpoint.open(sharded).weights());
        assertTrue(
                m.startsWith("Cannot load model " + sharded + ": tensor '" + patch + "' in "
                        + sharded.resolve("model-00002-of-00002.safetensors")
                        + " has 1 non-finite value (NaN or Inf) among "
                        + "its 49152: the checkpoint is corrupt."),
                m);
        Map<String, byte[]> files = new HashMap<>();
        try (Stream<Path> list = Files.list(sharded)) {
            list.forEach(f -> files.put(f.getFileName().toString(), readAll(f)));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        m = message(() -> Checkpoint.fromBytes("mem", files).weights());
        assertTrue(
                m.startsWith("Cannot load model mem: tensor '" + patch + "' in mem/model-00002-of-00002.safetensors "
                        + "has 1 non-finite value"),
                m);
    }

    @Test
    void nonFiniteCountsEveryLaneOfEveryType() {
        float[] v = new float[19]; // 19: whole longs plus a tail for each type
        v[0] = Float.NaN;
        v[3] = Float.NEGATIVE_INFINITY;
        v[9] = 1e-40f; // subnormal: finite
        v[17] = Float.POSITIVE_INFINITY;
        v[18] = -0f;
        for (TensorType type : new TensorType[] {TensorType.F32, TensorType.BF16, TensorType.F16}) {
            assertEquals(3, TensorConversions.nonFinite(type, CheckpointWriter.encode(v, type)), type.toString());
            assertEquals(
                    0,
                    TensorConversions.nonFinite(type, CheckpointWriter.encode(new float[19], type)),
                    type.toString());
        }
        assertEquals(
                0,
                TensorConversions.nonFinite(
                        TensorType.I64, java.nio.ByteBuffer.allocate(16).putLong(0, -1L)));
    }

    private static byte[] readAll(Path f) {
        try {
            return Files.readAllBytes(f);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Writes {@code src} with {@code type} floats into {@code dir}, {@code edit} changing one tensor's values. */
    private static void writeWith(
            Checkpoint src,
            Path dir,
            TensorType type,
            int shards,
            String name,
            java.util.function.Consumer<float[]> edit) {
        CheckpointWriter w =
                new CheckpointWriter(src.config()).optFloatType(type).optShards(shards);
        for (var e : src.tensorInfos().entrySet()) {
            if (e.getValue().type() == TensorType.I64) {
                w.addInt64(
                        e.getKey(),
                        e.getValue().shape(),
                        TensorConversions.toLongs(
                                e.getValue(), src.tensor(e.getKey()).data(), "golden"));
            } else {
                w.add(e.getKey(), e.getValue().shape(), () -> {
                    float[] values = src.tensor(e.getKey()).floats();
                    if (e.getKey().equals(name)) {
                        edit.accept(values);
                    }
                    return values;
                });
            }
        }
        w.write(dir);
    }

    private static float[] ones(int n) {
        float[] v = new float[n];
        java.util.Arrays.fill(v, 1f);
        return v;
    }

    /** Copies a checkpoint keeping the tensors {@code keep} accepts, adding zero tensors {@code add}. */
    private static Path copyWith(Checkpoint src, Path dir, Predicate<String> keep, Map<String, long[]> add) {
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("config.json"), src.config().toJson());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        SafetensorsWriter w = new SafetensorsWriter();
        src.tensorInfos().keySet().stream().filter(keep).forEach(n -> w.add(src.tensor(n)));
        add.forEach((name, shape) -> w.add(name, shape, new float[(int) (shape[0] * shape[1])]));
        w.write(dir.resolve("model.safetensors"));
        return dir;
    }

    private static String message(Runnable r) {
        return assertThrows(RadioException.class, r::run).getMessage();
    }

    @Test
    void brokenCheckpointsGiveClearErrors() throws IOException {
        Checkpoint src = Checkpoint.open(Golden.checkpoint("tiny-vit"));
        String qkv = "radio_model.model.blocks.1.attn.qkv.weight";

        Path missing = copyWith(src, tmp.resolve("missing"), n -> !n.equals(qkv), Map.of());
        String m = message(() -> Checkpoint.open(missing).weights());
        assertTrue(m.contains("tensor '" + qkv + "' (expected shape [192, 64]) is missing"), m);

        Path wrongShape = tmp.resolve("wrong-shape");
        CheckpointWriter.rewrite(src, wrongShape, TensorType.F32, 1);
        Files.writeString(
                wrongShape.resolve("config.json"),
                Files.readString(wrongShape.resolve("config.json"))
                        .replace("\"num_registers\" : 7", "\"num_registers\" : 6"));
        m = message(() -> Checkpoint.open(wrongShape).weights());
        assertTrue(
                m.contains("tensor 'radio_model.model.patch_generator.cls_token.token' has shape [10, 64], "
                        + "but config.json implies [9, 64]"),
                m);

        Path truncated = tmp.resolve("truncated");
        Files.createDirectories(truncated);
        Files.copy(Golden.checkpoint("tiny-vit").resolve("config.json"), truncated.resolve("config.json"));
        byte[] full = Files.readAllBytes(Golden.checkpoint("tiny-vit").resolve("model.safetensors"));
        Files.write(truncated.resolve("model.safetensors"), java.util.Arrays.copyOf(full, full.length / 2));
        m = message(() -> Checkpoint.open(truncated));
        assertTrue(m.contains("model.safetensors is truncated: tensor '") && m.contains("Re-download"), m);

        Files.write(truncated.resolve("model.safetensors"), java.util.Arrays.copyOf(full, 100));
        m = message(() -> Checkpoint.open(truncated));
        assertTrue(m.contains("is truncated: its header needs"), m);

        // A header whose data_offsets disagree with dtype and shape.
        String header = new String(full, 8, 3568, StandardCharsets.UTF_8);
        String lie = header.replaceFirst("\"shape\":\\[2\\]", "\"shape\":[3]");
        assertTrue(!lie.equals(header), "test setup: summary_idxs shape not found in header");
        byte[] lying = full.clone();
        System.arraycopy(lie.getBytes(StandardCharsets.UTF_8), 0, lying, 8, lie.length());
        Files.write(truncated.resolve("model.safetensors"), lying);
        m = message(() -> Checkpoint.open(truncated));
        assertTrue(
                m.contains("has a header that lies about tensor 'radio_model.summary_idxs': I64[3] needs 24 bytes, "
                        + "but its data_offsets [0,16] span 16"),
                m);

        Path sharded = tmp.resolve("sharded");
        CheckpointWriter.rewrite(src, sharded, TensorType.F32, 2);
        Files.delete(sharded.resolve("model-00002-of-00002.safetensors"));
        m = message(() -> Checkpoint.open(sharded));
        assertTrue(
                m.contains(
                                "shard model-00002-of-00002.safetensors, listed in model.safetensors.index.json for tensor '")
                        && m.contains("is missing. Re-download the checkpoint (all shards)."),
                m);

        Path noConfig = tmp.resolve("no-config");
        Files.createDirectories(noConfig);
        m = message(() -> Checkpoint.open(noConfig));
        assertTrue(m.contains("it has no config.json"), m);

        m = message(() -> Checkpoint.open(tmp.resolve("does-not-exist")));
        assertTrue(m.contains("no such directory") && m.contains("hub id"), m);

        Path noWeights = tmp.resolve("no-weights");
        Files.createDirectories(noWeights);
        Files.copy(Golden.checkpoint("tiny-vit").resolve("config.json"), noWeights.resolve("config.json"));
        m = message(() -> Checkpoint.open(noWeights));
        assertTrue(m.contains("neither model.safetensors nor model.safetensors.index.json"), m);
    }

    @Test
    void configDefaultsUnknownKeysAndValidation() {
        RadioConfig c = RadioConfig.fromJson("{\"model_type\":\"radio\",\"some_future_key\":{\"x\":1}}", "c.json");
        assertEquals(1280, c.hiddenSize());
        assertEquals(32, c.numHiddenLayers());
        assertEquals(16, c.numAttentionHeads());
        assertEquals(2560, c.summaryDim());
        assertEquals(128, c.positionGrid());
        assertEquals(10, c.prefixTokens());
        assertEquals(5120, c.mlpHiddenSize());

        String m = message(() -> RadioConfig.fromJson("{\"hidden_size\":64,\"num_attention_heads\":5}", "c.json"));
        assertTrue(m.contains("hidden_size 64 is not divisible by num_attention_heads 5"), m);
        m = message(() -> RadioConfig.fromJson("{\"summary_idxs\":[0,3]}", "c.json"));
        assertTrue(m.contains("summary_idxs [0, 3] must index the 3 cls tokens"), m);
        m = message(() -> RadioConfig.fromJson("{\"model_type\":\"vit\"}", "c.json"));
        assertTrue(m.contains("has model_type \"vit\", not \"radio\""), m);
        m = message(() -> RadioConfig.fromJson("{\"hidden_size\":\"big\"}", "c.json"));
        assertTrue(m.contains("hidden_size = \"big\", but it must be an integer"), m);
        m = message(() -> RadioConfig.fromJson("{not json", "c.json"));
        assertTrue(m.contains("Cannot read the RADIO config c.json: it is not valid JSON"), m);
        m = message(() -> RadioConfig.fromJson("{\"max_img_size\":100}", "c.json"));
        assertTrue(m.contains("max_img_size 100 is not a multiple of patch_size 16"), m);

        RadioConfig tiny = RadioCheckpoints.tinyVitConfig();
        assertEquals(64, tiny.hiddenSize());
        assertEquals(tiny, RadioConfig.fromJson(tiny.toJson(), "roundtrip"));
    }
}
