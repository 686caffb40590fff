package ai.radiospark.jobs;

import ai.radiospark.InvalidValueException;
import ai.radiospark.RadioException;
import ai.radiospark.ml.RadioEmbedder;
import ai.radiospark.model.RadioConfig;
import ai.radiospark.runtime.EmbeddingSettings;
import ai.radiospark.runtime.EmbeddingSettings.Setting;
import java.io.PrintStream;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

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
        modelTransformer = ExtractCommand.SettingOptions.class,
        description = "Embed images (a folder or glob, recursively; or a table with a path or binary column) into a "
                + "Delta table, one row per image. merge mode (the default) embeds only new and changed images.")
public final class ExtractCommand implements Callable<Integer> {
    static final int EXIT_TOO_MANY_FAILED = 3;

    /** The options of the embedding settings ({@link SettingOptions}): --model, --size, --dtype, ... */
    @Spec
    CommandSpec spec;

    @Option(
            names = "--input",
            required = true,
            paramLabel = "PATH|TABLE",
            description =
                    "A folder or glob of images (read recursively), a Delta table path, or a metastore table with a "
                            + "path column (and optionally a binary column of image bytes).")
    String input;

    @Option(
            names = "--output",
            required = true,
            paramLabel = "PATH|TABLE",
            description = "The Delta table to write: a path (has a '/'), or a metastore table name.")
    String output;

    @Option(
            names = "--partition-by",
            split = ",",
            paramLabel = "COLS",
            description = "Partition columns of a new table (for example resolution).")
    List<String> partitionBy = List.of();

    @Option(
            names = "--mode",
            defaultValue = "merge",
            paramLabel = "append|merge|overwrite",
            description =
                    "merge (default): add new and changed images, skip unchanged ones; append: add rows for every "
                            + "image; overwrite: replace the table in one commit, once every image is embedded (into a staging table "
                            + "under it, resumed by a rerun).")
    String mode;

    @Option(
            names = "--reembed",
            description = "Re-embed every image with this run's --model and settings when they "
                    + "differ from the table's (changing them is refused without it); a killed --reembed resumes with the same "
                    + "command.")
    boolean reembed;

    @Option(
            names = "--retry-errors",
            description = "Also retry the error rows of images that were read but refused "
                    + "(not an image, truncated, too large) though their files are unchanged. Files that could not be read are "
                    + "retried on every run.")
    boolean retryErrors;

    @Option(names = "--limit", defaultValue = "0", description = "Embed at most N images this run (0: no limit).")
    long limit;

    @Option(names = "--master", description = "Spark master; default: spark-submit's, or local[*] outside it.")
    String master;

    @Option(names = "--dry-run", description = "Count and list what would be embedded, without inference.")
    boolean dryRun;

    @Option(
            names = "--extensions",
            split = ",",
            paramLabel = "EXT",
            defaultValue = "jpg,jpeg,png,bmp,gif,webp,tif,tiff",
            description = "File extensions to read from folders, any case (default ${DEFAULT-VALUE}).")
    List<String> extensions;

    @Option(names = "--path-column", defaultValue = "path", description = "Table input: the path column.")
    String pathColumn;

    @Option(
            names = "--content-column",
            description = "Table input: a binary column of image bytes (default: "
                    + "`content` when present, else the paths are read).")
    String contentColumn;

    @Option(
            names = "--commit-every",
            defaultValue = "2000",
            description = "Images per Delta commit (default ${DEFAULT-VALUE}): a killed run loses at most this many.")
    int commitEvery;

    @Option(
            names = "--max-failed-fraction",
            defaultValue = "0.1",
            description = "Exit with code 3 when more than this fraction of the images embedded fail (default "
                    + "${DEFAULT-VALUE}).")
    double maxFailedFraction;

    @Option(
            names = "--quarantine",
            paramLabel = "PATH|TABLE",
            description = "Also append the rows of bad images (path, hash, error) to this Delta table.")
    String quarantine;

    @Option(names = "--progress-seconds", defaultValue = "30", description = "Seconds between progress lines.")
    int progressSeconds;

    @Option(
            names = "--no-change-data-feed",
            defaultValue = "false",
            description =
                    "Create a new table without Delta Change Data Feed (on by default: "
                            + "delta.enableChangeDataFeed=true, which vector stores such as Databricks Vector Search sync from).")
    boolean noChangeDataFeed;

    PrintStream out = System.out;

    /**
     * The options, every one checked before Spark starts, including against the model's config.json
     * (the size against its patch size) and this machine for local runs (float16 without a GPU).
     *
     * @throws OptionException naming the option (exit code 2)
     * @throws RadioException for an output that cannot be created (exit code 1)
     */
    ExtractOptions options() {
        EmbeddingSettings settings = settings();
        OptionException.require(
                commitEvery > 0,
                "--commit-every",
                commitEvery,
                "Use a positive number of images per " + "Delta commit, e.g. 2000.");
        OptionException.require(limit >= 0, "--limit", limit, "Use 0 (no limit) or a positive number of images.");
        OptionException.require(
                maxFailedFraction >= 0 && maxFailedFraction <= 1,
                "--max-failed-fraction",
                maxFailedFraction,
                "Use a fraction between 0 and 1, e.g. 0.1.");
        OptionException.require(
                progressSeconds > 0,
                "--progress-seconds",
                progressSeconds,
                "Use a positive number of " + "seconds between progress lines, e.g. 30.");
        OptionException.check("--mode", mode, () -> ExtractJob.WriteMode.parse(mode));
        for (String c : partitionBy) {
            OptionException.require(
                    ExtractJob.COLUMNS.contains(c),
                    "--partition-by",
                    c,
                    "The table has no column " + c
                            + ". Use columns of the table: " + String.join(", ", ExtractJob.COLUMNS)
                            + " (resolution or dtype, for "
                            + "example).");
        }
        RadioEmbedder stage = new RadioEmbedder().setSettings(settings);
        RadioConfig config = ModelOption.config(settings.model());
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
        String located = ModelOption.qualified(settings.model());
        return ExtractOptions.builder()
                .input(input)
                .output(output)
                .embedding(settings.with(Setting.MODEL, located))
                .partitionBy(partitionBy)
                .mode(ExtractJob.WriteMode.parse(mode))
                .limit(limit)
                .dryRun(dryRun)
                .reembed(reembed)
                .extensions(extensions)
                .pathColumn(pathColumn)
                .contentColumn(contentColumn)
                .commitEvery(commitEvery)
                .maxFailedFraction(maxFailedFraction)
                .quarantine(quarantine)
                .progressSeconds(progressSeconds)
                .retryErrors(retryErrors)
                .changeDataFeed(!noChangeDataFeed)
                .build();
    }

    /**
     * The embedding settings given by their options (or the defaults file, or their defaults), each
     * checked by its {@link Setting}.
     *
     * @throws OptionException naming the option of the first bad value (exit code 2)
     */
    EmbeddingSettings settings() {
        Map<Setting, String> given = new EnumMap<>(Setting.class);
        for (Setting s : Setting.values()) {
            Object v = spec.findOption(s.option()).getValue();
            if (v != null) {
                given.put(s, v.toString());
            }
        }
        try {
            return EmbeddingSettings.of(given);
        } catch (InvalidValueException e) {
            throw new OptionException(Setting.byParam(e.param()).option(), e.value(), e.hint());
        }
    }

    /**
     * Adds an option to the command for each embedding setting, from its {@link Setting}: name,
     * value label, type, default (the defaults file's {@code radio.<option>} wins over it) and help.
     */
    static final class SettingOptions implements CommandLine.IModelTransformer {
        @Override
        public CommandSpec transform(CommandSpec command) {
            for (Setting s : Setting.values()) {
                command.addOption(OptionSpec.builder(s.option())
                        .paramLabel(s.label())
                        .type(s.type())
                        .required(s.defaultValue() == null)
                        .defaultValue(s.defaultValue())
                        .description(help(s))
                        .build());
            }
            return command;
        }

        /** The setting's doc as a sentence, with its default. */
        static String help(Setting s) {
            String doc = Character.toUpperCase(s.doc().charAt(0)) + s.doc().substring(1);
            return doc + (s.defaultValue() == null ? ". Required." : " (default ${DEFAULT-VALUE}).");
        }
    }

    @Override
    public Integer call() {
        ExtractOptions o = options();
        SparkSession spark = JobSpark.session("radio extract", master);
        ExtractJob.Summary s = new ExtractJob(spark, o, out).run();
        print(s, o);
        if (!s.dryRun() && s.failedFraction() > o.maxFailedFraction()) {
            out.printf(
                    "radio extract: %.1f%% of the images failed, more than --max-failed-fraction %.1f%%; exit code %d.%n",
                    100 * s.failedFraction(), 100 * o.maxFailedFraction(), EXIT_TOO_MANY_FAILED);
            return EXIT_TOO_MANY_FAILED;
        }
        return 0;
    }

    private void print(ExtractJob.Summary s, ExtractOptions o) {
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
        out.printf(
                "  embedded   %,d (%.1f images/s overall, Spark start-up included)%n",
                s.embedded(), done / Math.max(s.seconds(), 1e-9));
        out.printf("  failed     %,d (error rows)%n", s.failed());
        out.printf("  table      %s, version %s%n", o.output(), s.tableVersion() == null ? "-" : s.tableVersion());
        out.flush();
    }
}
