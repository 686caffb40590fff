package ai.radiospark.jobs;

import ai.radiospark.RadioException;
import ai.radiospark.ml.RadioEmbedder;
import ai.radiospark.model.RadioConfig;
import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code radio extract} and the spark-submit main class {@link ExtractEmbeddings}: embeds images
 * from a folder, glob or table into a Delta table, incrementally by default.
 *
 * <pre>
 * radio extract --input ./photos --output ./radio-output/embeddings --model nvidia/C-RADIOv4-H
 * </pre>
 */
@Command(
    name = "extract",
    mixinStandardHelpOptions = true,
    defaultValueProvider = RadioDefaults.class,
    description = "Embed images (a folder or glob, recursively; or a table with a path or binary column) into a "
        + "Delta table, one row per image. merge mode (the default) embeds only new and changed images.")
public final class ExtractCommand implements Callable<Integer> {
  static final int EXIT_TOO_MANY_FAILED = 3;

  @Option(names = "--input", required = true, paramLabel = "PATH|TABLE",
      description = "A folder or glob of images (read recursively), a Delta table path, or a metastore table with a "
          + "path column (and optionally a binary column of image bytes).")
  String input;

  @Option(names = "--output", required = true, paramLabel = "PATH|TABLE",
      description = "The Delta table to write: a path (has a '/'), or a metastore table name.")
  String output;

  @Option(names = "--model", required = true, paramLabel = "DIR|HUB_ID",
      description = "A RADIO checkpoint directory, or a hub id such as nvidia/C-RADIOv4-H[@revision]. Required: a job "
          + "never falls back to a random model.")
  String model;

  @Option(names = "--size", defaultValue = "224x224", paramLabel = "HxW",
      description = "Model input size (default ${DEFAULT-VALUE}); for native mode the cap on the longer side.")
  String size;

  @Option(names = "--resize-mode", defaultValue = "fixed", paramLabel = "fixed|native|shortest-edge",
      description = "fixed: exactly HxW, as CLIPImageProcessor (default); native: keep the aspect ratio, sides snapped "
          + "to the patch size, the longer capped; shortest-edge: shorter side = size.")
  String resizeMode;

  @Option(names = "--batch-size", defaultValue = "16", description = "Images per forward pass (default ${DEFAULT-VALUE}).")
  int batchSize;

  @Option(names = "--device", defaultValue = "auto", paramLabel = "auto|cpu|gpu", description = "Default ${DEFAULT-VALUE}.")
  String device;

  @Option(names = "--dtype", defaultValue = "float32", paramLabel = "float32|bfloat16|float16",
      description = "Compute type (default ${DEFAULT-VALUE}).")
  String dtype;

  @Option(names = "--features", defaultValue = "none", paramLabel = "none|full|pooled:RxC",
      description = "Patch features to store (default ${DEFAULT-VALUE}); pooled:2x2 averages the patch grid to 2x2.")
  String features;

  @Option(names = "--features-type", defaultValue = "float32", paramLabel = "float32|float16",
      description = "Storage of features: float32 arrays, or float16 packed as binary (default ${DEFAULT-VALUE}).")
  String featuresType;

  @Option(names = "--partition-by", split = ",", paramLabel = "COLS",
      description = "Partition columns of a new table (for example resolution).")
  List<String> partitionBy = List.of();

  @Option(names = "--mode", defaultValue = "merge", paramLabel = "append|merge|overwrite",
      description = "merge (default): add new and changed images, skip unchanged ones; append: add rows for every "
          + "image; overwrite: replace the table in one commit, once every image is embedded (into a staging table "
          + "under it, resumed by a rerun).")
  String mode;

  @Option(names = "--reembed", description = "Re-embed every image with this run's --model and settings when they "
      + "differ from the table's (changing them is refused without it); a killed --reembed resumes with the same "
      + "command.")
  boolean reembed;

  @Option(names = "--retry-errors", description = "Also retry the error rows of images that were read but refused "
      + "(not an image, truncated, too large) though their files are unchanged. Files that could not be read are "
      + "retried on every run.")
  boolean retryErrors;

  @Option(names = "--limit", defaultValue = "0", description = "Embed at most N images this run (0: no limit).")
  long limit;

  @Option(names = "--master", description = "Spark master; default: spark-submit's, or local[*] outside it.")
  String master;

  @Option(names = "--dry-run", description = "Count and list what would be embedded, without inference.")
  boolean dryRun;

  @Option(names = "--extensions", split = ",", paramLabel = "EXT",
      defaultValue = "jpg,jpeg,png,bmp,gif,webp,tif,tiff",
      description = "File extensions to read from folders, any case (default ${DEFAULT-VALUE}).")
  List<String> extensions;

  @Option(names = "--path-column", defaultValue = "path", description = "Table input: the path column.")
  String pathColumn;

  @Option(names = "--content-column", description = "Table input: a binary column of image bytes (default: "
      + "`content` when present, else the paths are read).")
  String contentColumn;

  @Option(names = "--commit-every", defaultValue = "2000",
      description = "Images per Delta commit (default ${DEFAULT-VALUE}): a killed run loses at most this many.")
  int commitEvery;

  @Option(names = "--max-failed-fraction", defaultValue = "0.1",
      description = "Exit with code 3 when more than this fraction of the images embedded fail (default "
          + "${DEFAULT-VALUE}).")
  double maxFailedFraction;

  @Option(names = "--quarantine", paramLabel = "PATH|TABLE",
      description = "Also append the rows of bad images (path, hash, error) to this Delta table.")
  String quarantine;

  @Option(names = "--max-pixels", defaultValue = "100000000",
      description = "Largest image decoded, in pixels (default ${DEFAULT-VALUE}); larger ones become error rows.")
  long maxPixels;

  @Option(names = "--progress-seconds", defaultValue = "30", description = "Seconds between progress lines.")
  int progressSeconds;

  PrintStream out = System.out;

  /**
   * The options, every one checked before Spark starts, including against the model's config.json
   * (the size against its patch size) and this machine for local runs (float16 without a GPU).
   *
   * @throws OptionException naming the option (exit code 2)
   * @throws RadioException for an output that cannot be created (exit code 1)
   */
  ExtractJob.Options options() {
    OptionException.param("--batch-size", "batchSize", batchSize);
    OptionException.require(commitEvery > 0, "--commit-every", commitEvery, "Use a positive number of images per "
        + "Delta commit, e.g. 2000.");
    OptionException.require(limit >= 0, "--limit", limit, "Use 0 (no limit) or a positive number of images.");
    OptionException.require(maxFailedFraction >= 0 && maxFailedFraction <= 1, "--max-failed-fraction",
        maxFailedFraction, "Use a fraction between 0 and 1, e.g. 0.1.");
    OptionException.require(progressSeconds > 0, "--progress-seconds", progressSeconds, "Use a positive number of "
        + "seconds between progress lines, e.g. 30.");
    OptionException.require(maxPixels > 0, "--max-pixels", maxPixels, "Use a positive number of pixels, e.g. "
        + "100000000.");
    OptionException.check("--mode", mode, () -> ExtractJob.WriteMode.parse(mode));
    for (String c : partitionBy) {
      OptionException.require(ExtractJob.COLUMNS.contains(c), "--partition-by", c, "The table has no column " + c
          + ". Use columns of the table: " + String.join(", ", ExtractJob.COLUMNS) + " (resolution or dtype, for "
          + "example).");
    }
    String resize = resizeMode.toLowerCase(Locale.ROOT);
    OptionException.param("--size", "imageSize", size);
    OptionException.param("--resize-mode", "resizeMode", resize);
    OptionException.param("--device", "device", device);
    OptionException.param("--dtype", "dtype", dtype);
    OptionException.param("--features", "featuresMode", features);
    OptionException.param("--features-type", "featuresType", featuresType);
    RadioEmbedder stage = new RadioEmbedder().setImageSize(size).setResizeMode(resize).setDevice(device)
        .setDtype(dtype);
    RadioConfig config = ModelOption.config(model);
    if (config != null) {
      OptionException.stage(() -> stage.checkAgainst(config));
    }
    if (JobSpark.isLocal(master)) {
      OptionException.stage(stage::checkDeviceLocally);
    }
    LocalPaths.checkWritable("--output", output);
    if (quarantine != null) {
      LocalPaths.checkWritable("--quarantine", quarantine);
    }
    // The table records where the model is, not where it was relative to: file:/dir or hub:org/name@rev.
    String located = ModelOption.qualified(model);
    return new ExtractJob.Options(input, output, located, size, resizeMode.toLowerCase(Locale.ROOT), batchSize,
        device, dtype, features, featuresType, partitionBy, ExtractJob.WriteMode.parse(mode), limit, dryRun, reembed,
        extensions, pathColumn, contentColumn, commitEvery, maxFailedFraction, quarantine, progressSeconds,
        retryErrors);
  }

  @Override
  public Integer call() {
    ExtractJob.Options o = options();
    SparkSession spark = JobSpark.session("radio extract", master);
    // The job's RadioEmbedder takes its pixel limit from the session.
    spark.conf().set(ai.radiospark.ml.RadioEmbedder.MAX_PIXELS_CONF, Long.toString(maxPixels));
    ExtractJob.Summary s = new ExtractJob(spark, o, out).run();
    print(s, o);
    if (!s.dryRun() && s.failedFraction() > o.maxFailedFraction()) {
      out.printf("radio extract: %.1f%% of the images failed, more than --max-failed-fraction %.1f%%; exit code %d.%n",
          100 * s.failedFraction(), 100 * o.maxFailedFraction(), EXIT_TOO_MANY_FAILED);
      return EXIT_TOO_MANY_FAILED;
    }
    return 0;
  }

  private void print(ExtractJob.Summary s, ExtractJob.Options o) {
    if (s.dryRun()) {
      return;
    }
    long done = s.embedded() + s.failed();
    // The last progress line: every image of the run done, in the numbers of the summary below.
    out.println(ExtractProgress.format(done + s.reused(), done + s.reused(), s.failed(), s.seconds()));
    out.printf("radio extract: done in %.1f s%n", s.seconds());
    out.printf("  listed     %,d images under %s%n", s.listed(), o.input());
    out.printf("  unchanged  %,d (skipped)%n", s.unchanged());
    out.printf("  reused     %,d (same content already embedded)%n", s.reused());
    out.printf("  embedded   %,d (%.1f images/s overall, Spark start-up included)%n", s.embedded(),
        done / Math.max(s.seconds(), 1e-9));
    out.printf("  failed     %,d (error rows)%n", s.failed());
    out.printf("  table      %s, version %s%n", o.output(), s.tableVersion() == null ? "-" : s.tableVersion());
    out.flush();
  }
}
