package ai.radiospark.jobs;

import ai.radiospark.RadioException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code radio} command-line tool ({@code scripts/radio}): one entry point for every job.
 *
 * <pre>
 * radio init --shape base --out /tmp/base
 * radio forward --model /tmp/base --input in.safetensors --output out.safetensors
 * radio preprocess --size 224x224 --output px.safetensors cat.jpg
 * </pre>
 */
@Command(
    name = "radio",
    mixinStandardHelpOptions = true,
    version = "radio-spark 0.1.0",
    description = "RADIO image embeddings at Spark scale.",
    subcommands = {ExtractCommand.class, ShowCommand.class, SimilarCommand.class, InitCommand.class,
        ForwardCommand.class, PreprocessCommand.class, BenchCommand.class})
public final class RadioCli {

  /** Runs the CLI and returns its exit code. */
  public static int run(String... args) {
    CommandLine cli = new CommandLine(new RadioCli());
    cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
      if (e instanceof RadioException) {
        // User errors: the message says what, why and how to fix; no stack trace.
        cmd.getErr().println("radio " + cmd.getCommandName() + ": " + e.getMessage());
        cmd.getErr().flush();
        return 1;
      }
      throw e;
    });
    return cli.execute(args);
  }

  public static void main(String[] args) {
    System.exit(run(args));
  }
}
