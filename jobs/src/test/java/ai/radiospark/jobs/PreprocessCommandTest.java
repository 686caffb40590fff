package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.radiospark.model.SafetensorsFile;
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
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PreprocessCommandTest {
    private static final Path GOLDEN = ai.radiospark.model.GoldenResources.dir();
    private static final Path IMAGES = GOLDEN.resolve("images");

    @TempDir
    Path tmp;

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
        ByteBuffer.wrap(file, (int) (8 + n + begin), end - begin)
                .slice()
                .order(ByteOrder.LITTLE_ENDIAN)
                .asFloatBuffer()
                .get(f);
        return f;
    }

    @Test
    void stacksImagesOfOneSizeAsPixelValuesAndExitsOneForARefusal() throws Exception {
        Path out = tmp.resolve("pixels.safetensors");
        Run r = run(
                "--size",
                "224x224",
                "--output",
                out.toString(),
                IMAGES.resolve("china.jpg").toString(),
                IMAGES.resolve("not-an-image.jpg").toString(),
                IMAGES.resolve("chelsea.png").toString());
        assertEquals(1, r.exit(), "an image was refused: " + r.err());
        List<String> errors = new ArrayList<>();
        for (String line : r.err().split("\n")) {
            if (!line.isBlank()) {
                errors.add(line);
            }
        }
        assertEquals(1, errors.size(), r.err());
        assertTrue(
                errors.get(0).startsWith("error: " + IMAGES.resolve("not-an-image.jpg") + ": Cannot decode image "),
                errors.get(0));
        assertTrue(errors.get(0).contains("not a JPEG, PNG, GIF, BMP, WebP or TIFF image"));
        assertEquals(
                "Wrote 2 image(s) as pixel_values (2, 3, 224, 224) to " + out + " (1 refused)",
                r.out().trim());

        byte[] file = Files.readAllBytes(out);
        JsonNode h = header(file);
        assertTrue(h.has("__metadata__"));
        assertEquals(
                List.of("__metadata__", "pixel_values"),
                fieldNames(h).stream().sorted().toList());
        assertArrayEquals(
                new int[] {2, 3, 224, 224},
                new ObjectMapper().convertValue(h.get("pixel_values").get("shape"), int[].class));
        assertEquals(
                "[\"china.jpg\",\"chelsea.png\"]",
                h.get("__metadata__").get("images").asText(),
                "in input order");
        float[] stacked = tensor(file, "pixel_values");
        byte[] golden = Files.readAllBytes(GOLDEN.resolve("images-pixel-values-224.safetensors"));
        String[] order = {"china.jpg", "chelsea.png"};
        for (int k = 0; k < order.length; k++) {
            String name = order[k];
            float[] ref = tensor(golden, name);
            float[] mine = Arrays.copyOfRange(stacked, k * ref.length, (k + 1) * ref.length);
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
        Run r = run(
                "--resize-mode",
                "native",
                "--output",
                out.toString(),
                IMAGES.resolve("china.jpg").toString());
        assertEquals(0, r.exit(), r.err());
        JsonNode shape = header(Files.readAllBytes(out)).get("pixel_values").get("shape");
        assertEquals("[1,3,336,512]", shape.toString());
    }

    /** native-buckets: a 320x214 image (3:2) becomes the 3:2 shape at the cap, where native keeps its size. */
    @Test
    void nativeBucketsModeWritesTheNearestShape() throws Exception {
        for (String mode : new String[] {"native", "native-buckets"}) {
            Path out = tmp.resolve(mode + "-512.safetensors");
            Run r = run(
                    "--resize-mode",
                    mode,
                    "--size",
                    "512",
                    "--output",
                    out.toString(),
                    IMAGES.resolve("palette.png").toString());
            assertEquals(0, r.exit(), r.err());
            JsonNode shape = header(Files.readAllBytes(out)).get("pixel_values").get("shape");
            assertEquals(mode.equals("native") ? "[1,3,208,320]" : "[1,3,336,512]", shape.toString(), mode);
        }
    }

    @Test
    void theOldModeNameStillWorksWithAWarning() throws Exception {
        Path viaNew = tmp.resolve("new.safetensors");
        Path viaOld = tmp.resolve("old.safetensors");
        Run n = run(
                "--resize-mode",
                "native",
                "--output",
                viaNew.toString(),
                IMAGES.resolve("china.jpg").toString());
        Run o = run(
                "--mode",
                "native",
                "--output",
                viaOld.toString(),
                IMAGES.resolve("china.jpg").toString());
        assertEquals(0, n.exit(), n.err());
        assertEquals(0, o.exit(), o.err());
        assertEquals("", n.err());
        assertEquals(
                "radio preprocess: --mode is deprecated; use --resize-mode.",
                o.err().strip());
        assertArrayEquals(Files.readAllBytes(viaNew), Files.readAllBytes(viaOld));
        assertEquals(
                "[1,3,336,512]",
                header(Files.readAllBytes(viaOld))
                        .get("pixel_values")
                        .get("shape")
                        .toString());
    }

    @Test
    void imagesOfDifferentSizesArePerFileTensorsAndForwardRunsEither() throws Exception {
        Path perFile = tmp.resolve("native.safetensors");
        Run r = run(
                "--resize-mode",
                "native",
                "--output",
                perFile.toString(),
                IMAGES.resolve("china.jpg").toString(),
                IMAGES.resolve("chelsea.png").toString());
        assertEquals(0, r.exit(), r.err());
        JsonNode h = header(Files.readAllBytes(perFile));
        assertEquals(
                List.of("__metadata__", "chelsea.png", "china.jpg"),
                fieldNames(h).stream().sorted().toList());
        assertEquals("[3,336,512]", h.get("china.jpg").get("shape").toString());
        assertEquals("[3,304,448]", h.get("chelsea.png").get("shape").toString());
        Path stacked = tmp.resolve("fixed.safetensors");
        assertEquals(
                0,
                run(
                                "--size",
                                "32x32",
                                "--output",
                                stacked.toString(),
                                IMAGES.resolve("china.jpg").toString(),
                                IMAGES.resolve("chelsea.png").toString())
                        .exit());

        String model = Path.of("../samples/model-tiny-random").toString();
        Path outPerFile = tmp.resolve("out-native.safetensors");
        assertEquals(
                0,
                RadioCli.run(
                        "forward", "--model", model, "--input", perFile.toString(), "--output", outPerFile.toString()));
        SafetensorsFile a = SafetensorsFile.open(outPerFile);
        System.out.println("per-file outputs: " + a.tensors().keySet() + " "
                + a.info("features.china.jpg").shapeString() + " "
                + a.info("features.chelsea.png").shapeString());
        assertEquals("[1, 672, 64]", a.info("features.china.jpg").shapeString()); // 21 x 32 patches
        assertEquals("[1, 532, 64]", a.info("features.chelsea.png").shapeString()); // 19 x 28
        Path outStacked = tmp.resolve("out-fixed.safetensors");
        assertEquals(
                0,
                RadioCli.run(
                        "forward", "--model", model, "--input", stacked.toString(), "--output", outStacked.toString()));
        SafetensorsFile b = SafetensorsFile.open(outStacked);
        assertEquals(2, b.info("summary").shape()[0]);
        assertEquals(a.info("summary.china.jpg").shape()[1], b.info("summary").shape()[1]);
    }

    private static List<String> fieldNames(JsonNode n) {
        List<String> names = new ArrayList<>();
        n.fieldNames().forEachRemaining(names::add);
        return names;
    }

    @Test
    void allRefusedExitsOneAndWritesNothing() {
        Path out = tmp.resolve("none.safetensors");
        Run r = run(
                "-o",
                out.toString(),
                IMAGES.resolve("truncated.jpg").toString(),
                IMAGES.resolve("not-an-image.jpg").toString());
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("error: " + IMAGES.resolve("truncated.jpg") + ": Cannot decode image"), r.err());
        assertTrue(r.err().contains("all 2 image(s) were refused"), r.err());
        assertFalse(Files.exists(out));
    }

    @Test
    void invalidOptionsExitTwo() {
        Path out = tmp.resolve("x.safetensors");
        Run r = run(
                "--resize-mode",
                "diagonal",
                "-o",
                out.toString(),
                IMAGES.resolve("china.jpg").toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("Unknown resize mode 'diagonal'"), r.err());
        Run s = run(
                "--size",
                "100x100",
                "-o",
                out.toString(),
                IMAGES.resolve("china.jpg").toString());
        assertEquals(2, s.exit());
        assertTrue(s.err().contains("does not fit the patch size 16"), s.err());
        Run n = run(
                "--resize-mode",
                "native",
                "--size",
                "224x224",
                "-o",
                out.toString(),
                IMAGES.resolve("china.jpg").toString());
        assertEquals(2, n.exit());
        assertTrue(n.err().contains("takes a single number"), n.err());
        assertFalse(Files.exists(out));
    }
}
