package ai.radiospark.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;

/**
 * Minimal safetensors writer for float32 tensors: 8-byte little-endian header length, a JSON
 * header ({@code __metadata__} first, then tensors sorted by name, each with dtype F32, shape and
 * data_offsets) padded with spaces to a multiple of 8 bytes, then the little-endian data in header
 * order. Writes to a temporary file next to the target and moves it into place.
 */
final class SafetensorsF32Writer {
  /** A float32 tensor: {@code data[offset, offset + product(shape))}. */
  record Tensor(long[] shape, float[] data, int offset) {
    long length() {
      long n = 1;
      for (long d : shape) {
        n *= d;
      }
      return n;
    }
  }

  private SafetensorsF32Writer() {}

  static void write(Path file, SortedMap<String, Tensor> tensors, Map<String, String> metadata)
      throws IOException {
    Map<String, Object> header = new LinkedHashMap<>();
    if (metadata != null && !metadata.isEmpty()) {
      header.put("__metadata__", metadata);
    }
    long offset = 0;
    List<Tensor> order = new ArrayList<>();
    for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
      Tensor t = e.getValue();
      long bytes = t.length() * 4;
      Map<String, Object> info = new LinkedHashMap<>();
      info.put("dtype", "F32");
      info.put("shape", t.shape());
      info.put("data_offsets", new long[] {offset, offset + bytes});
      header.put(e.getKey(), info);
      offset += bytes;
      order.add(t);
    }
    byte[] json = new ObjectMapper().writeValueAsBytes(header);
    int padded = (json.length + 7) / 8 * 8;
    byte[] headerBytes = new byte[padded];
    System.arraycopy(json, 0, headerBytes, 0, json.length);
    for (int i = json.length; i < padded; i++) {
      headerBytes[i] = ' ';
    }
    Path dir = file.toAbsolutePath().getParent();
    Path tmp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp");
    try {
      try (OutputStream out = Files.newOutputStream(tmp)) {
        out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
        out.write(headerBytes);
        ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        for (Tensor t : order) {
          int end = Math.toIntExact(t.offset() + t.length());
          for (int i = t.offset(); i < end; i++) {
            if (!buf.hasRemaining()) {
              out.write(buf.array(), 0, buf.position());
              buf.clear();
            }
            buf.putFloat(t.data()[i]);
          }
        }
        out.write(buf.array(), 0, buf.position());
      }
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }
}
