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
 * and error appended out.
 *
 * <p>Output order. Every input row comes out exactly once, with its input columns unchanged. The
 * decoded images wait in per-token-count buckets kept across the partition ({@link SizeBuckets}:
 * input sizes with equal patch rows x columns, such as 1024x768 and 768x1024, share a bucket and a
 * forward pass), and a forward pass takes one bucket, so rows come out bucket by bucket: rows of one
 * token count, hence of one input size, keep their input order among themselves, and a row whose
 * image could not be decoded comes out with the bucket of the row before it. When every image of the partition has one input size
 * (fixed mode, the default), the rows come out in input order. In the other modes they can come
 * out of input order: join on a key column (radio extract merges on path).
 *
 * <p>The task thread reads input rows and hands each to a pool of decoder threads
 * ({@link DecodeAhead}); at most {@link #BATCHES_AHEAD} batches beyond the one being run are
 * queued, and the next batches decode while the model runs the current one. The buckets hold at
 * most {@link #HELD_BATCHES} batches of the largest input's pixels ({@link #largestInput}), so
 * memory is bounded by about {@code BATCHES_AHEAD + HELD_BATCHES + 3} batches of pixels whatever
 * the partition size and its mix of sizes (in fixed mode, the buckets hold less than one batch). The input iterator is only
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

    final Config cfg;
    final WeightsHandle weights;
    final PixelSource.Factory pixelSources;
    final SerializableConfiguration hadoopConf;
    final EmbedderMetrics.Accumulators metrics;

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
        return new BatchScheduler(input, this);
    }

    /** Batches decoded ahead of the one being computed (K): memory is about (K + 1) batches of pixels. */
    static final int BATCHES_AHEAD = 2;

    /**
     * The size buckets hold at most this many batches of the largest input's pixels: with exact
     * native sizes, images of about ten distinct input sizes fill their buckets before the bound
     * sends one early (see {@link ai.radiospark.runtime.SizeBuckets}).
     */
    static final int HELD_BATCHES = 4;

    /** The size buckets are at most this many times the batch size. */
    static final int BUCKETS_PER_IMAGE_OF_A_BATCH = 4;

    /**
     * Pixels (height x width) of the largest input {@code spec} makes: fixed: H x W; native and
     * native-buckets: the cap squared, snapped down to the patch size; shortest-edge: S x S (its
     * longer side has no cap, so {@link ai.radiospark.runtime.SizeBuckets} raises this to the
     * largest image it has seen).
     */
    static long largestInput(PixelSource.Spec spec) {
        int p = Math.max(1, spec.patchSize());
        int side = switch (spec.resizeMode()
                .trim()
                .toLowerCase(java.util.Locale.ROOT)
                .replace('_', '-')) {
            case "fixed" -> 0;
            case "shortest-edge" -> Math.min(spec.height(), spec.width());
            default -> Math.max(p, Math.max(spec.height(), spec.width()) / p * p);
        };
        return side == 0 ? (long) spec.height() * spec.width() : (long) side * side;
    }

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
