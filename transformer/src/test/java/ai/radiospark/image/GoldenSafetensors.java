package ai.radiospark.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Test-only reader of F32 tensors in a safetensors file. */
final class GoldenSafetensors {
    static final Path GOLDEN = Path.of("src/test/resources/golden");
    static final Path IMAGES = GOLDEN.resolve("images");

    static final Path SAMPLES = Path.of("src/test/resources/image-samples");

    /** F32 tensors have {@code data}, U8 tensors have {@code bytes}. */
    record Tensor(int[] shape, float[] data, byte[] bytes) {}

    private GoldenSafetensors() {}

    static Map<String, Tensor> read(Path file) throws IOException {
        byte[] all = Files.readAllBytes(file);
        if (file.toString().endsWith(".gz")) {
            try (java.util.zip.GZIPInputStream in =
                    new java.util.zip.GZIPInputStream(new java.io.ByteArrayInputStream(all))) {
                all = in.readAllBytes();
            }
        }
        ByteBuffer buf = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        long headerLen = buf.getLong(0);
        String json = new String(all, 8, (int) headerLen, StandardCharsets.UTF_8);
        JsonNode header = new ObjectMapper().readTree(json);
        int dataStart = 8 + (int) headerLen;
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                continue;
            }
            JsonNode t = e.getValue();
            String dtype = t.get("dtype").asText();
            if (!dtype.equals("F32") && !dtype.equals("U8")) {
                throw new IOException("only F32/U8 supported, got " + dtype + " for " + e.getKey());
            }
            List<Integer> shape = new ArrayList<>();
            t.get("shape").forEach(d -> shape.add(d.asInt()));
            long begin = t.get("data_offsets").get(0).asLong();
            long end = t.get("data_offsets").get(1).asLong();
            int[] dims = shape.stream().mapToInt(Integer::intValue).toArray();
            if (dtype.equals("U8")) {
                byte[] bytes = java.util.Arrays.copyOfRange(all, dataStart + (int) begin, dataStart + (int) end);
                out.put(e.getKey(), new Tensor(dims, null, bytes));
                continue;
            }
            float[] data = new float[(int) ((end - begin) / 4)];
            buf.position(dataStart + (int) begin);
            buf.slice().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(data);
            out.put(e.getKey(), new Tensor(dims, data, null));
        }
        return out;
    }
}
