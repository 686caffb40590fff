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
    description = "Run RADIO on pixel_values (B,3,H,W) from IN.safetensors; write summary, features and "
        + "last_hidden_state to OUT.safetensors.")
public final class ForwardCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--model", required = true, paramLabel = "DIR|HUB_ID",
      description = "A RADIO checkpoint directory, or a hub id such as nvidia/C-RADIOv4-H[@revision].")
  String model;

  @Option(names = "--input", required = true, paramLabel = "IN.safetensors",
      description = "Holds pixel_values, float (B, 3, H, W) in [0, 1], not normalised.")
  Path input;

  @Option(names = "--output", required = true, paramLabel = "OUT.safetensors", description = "Where to write.")
  Path output;

  @Option(names = "--hidden-states", description = "Also write hidden_states.0 .. hidden_states.L.")
  boolean hiddenStates;

  @Option(names = "--dtype", defaultValue = "float32", description = "float32 (default) or bfloat16 (faster on CPUs with AVX512-BF16 or AMX).")
  String dtype;

  @Override
  public Integer call() {
    OptionException.check("--dtype", dtype, () -> ModelDType.parse(dtype));
    OptionException.require(!ModelDType.parse(dtype).equals(ModelDType.FLOAT16), "--dtype", dtype, "float16 is for "
        + "GPUs; radio forward runs on the CPU, where float16 matrix products are hundreds of times slower. Use "
        + "float32 or bfloat16.");
    OptionException.require(Files.isRegularFile(input), "--input", input, Files.exists(input)
        ? "It is not a file. Give a safetensors file holding pixel_values (radio preprocess writes one)."
        : "No such file. Give a safetensors file holding pixel_values (radio preprocess writes one).");
    ModelOption.config(model);
    SafetensorsFile in = SafetensorsFile.open(input);
    if (!in.tensors().containsKey("pixel_values")) {
      throw new RadioException(input + " has no tensor 'pixel_values' (it has " + in.tensors().keySet()
          + "). Write the preprocessed images as pixel_values, shape (B, 3, H, W).");
    }
    TensorInfo px = in.info("pixel_values");
    if (px.shape().length != 4) {
      throw new RadioException("pixel_values in " + input + " has shape " + px.shapeString()
          + "; it must be (B, 3, H, W).");
    }
    int b = (int) px.shape()[0];
    int h = (int) px.shape()[2];
    int w = (int) px.shape()[3];
    ModelDType type = ModelDType.parse(dtype);
    Checkpoint checkpoint = ModelOption.open(model);
    EnumSet<RadioModel.Output> outputs = EnumSet.of(RadioModel.Output.SUMMARY, RadioModel.Output.FEATURES,
        RadioModel.Output.LAST_HIDDEN_STATE);
    if (hiddenStates) {
      outputs.add(RadioModel.Output.HIDDEN_STATES);
    }
    long start = System.nanoTime();
    RadioOutput out;
    try (RadioModel m = RadioModel.builder().optDType(type).build(checkpoint.weights())) {
      out = m.forward(in.floats("pixel_values"), b, h, w, outputs);
    }
    long tokens = out.lastHiddenState().length / ((long) b * out.dim());
    SafetensorsWriter writer = new SafetensorsWriter(Map.of("format", "pt", "producer", "radio-spark forward",
        "model", checkpoint.source()));
    writer.add("summary", new long[] {b, out.summaryDim()}, out.summary());
    writer.add("features", new long[] {b, (long) out.rows() * out.cols(), out.dim()}, out.features());
    writer.add("last_hidden_state", new long[] {b, tokens, out.dim()}, out.lastHiddenState());
    for (int i = 0; i < out.hiddenStates().size(); i++) {
      writer.add("hidden_states." + i, new long[] {b, tokens, out.dim()}, out.hiddenStates().get(i));
    }
    writer.write(output);
    spec.commandLine().getOut().printf("Ran %d image(s) of %dx%d through %s in %.2f s; wrote %s%n", b, h, w,
        checkpoint.source(), (System.nanoTime() - start) / 1e9, output);
    spec.commandLine().getOut().flush();
    return 0;
  }
}
