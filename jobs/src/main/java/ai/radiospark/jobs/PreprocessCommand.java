package ai.radiospark.jobs;

import ai.radiospark.RadioException;
import ai.radiospark.image.ImagePreprocessor;
import ai.radiospark.image.PreprocessedImage;
import ai.radiospark.image.ResizeMode;
import ai.radiospark.model.SafetensorsWriter;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code radio preprocess}: decodes and preprocesses images exactly as the model pipeline does and
 * writes their pixel values (float32 in [0, 1], not normalised) to a safetensors file: when every
 * image has the same size (always in fixed mode), one {@code pixel_values} tensor (B, 3, H, W) in
 * the order the files were given (their names in the metadata key {@code images}), which
 * {@code radio forward} reads; otherwise one (3, H, W) tensor per image keyed by file name, which
 * {@code radio forward} runs one by one.
 *
 * <pre>{@code
 * radio preprocess --size 224x224 --output pixels.safetensors cat.jpg dog.png
 * radio preprocess --resize-mode native --size 512 -o pixels.safetensors photos/*.jpg
 * }</pre>
 *
 * <p>Refused files (unreadable, not an image, truncated, too large) each get one error line on
 * stderr and are left out. Exit code: 0 when every image was written, 1 when any was refused (the
 * others are written; none when all were refused), 2 for invalid options. All pixel values are
 * kept in memory until the file is written (about 600 KB per 224x224 image): meant for checks and
 * small sets, not for bulk jobs (use the Spark transformer for those).
 */
@Command(
        name = "preprocess",
        mixinStandardHelpOptions = true,
        description = "Write the model's input pixel values (float32 in [0,1], not normalised) to a safetensors file: "
                + "pixel_values (B,3,H,W) when all images have one size (radio forward reads it), else one (3,H,W) tensor "
                + "per file, keyed by file name. Exit code 1 when an image was refused.")
public final class PreprocessCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;

    @Option(
            names = "--size",
            paramLabel = "SIZE",
            description = "fixed: HxW or N for NxN (default 224x224); shortest-edge: the shorter side "
                    + "(default 224); native: the cap on the longer side (default 512).")
    String size;

    @Option(
            names = "--resize-mode",
            paramLabel = "fixed|shortest-edge|native",
            defaultValue = "fixed",
            description = "fixed: exactly the size; shortest-edge: the shorter side = size; native: keep the aspect "
                    + "ratio, the longer side capped (default: ${DEFAULT-VALUE}).")
    String resizeMode;

    /** The hidden old name of {@code --resize-mode} ({@link OptionAlias}). */
    @Option(names = "--mode", hidden = true, paramLabel = "MODE")
    String mode;

    @Option(
            names = "--patch-size",
            defaultValue = "16",
            description = "The model's patch size; output sides are multiples of it (default: " + "${DEFAULT-VALUE}).")
    int patchSize;

    @Option(
            names = "--max-pixels",
            defaultValue = "100000000",
            description = "Refuse images whose header declares more pixels (default: ${DEFAULT-VALUE}).")
    long maxPixels;

    @Option(
            names = "--exif-orientation",
            description = "Apply the JPEG EXIF orientation (off by default, like the reference).")
    boolean exifOrientation;

    @Option(names = "--decode-scale", description = "Subsample large images while decoding: faster, but not bit-exact.")
    boolean decodeScale;

    @Option(
            names = {"-o", "--output"},
            required = true,
            paramLabel = "OUT.safetensors",
            description = "The safetensors file to write.")
    Path output;

    @Parameters(arity = "1..*", paramLabel = "IMAGE", description = "Image files.")
    List<Path> images;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter out = spec.commandLine().getOut();
        ImagePreprocessor preprocessor = buildPreprocessor();
        OptionAlias.warnIfUsed(spec);
        LinkedHashMap<String, PreprocessedImage> tensors = new LinkedHashMap<>();
        int refused = 0;
        for (Path image : images) {
            String key = image.getFileName().toString();
            try {
                if (tensors.containsKey(key)) {
                    throw new RadioException("Cannot write image " + image + ": another input already used "
                            + "the key '" + key + "' (keys are file names). Rename one of the files.");
                }
                byte[] bytes;
                try {
                    bytes = Files.readAllBytes(image);
                } catch (IOException e) {
                    throw new RadioException(
                            "Cannot read image " + image + ": " + e + ". Check the path " + "and permissions.", e);
                }
                PreprocessedImage p = preprocessor.preprocess(bytes, image.toString());
                tensors.put(key, p);
            } catch (RadioException e) {
                refused++;
                err.println("error: " + image + ": " + e.getMessage());
            }
        }
        err.flush();
        if (tensors.isEmpty()) {
            err.println("radio preprocess: all " + images.size() + " image(s) were refused; " + output
                    + " was not written.");
            err.flush();
            return 1;
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("producer", "radio-spark preprocess");
        metadata.put("preprocessor", preprocessor.toString());
        PreprocessedImage first = tensors.values().iterator().next();
        boolean stacked =
                tensors.values().stream().allMatch(p -> p.height() == first.height() && p.width() == first.width());
        String layout;
        SafetensorsWriter writer;
        if (stacked) {
            // One (B, 3, H, W) batch, in the order the files were given: what radio forward reads.
            int n = tensors.size();
            int each = 3 * first.height() * first.width();
            float[] all = new float[n * each];
            int i = 0;
            for (PreprocessedImage p : tensors.values()) {
                System.arraycopy(p.toArray(), 0, all, i++ * each, each);
            }
            try {
                metadata.put("images", JSON.writeValueAsString(List.copyOf(tensors.keySet())));
            } catch (JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
            writer = new SafetensorsWriter(metadata);
            writer.add("pixel_values", new long[] {n, 3, first.height(), first.width()}, all);
            layout = "as pixel_values (" + n + ", 3, " + first.height() + ", " + first.width() + ")";
        } else {
            writer = new SafetensorsWriter(metadata);
            tensors.forEach((key, p) -> writer.add(key, new long[] {3, p.height(), p.width()}, p.toArray()));
            layout = "as one (3, H, W) tensor per file (their sizes differ)";
        }
        try {
            writer.write(output);
        } catch (RadioException e) {
            err.println("radio preprocess: " + e.getMessage());
            err.flush();
            return 1;
        }
        out.println("Wrote " + tensors.size() + " image(s) " + layout + " to " + output
                + (refused > 0 ? " (" + refused + " refused)" : ""));
        out.flush();
        return refused > 0 ? RadioCli.EXIT_USER_ERROR : 0;
    }

    /** The preprocessor of the options; a bad option is an {@link OptionException} naming it (exit code 2). */
    ImagePreprocessor buildPreprocessor() {
        OptionException.require(patchSize > 0, "--patch-size", patchSize, "Use the model's patch size, e.g. 16.");
        OptionException.require(maxPixels > 0, "--max-pixels", maxPixels, "Use a positive number, e.g. 100000000.");
        ResizeMode[] parsed = new ResizeMode[1];
        String m = OptionAlias.value(spec, "--mode", mode, resizeMode);
        OptionException.check("--resize-mode", m, () -> parsed[0] = ResizeMode.parse(m));
        ImagePreprocessor[] pre = new ImagePreprocessor[1];
        OptionException.check("--size", String.valueOf(size), () -> pre[0] = preprocessor(parsed[0]));
        return pre[0];
    }

    private ImagePreprocessor preprocessor(ResizeMode m) {
        ImagePreprocessor.Builder b = ImagePreprocessor.builder()
                .optResizeMode(m)
                .optPatchSize(patchSize)
                .optMaxPixels(maxPixels)
                .optExifOrientation(exifOrientation)
                .optDecodeScale(decodeScale);
        if (size != null) {
            String s = size.trim().toLowerCase(java.util.Locale.ROOT);
            try {
                int x = s.indexOf('x');
                if (m == ResizeMode.FIXED) {
                    int h = Integer.parseInt(x < 0 ? s : s.substring(0, x));
                    int w = Integer.parseInt(x < 0 ? s : s.substring(x + 1));
                    b.optSize(h, w);
                } else if (x >= 0) {
                    throw new RadioException("--size " + size + " is HxW, but mode " + m + " takes a single "
                            + "number ("
                            + (m == ResizeMode.NATIVE || m == ResizeMode.NATIVE_BUCKETS
                                    ? "the longer side's cap, e.g. 512"
                                    : "the shorter side, e.g. 224")
                            + ").");
                } else if (m == ResizeMode.NATIVE || m == ResizeMode.NATIVE_BUCKETS) {
                    b.optMaxEdge(Integer.parseInt(s));
                } else {
                    b.optShortestEdge(Integer.parseInt(s));
                }
            } catch (NumberFormatException e) {
                throw new RadioException(
                        "--size " + size + " is not a size. Use HxW (e.g. 224x224) or a " + "single number.");
            }
        }
        return b.build();
    }

    /** Runs the command on its own (the top-level {@code radio} CLI registers it as a subcommand). */
    public static void main(String[] args) {
        String[] withCommand = new String[args.length + 1];
        withCommand[0] = "preprocess";
        System.arraycopy(args, 0, withCommand, 1, args.length);
        System.exit(RadioCli.run(withCommand));
    }
}
