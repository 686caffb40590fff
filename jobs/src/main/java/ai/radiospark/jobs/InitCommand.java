package ai.radiospark.jobs;

import ai.radiospark.RadioException;
import ai.radiospark.model.RadioConfig;
import ai.radiospark.model.RandomCheckpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code radio init}: writes a random-weight RADIO checkpoint (hub layout) for tests and benchmarks. */
@Command(
        name = "init",
        mixinStandardHelpOptions = true,
        description = "Write a RANDOM-WEIGHT RADIO checkpoint (config.json + model.safetensors, hub layout). "
                + "Its embeddings mean nothing: for smoke tests and benchmarks only.")
public final class InitCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(
            names = "--shape",
            required = true,
            paramLabel = "tiny|base|large|huge",
            description = "tiny: d=64, 2 layers; base: d=768, 12 layers, 12 heads; large: d=1024, 24 layers, "
                    + "16 heads; huge: C-RADIOv4-H's config (d=1280, 32 layers, 16 heads).")
    String shape;

    /** {@code --output}, or its hidden old name {@code --out} ({@link OptionAlias}): exactly one of them. */
    static final class Output {
        @Option(names = "--output", required = true, paramLabel = "DIR", description = "The directory to write.")
        Path output;

        @Option(names = "--out", required = true, hidden = true, paramLabel = "DIR")
        Path out;

        Path path() {
            return output != null ? output : out;
        }
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Output output;

    @Option(names = "--seed", defaultValue = "0", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--force", description = "Overwrite a checkpoint already in --output.")
    boolean force;

    @Override
    public Integer call() {
        RadioConfig[] shaped = new RadioConfig[1];
        OptionException.check("--shape", shape, () -> shaped[0] = RandomCheckpoint.shape(shape));
        RadioConfig config = shaped[0];
        Path out = output.path();
        if (!force) {
            for (String name : new String[] {"config.json", "model.safetensors", "model.safetensors.index.json"}) {
                if (Files.exists(out.resolve(name))) {
                    throw new RadioException(out + " already holds a checkpoint (" + name
                            + "). Pass --force to overwrite " + "it, or choose another --output.");
                }
            }
        }
        if (Files.exists(out) && !Files.isDirectory(out)) {
            throw new RadioException("--output " + out + " is a file, not a folder. Choose another --output.");
        }
        OptionAlias.warnIfUsed(spec);
        RandomCheckpoint.write(config, out, seed);
        spec.commandLine()
                .getOut()
                .printf(
                        "Wrote a random-weight %s RADIO checkpoint (%,d parameters, seed %d) to %s%n",
                        shape, config.parameterCount(), seed, out);
        spec.commandLine().getOut().flush();
        return 0;
    }
}
