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

  record Tensor(int[] shape, float[] data) {}

  private GoldenSafetensors() {}

  static Map<String, Tensor> read(Path file) throws IOException {
    byte[] all = Files.readAllBytes(file);
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
      if (!t.get("dtype").asText().equals("F32")) {
        throw new IOException("only F32 supported, got " + t.get("dtype") + " for " + e.getKey());
      }
      List<Integer> shape = new ArrayList<>();
      t.get("shape").forEach(d -> shape.add(d.asInt()));
      long begin = t.get("data_offsets").get(0).asLong();
      long end = t.get("data_offsets").get(1).asLong();
      float[] data = new float[(int) ((end - begin) / 4)];
      buf.position(dataStart + (int) begin);
      buf.slice().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(data);
      out.put(e.getKey(), new Tensor(shape.stream().mapToInt(Integer::intValue).toArray(), data));
    }
    return out;
  }
}
