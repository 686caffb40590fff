package ai.radiospark.jobs;

import ai.radiospark.RadioException;
import ai.radiospark.model.Checkpoint;
import ai.radiospark.model.ModelDType;
import ai.radiospark.model.RadioModel;
import ai.radiospark.model.RadioOutput;
import ai.radiospark.model.SafetensorsFile;
import ai.radiospark.model.SafetensorsWriter;
import ai.radiospark.model.TensorInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code radio forward}: runs the model on {@code pixel_values} from a safetensors file and writes
 * {@code summary}, {@code features} and {@code last_hidden_state} (and, on request, every
 * {@code hidden_states.i}) to another: the way to check this port against Python on any input.
 */
@Command(
        name = "forward",
        mixinStandardHelpOptions = true,
        description = "Run RADIO on pixel_values (B,3,H,W) from IN.safetensors (or on each of its per-image (3,H,W) "
                + "tensors); write summary, features and last_hidden_state to OUT.safetensors.")
public final class ForwardCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(
            names = "--model",
            required = true,
            paramLabel = "DIR|HUB_ID",
            description = "A RADIO checkpoint directory, or a hub id such as nvidia/C-RADIOv4-H[@revision].")
    String model;

    @Option(
            names = "--input",
            required = true,
            paramLabel = "IN.safetensors",
            description =
                    "Holds pixel_values, float (B, 3, H, W) in [0, 1], not normalised; or one (3, H, W) tensor per "
                            + "image (what radio preprocess writes for images of different sizes), each run on its own.")
    Path input;

    @Option(names = "--output", required = true, paramLabel = "OUT.safetensors", description = "Where to write.")
    Path output;

    @Option(names = "--hidden-states", description = "Also write hidden_states.0 .. hidden_states.L.")
    boolean hiddenStates;

    @Option(
            names = "--dtype",
            defaultValue = "float32",
            description = "float32 (default) or bfloat16 (faster on CPUs with AVX512-BF16 or AMX).")
    String dtype;

    @Override
    public Integer call() {
        OptionException.check("--dtype", dtype, () -> ModelDType.parse(dtype));
        OptionException.require(
                !ModelDType.parse(dtype).equals(ModelDType.FLOAT16),
                "--dtype",
                dtype,
                "float16 is for "
                        + "GPUs; radio forward runs on the CPU, where float16 matrix products are hundreds of times slower. Use "
                        + "float32 or bfloat16.");
        OptionException.require(
                Files.isRegularFile(input),
                "--input",
                input,
                Files.exists(input)
                        ? "It is not a file. Give a safetensors file holding pixel_values (radio preprocess writes one)."
                        : "No such file. Give a safetensors file holding pixel_values (radio preprocess writes one).");
        ModelOption.config(model);
        SafetensorsFile in = SafetensorsFile.open(input);
        // pixel_values (B, 3, H, W); or one (3, H, W) tensor per image, as radio preprocess writes images of several
        // sizes.
        Map<String, TensorInfo> batches = new LinkedHashMap<>();
        if (in.tensors().containsKey("pixel_values")) {
            TensorInfo px = in.info("pixel_values");
            if (px.shape().length != 4 || px.shape()[1] != 3) {
                throw new RadioException(
                        "pixel_values in " + input + " has shape " + px.shapeString() + "; it must be (B, 3, H, W).");
            }
            batches.put("", px);
        } else {
            for (TensorInfo t : in.tensors().values()) {
                if (t.shape().length != 3 || t.shape()[0] != 3) {
                    throw new RadioException(
                            input + " has no tensor 'pixel_values', and its tensor '" + t.name() + "' has "
                                    + "shape " + t.shapeString()
                                    + ", not (3, H, W). Write the preprocessed images as pixel_values (B, 3, "
                                    + "H, W), or one (3, H, W) tensor per image (radio preprocess writes either).");
                }
                batches.put(t.name(), t);
            }
            if (batches.isEmpty()) {
                throw new RadioException(
                        input + " holds no tensors. Write the preprocessed images as pixel_values (B, 3, "
                                + "H, W) (radio preprocess writes it).");
            }
        }
        ModelDType type = ModelDType.parse(dtype);
        Checkpoint checkpoint = ModelOption.open(model);
        EnumSet<RadioModel.Output> outputs =
                EnumSet.of(RadioModel.Output.SUMMARY, RadioModel.Output.FEATURES, RadioModel.Output.LAST_HIDDEN_STATE);
        if (hiddenStates) {
            outputs.add(RadioModel.Output.HIDDEN_STATES);
        }
        long start = System.nanoTime();
        SafetensorsWriter writer = new SafetensorsWriter(
                Map.of("format", "pt", "producer", "radio-spark forward", "model", checkpoint.source()));
        int images = 0;
        try (RadioModel m = RadioModel.builder().optDType(type).build(checkpoint.weights())) {
            for (Map.Entry<String, TensorInfo> batch : batches.entrySet()) {
                long[] shape = batch.getValue().shape();
                boolean one = shape.length == 3;
                int b = one ? 1 : (int) shape[0];
                int h = (int) shape[shape.length - 2];
                int w = (int) shape[shape.length - 1];
                RadioOutput out = m.forward(in.floats(batch.getValue().name()), b, h, w, outputs);
                // Per-image inputs give per-image outputs: summary.<name>, features.<name>, ...
                String suffix = batch.getKey().isEmpty() ? "" : "." + batch.getKey();
                long tokens = out.lastHiddenState().length / ((long) b * out.dim());
                writer.add("summary" + suffix, new long[] {b, out.summaryDim()}, out.summary());
                writer.add(
                        "features" + suffix, new long[] {b, (long) out.rows() * out.cols(), out.dim()}, out.features());
                writer.add("last_hidden_state" + suffix, new long[] {b, tokens, out.dim()}, out.lastHiddenState());
                for (int i = 0; i < out.hiddenStates().size(); i++) {
                    writer.add(
                            "hidden_states." + i + suffix,
                            new long[] {b, tokens, out.dim()},
                            out.hiddenStates().get(i));
                }
                images += b;
            }
        }
        writer.write(output);
        spec.commandLine()
                .getOut()
                .printf(
                        "Ran %d image(s) through %s in %.2f s; wrote %s%n",
                        images, checkpoint.source(), (System.nanoTime() - start) / 1e9, output);
        spec.commandLine().getOut().flush();
        return 0;
    }
}
