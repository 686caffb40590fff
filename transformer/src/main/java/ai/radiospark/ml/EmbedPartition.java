package ai.radiospark.ml;

import ai.radiospark.model.DevicePlan;
import ai.radiospark.model.ModelDType;
import ai.radiospark.runtime.DecodeAhead;
import ai.radiospark.runtime.EmbeddingSettings;
import ai.radiospark.runtime.FeaturesMode;
import ai.radiospark.runtime.PixelSource;
import java.io.Serializable;
import java.util.Iterator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.util.SerializableConfiguration;

/**
 * The per-partition work of {@link RadioEmbedder}: rows in, the same rows with summary, features
 * and error appended out, in input order.
 *
 * <p>The task thread reads input rows and hands each to a pool of decoder threads
 * ({@link DecodeAhead}); at most {@link #BATCHES_AHEAD} batches beyond the one being run are
 * queued, so memory is bounded by about three batches of pixels whatever the partition size, and
 * the next batches decode while the model runs the current one. The input iterator is only
 * touched by the task thread (Spark's readers are not thread-safe). The device comes from
 * {@link DeviceSelector} (the task's Spark GPU, if any); its {@link DevicePlan} (which refuses
 * float16 on the CPU) decides the lanes and the default batch size before the first decode.
 *
 * <p>This class is what Spark serializes: the driver's decisions ({@link Config}) and handles.
 * Each task's work is in three parts: {@link BatchScheduler} (batches, the forward lanes, the
 * iterator), {@link PartitionInput} (reading and decoding the input column) and
 * {@link ResultRows} (output rows, features, error rows).
 */
final class EmbedPartition implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    /**
     * Everything a task needs, decided on the driver: the input, the pixel spec, the stage's
     * embedding {@code settings} (checked) and its execution params. {@code batchSizeSet} false: the
     * device's default batch size ({@link DevicePlan}), decided in the task.
     */
    record Config(
            EmbedderSchema.InputKind kind,
            int inputIndex,
            int nameIndex,
            PixelSource.Spec spec,
            EmbeddingSettings settings,
            boolean batchSizeSet,
            int decodeThreads,
            boolean failOnError,
            String checkpointSha256,
            boolean imageInfo,
            int forwardConcurrency)
            implements Serializable {
        /** The batch size; 0 = the device's default. */
        int batchSize() {
            return batchSizeSet ? settings.batchSize() : 0;
        }

        String device() {
            return settings.device();
        }

        ModelDType dtype() {
            return ModelDType.parse(settings.dtype());
        }

        FeaturesMode featuresMode() {
            return FeaturesMode.parse(settings.featuresMode());
        }

        /** Features stored as float16 halves. */
        boolean float16() {
            return settings.featuresType().equals("float16");
        }

        int torchThreads() {
            return settings.torchThreads();
        }
    }

    private final Config cfg;
    private final WeightsHandle weights;
    private final PixelSource.Factory pixelSources;
    private final SerializableConfiguration hadoopConf;
    private final EmbedderMetrics.Accumulators metrics;

    EmbedPartition(
            Config cfg,
            WeightsHandle weights,
            PixelSource.Factory pixelSources,
            SerializableConfiguration hadoopConf,
            EmbedderMetrics.Accumulators metrics) {
        this.cfg = cfg;
        this.weights = weights;
        this.pixelSources = pixelSources;
        this.hadoopConf = hadoopConf;
        this.metrics = metrics;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> input) {
        return new BatchScheduler(input, cfg, weights, pixelSources, hadoopConf, metrics);
    }

    /** Batches decoded ahead of the one being computed (K): memory is about (K + 1) batches of pixels. */
    static final int BATCHES_AHEAD = 2;

    private static final Pattern LOCAL_MASTER = Pattern.compile("local(?:\\[(\\*|\\d+)(?:,\\s*\\d+)?\\])?");

    /**
     * The cores of this executor: spark.executor.cores if set; in local mode the N of local[N]
     * (local: 1, local[*]: every core); else every core the JVM sees.
     */
    static int executorCores() {
        SparkEnv env = SparkEnv.get();
        int all = Runtime.getRuntime().availableProcessors();
        return env == null
                ? all
                : executorCores(
                        env.conf().get("spark.master", ""),
                        env.conf().getOption("spark.executor.cores").getOrElse(() -> null),
                        all);
    }

    /** {@link #executorCores()} from the master URL, spark.executor.cores (or null) and the JVM's cores. */
    static int executorCores(String master, String executorCores, int all) {
        if (executorCores != null && executorCores.trim().matches("\\d+")) {
            return Math.max(1, Integer.parseInt(executorCores.trim()));
        }
        Matcher m = LOCAL_MASTER.matcher(master == null ? "" : master.trim());
        if (m.matches()) {
            return m.group(1) == null ? 1 : m.group(1).equals("*") ? all : Math.max(1, Integer.parseInt(m.group(1)));
        }
        return all;
    }

    /** PyTorch threads per forward pass: the torchThreads param if set, else the task's CPUs (spark.task.cpus). */
    static int torchThreads(int param, int taskCpus) {
        return param > 0 ? param : Math.max(1, taskCpus);
    }
}
