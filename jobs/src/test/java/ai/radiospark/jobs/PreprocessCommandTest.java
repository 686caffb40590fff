package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PreprocessCommandTest {
  private static final Path GOLDEN = Path.of("../transformer/src/test/resources/golden");
  private static final Path IMAGES = GOLDEN.resolve("images");

  @TempDir Path tmp;

  private record Run(int exit, String out, String err) {}

  private static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    String[] withCommand = new String[args.length + 1];
    withCommand[0] = "preprocess";
    System.arraycopy(args, 0, withCommand, 1, args.length);
    int exit = RadioCli.run(new PrintWriter(out), new PrintWriter(err), withCommand);
    return new Run(exit, out.toString(), err.toString());
  }

  /** Test-only reader: name to (header entry, float data). */
  private static JsonNode header(byte[] file) throws Exception {
    long n = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    assertEquals(0, (8 + n) % 8, "header padded to 8 bytes");
    return new ObjectMapper().readTree(new String(file, 8, (int) n, StandardCharsets.UTF_8));
  }

  private static float[] tensor(byte[] file, String name) throws Exception {
    long n = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    JsonNode t = header(file).get(name);
    assertEquals("F32", t.get("dtype").asText());
    int begin = t.get("data_offsets").get(0).asInt();
    int end = t.get("data_offsets").get(1).asInt();
    float[] f = new float[(end - begin) / 4];
    ByteBuffer.wrap(file, (int) (8 + n + begin), end - begin).slice()
        .order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
    return f;
  }

  @Test
  void writesGoldenCompatibleFileAndReportsRefusals() throws Exception {
    Path out = tmp.resolve("pixels.safetensors");
    Run r = run("--size", "224x224", "--output", out.toString(),
        IMAGES.resolve("china.jpg").toString(), IMAGES.resolve("not-an-image.jpg").toString(),
        IMAGES.resolve("chelsea.png").toString());
    assertEquals(0, r.exit(), r.err());
    List<String> errors = new ArrayList<>();
    for (String line : r.err().split("\n")) {
      if (!line.isBlank()) {
        errors.add(line);
      }
    }
    assertEquals(1, errors.size(), r.err());
    assertTrue(errors.get(0).startsWith("error: " + IMAGES.resolve("not-an-image.jpg")
        + ": Cannot decode image "), errors.get(0));
    assertTrue(errors.get(0).contains("not a JPEG, PNG, GIF, BMP, WebP or TIFF image"));
    assertTrue(r.out().contains("Wrote 2 image(s) to " + out + " (1 refused)"), r.out());

    byte[] file = Files.readAllBytes(out);
    JsonNode h = header(file);
    assertTrue(h.has("__metadata__"));
    assertFalse(h.has("not-an-image.jpg"));
    assertArrayEquals(new int[] {3, 224, 224}, new ObjectMapper()
        .convertValue(h.get("china.jpg").get("shape"), int[].class));
    byte[] golden = Files.readAllBytes(GOLDEN.resolve("images-pixel-values-224.safetensors"));
    for (String name : new String[] {"china.jpg", "chelsea.png"}) {
      float[] mine = tensor(file, name);
      float[] ref = tensor(golden, name);
      assertEquals(ref.length, mine.length);
      double max = 0;
      double sum = 0;
      for (int i = 0; i < ref.length; i++) {
        double d = Math.abs(mine[i] - ref[i]);
        max = Math.max(max, d);
        sum += d;
      }
      System.out.printf(Locale.ROOT, "CLI %s max %.6f mean %.3e%n", name, max, sum / ref.length);
      assertTrue(max <= 2.0 / 255 + 1e-6, name + " max " + max);
      assertTrue(sum / ref.length <= 5e-4, name + " mean " + sum / ref.length);
    }
  }

  @Test
  void nativeModeWritesSnappedShapes() throws Exception {
    Path out = tmp.resolve("native.safetensors");
    Run r = run("--mode", "native", "--output", out.toString(),
        IMAGES.resolve("china.jpg").toString());
    assertEquals(0, r.exit(), r.err());
    JsonNode shape = header(Files.readAllBytes(out)).get("china.jpg").get("shape");
    assertEquals("[3,336,512]", shape.toString());
  }

  @Test
  void allRefusedExitsOneAndWritesNothing() {
    Path out = tmp.resolve("none.safetensors");
    Run r = run("-o", out.toString(), IMAGES.resolve("truncated.jpg").toString(),
        IMAGES.resolve("not-an-image.jpg").toString());
    assertEquals(1, r.exit());
    assertTrue(r.err().contains("error: " + IMAGES.resolve("truncated.jpg")
        + ": Cannot decode image"), r.err());
    assertTrue(r.err().contains("all 2 image(s) were refused"), r.err());
    assertFalse(Files.exists(out));
  }

  @Test
  void invalidOptionsExitTwo() {
    Path out = tmp.resolve("x.safetensors");
    Run r = run("--mode", "diagonal", "-o", out.toString(), IMAGES.resolve("china.jpg").toString());
    assertEquals(2, r.exit());
    assertTrue(r.err().contains("Unknown resize mode 'diagonal'"), r.err());
    Run s = run("--size", "100x100", "-o", out.toString(), IMAGES.resolve("china.jpg").toString());
    assertEquals(2, s.exit());
    assertTrue(s.err().contains("does not fit the patch size 16"), s.err());
    Run n = run("--mode", "native", "--size", "224x224", "-o", out.toString(),
        IMAGES.resolve("china.jpg").toString());
    assertEquals(2, n.exit());
    assertTrue(n.err().contains("takes a single number"), n.err());
    assertFalse(Files.exists(out));
  }
}
