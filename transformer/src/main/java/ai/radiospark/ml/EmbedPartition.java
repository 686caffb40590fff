package ai.radiospark.ml;

import ai.djl.Device;
import ai.radiospark.runtime.EmbeddingSettings;
import ai.radiospark.RadioException;
import ai.radiospark.model.DevicePlan;
import ai.radiospark.model.ModelDType;
import ai.radiospark.model.RadioModel;
import ai.radiospark.model.RadioOutput;
import ai.radiospark.runtime.DecodeAhead;
import ai.radiospark.runtime.ExecutorModelCache;
import ai.radiospark.runtime.FeaturesMode;
import ai.radiospark.runtime.ForwardThreads;
import ai.radiospark.runtime.Half;
import ai.radiospark.runtime.PixelSource;
import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.util.SerializableConfiguration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 */
final class EmbedPartition implements MapPartitionsFunction<Row, Row> {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(EmbedPartition.class);

  /**
   * Everything a task needs, decided on the driver: the input, the pixel spec, the stage's
   * embedding {@code settings} (checked) and its execution params. {@code batchSizeSet} false: the
   * device's default batch size ({@link DevicePlan}), decided in the task.
   */
  record Config(EmbedderSchema.InputKind kind, int inputIndex, int nameIndex, PixelSource.Spec spec,
      EmbeddingSettings settings, boolean batchSizeSet, int decodeThreads, boolean failOnError, String checkpointSha256,
      boolean imageInfo, int forwardConcurrency) implements Serializable {
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

  EmbedPartition(Config cfg, WeightsHandle weights, PixelSource.Factory pixelSources,
      SerializableConfiguration hadoopConf, EmbedderMetrics.Accumulators metrics) {
    this.cfg = cfg;
    this.weights = weights;
    this.pixelSources = pixelSources;
    this.hadoopConf = hadoopConf;
    this.metrics = metrics;
  }

  @Override
  public Iterator<Row> call(Iterator<Row> input) {
    return new Embedder(input);
  }

  /** Batches decoded ahead of the one being computed (K): memory is about (K + 1) batches of pixels. */
  static final int BATCHES_AHEAD = 2;

  private final class Embedder implements Iterator<Row> {
    private final Iterator<Row> input;
    private final TaskContext ctx;
    private final ArrayDeque<Row> ready = new ArrayDeque<>();
    private final AtomicLong decodeNanos = new AtomicLong();
    private final long startNanos = System.nanoTime();
    private DecodeAhead<Row, PixelSource.Pixels> queue;
    private PixelSource source;
    private Device device;
    private RadioModel model;
    private long images;
    private long failed;
    private long forwardNanos;
    private long modelNanos;
    private int batches;
    private boolean finished;
    private boolean inputDone;
    /**
     * PyTorch intra-op threads per forward pass: the torchThreads param, else the task's CPUs
     * (spark.task.cpus). PyTorch's default (all cores) oversubscribes an executor running several
     * lanes plus decoder threads, and its OpenMP threads then spin: measured 3x slower forward
     * passes on 2 shared cores.
     */
    private int torchThreads;
    /** Forward passes that run at once in this JVM on this device: {@link DevicePlan#lanes}. */
    private int lanes;
    /**
     * Batches this task keeps submitted at once: 2 (the next one queued behind the running one),
     * up to 3 when there are more lanes, so that the last tasks of a stage keep the lanes busy.
     */
    private int inFlight;
    private final ArrayDeque<PendingBatch> pending = new ArrayDeque<>();

    Embedder(Iterator<Row> input) {
      this.input = input;
      this.ctx = TaskContext.get();
      if (ctx != null) {
        ctx.addTaskCompletionListener((org.apache.spark.util.TaskCompletionListener) c -> close());
      }
    }

    @Override
    public boolean hasNext() {
      if (!ready.isEmpty()) {
        return true;
      }
      if (finished) {
        return false;
      }
      if (ctx != null) {
        ctx.killTaskIfInterrupted(); // a killed task stops between batches even without thread interrupts
      }
      // Keep up to inFlight batches submitted to the forward lanes: while one runs, the next is
      // queued behind it (or runs on another lane), so lanes do not idle while this thread turns
      // outputs into rows, and the last task of a stage still fills every lane.
      DecodeAhead<Row, PixelSource.Pixels> q = queue();
      while (!inputDone && pending.size() < inFlight) {
        List<DecodeAhead.Item<Row, PixelSource.Pixels>> batch = q.next();
        if (batch.isEmpty()) {
          inputDone = true;
        } else {
          pending.add(submitBatch(batch, q.isDone()));
        }
      }
      if (pending.isEmpty()) {
        finish();
        return false;
      }
      completeBatch(pending.poll());
      return true;
    }

    @Override
    public Row next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      return ready.poll();
    }

    /**
     * The decode queue, started on first use: the device and dtype are checked before any decode
     * (a wrong setup fails at once), then the first batches start decoding while this thread
     * builds (or fetches) the model, unless the partition is empty.
     */
    private DecodeAhead<Row, PixelSource.Pixels> queue() {
      if (queue == null) {
        device = DeviceSelector.forTask(cfg.device());
        DevicePlan plan = DevicePlan.of(device, cfg.dtype());
        torchThreads = ctx != null ? EmbedPartition.torchThreads(cfg.torchThreads(), ctx.cpus()) : cfg.torchThreads();
        lanes = plan.lanes(cfg.forwardConcurrency(), executorCores(), torchThreads);
        inFlight = Math.min(Math.max(2, lanes), BATCHES_AHEAD + 1);
        source = pixelSources.create(cfg.spec());
        String tag = ctx == null ? "driver" : ctx.stageId() + "." + ctx.partitionId();
        int batchSize = plan.batchSize(cfg.batchSize());
        queue = new DecodeAhead<>(input, batchSize, BATCHES_AHEAD, decodeThreads(), tag, this::decode,
            () -> {
              if (ctx != null) {
                ctx.killTaskIfInterrupted();
              }
            });
        if (!queue.isDone()) {
          long t0 = System.nanoTime();
          model();
          modelNanos = System.nanoTime() - t0;
        }
      }
      return queue;
    }

    private PixelSource.Pixels decode(Row row, long i) {
      long t0 = System.nanoTime();
      try {
        if (Thread.currentThread().isInterrupted()) {
          throw new InterruptedException("cancelled");
        }
        return pixels(row, i);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new RadioException("Decoding was cancelled.", e);
      } finally {
        decodeNanos.addAndGet(System.nanoTime() - t0);
      }
    }

    private PixelSource.Pixels pixels(Row row, long i) {
      int c = cfg.inputIndex();
      if (row.isNullAt(c)) {
        throw new RadioException("The input column is null in this row. Filter out rows without images, or "
            + "fix the input.");
      }
      String name = name(row, i);
      switch (cfg.kind()) {
        case BINARY:
          return source.decode((byte[]) row.get(c), name);
        case PATH:
          return source.decode(readFile(row.getString(c)), name);
        case IMAGE_STRUCT:
          Row img = row.getStruct(c);
          return ImageStructs.toPixels(img, name, source);
        default:
          throw new AssertionError(cfg.kind());
      }
    }

    private byte[] readFile(String path) {
      try {
        return FileBytes.read(path, hadoopConf.value());
      } catch (IOException | IllegalArgumentException e) {
        throw new RadioException("Cannot read image file " + path + ": " + e.getClass().getSimpleName() + ": "
            + e.getMessage() + ". Check the path, and that executors can reach its file system.", e);
      }
    }

    /** The row's name for messages: its path (or origin), else its position. */
    private String name(Row row, long i) {
      int c = cfg.inputIndex();
      try {
        if (cfg.kind() == EmbedderSchema.InputKind.PATH && !row.isNullAt(c)) {
          return row.getString(c);
        }
        if (cfg.kind() == EmbedderSchema.InputKind.IMAGE_STRUCT && !row.isNullAt(c)) {
          Row img = row.getStruct(c);
          int o = ImageStructs.originIndex(img);
          if (o >= 0 && !img.isNullAt(o)) {
            return img.getString(o);
          }
        }
        if (cfg.nameIndex() >= 0 && !row.isNullAt(cfg.nameIndex())) {
          return row.getString(cfg.nameIndex());
        }
      } catch (RuntimeException e) {
        // fall through to the position
      }
      return "row " + i + " of partition " + (ctx == null ? 0 : ctx.partitionId());
    }

    /** A batch whose forward passes were submitted: its decode results and the passes' futures. */
    private record PendingBatch(List<DecodeAhead.Item<Row, PixelSource.Pixels>> batch, Object[] info, String[] errors,
        List<PendingForward> forwards) {}

    /** One forward pass of a batch (one per distinct input size), running or queued on a lane. */
    private record PendingForward(List<Integer> group, Future<RadioOutput> result, long[] took) {}

    /**
     * Checks a decoded batch and submits its forward passes (one per distinct size) to the lanes.
     * The task's last batch is split into up to 2 x lanes smaller passes: at the end of a stage the
     * last task's final batch would otherwise run on one lane while the others idle (measured: one
     * of two lanes idle for about one batch time, 3 s of a 54 s stage).
     */
    private PendingBatch submitBatch(List<DecodeAhead.Item<Row, PixelSource.Pixels>> batch, boolean last) {
      int n = batch.size();
      Decoded[] decoded = new Decoded[n];
      for (int i = 0; i < n; i++) {
        decoded[i] = new Decoded(batch.get(i).value(), batch.get(i).error());
      }
      Object[] info = new Object[n];
      String[] errors = new String[n];
      // One forward pass per distinct size in the batch (fixed mode: one).
      Map<Long, List<Integer>> bySize = new LinkedHashMap<>();
      for (int i = 0; i < n; i++) {
        Decoded d = decoded[i];
        if (d.error() != null) {
          if (d.error() instanceof VirtualMachineError fatal) {
            throw fatal; // out of memory is not the image's fault: fail the task so Spark can retry it
          }
          errors[i] = message(d.error());
          if (cfg.failOnError()) {
            DecodeAhead.Item<Row, PixelSource.Pixels> p = batch.get(i);
            throw new RadioException("Cannot embed image " + name(p.input(), p.index()) + ": " + errors[i]
                + " (failOnError=true; set failOnError=false to record such errors in the error column and go on)",
                d.error());
          }
        } else {
          long key = ((long) d.pixels().height() << 32) | d.pixels().width();
          bySize.computeIfAbsent(key, k -> new ArrayList<>()).add(i);
        }
      }
      for (int i = 0; i < n; i++) {
        PixelSource.Pixels px = decoded[i].pixels();
        if (cfg.imageInfo() && px != null) {
          info[i] = RowFactory.create(px.originalWidth(), px.originalHeight(), px.height(), px.width());
        }
      }
      List<PendingForward> forwards = new ArrayList<>(bySize.size());
      int pieces = last && lanes > 1 ? 2 * lanes : 1;
      for (List<Integer> group : bySize.values()) {
        int parts = Math.min(pieces, group.size());
        for (int k = 0; k < parts; k++) {
          forwards.add(submitForward(group.subList(k * group.size() / parts, (k + 1) * group.size() / parts), decoded));
        }
      }
      return new PendingBatch(batch, info, errors, forwards);
    }

    /** Waits for a batch's forward passes and queues its output rows in input order. */
    private void completeBatch(PendingBatch p) {
      int n = p.batch().size();
      Object[] summary = new Object[n];
      Object[] features = new Object[n];
      for (PendingForward f : p.forwards()) {
        RadioOutput out = awaitForward(f.result());
        long dt = f.took()[0];
        forwardNanos += dt;
        if (metrics != null) {
          metrics.forwardMs().add(dt / 1_000_000);
        }
        for (int j = 0; j < f.group().size(); j++) {
          int i = f.group().get(j);
          float[] s = out.summary(j);
          Row feats = null;
          String bad = nonFinite(s, "summary");
          if (bad == null && cfg.featuresMode().kind() != FeaturesMode.Kind.NONE) {
            feats = featuresRow(out, j, cfg.featuresMode(), cfg.float16());
            bad = feats == null ? nonFinite(null, "features") : null;
          }
          if (bad != null) {
            if (cfg.failOnError()) {
              DecodeAhead.Item<Row, PixelSource.Pixels> item = p.batch().get(i);
              throw new RadioException("Cannot embed image " + name(item.input(), item.index()) + ": " + bad
                  + " (failOnError=true; set failOnError=false to record such errors in the error column and go on)");
            }
            p.errors()[i] = bad;
            continue;
          }
          summary[i] = s;
          features[i] = feats;
        }
      }
      long bad = 0;
      for (int i = 0; i < n; i++) {
        Row row = p.batch().get(i).input();
        int w = row.length();
        Object[] values = new Object[w + (cfg.imageInfo() ? 4 : 3)];
        for (int c = 0; c < w; c++) {
          values[c] = row.get(c);
        }
        values[w++] = summary[i];
        values[w++] = features[i];
        if (cfg.imageInfo()) {
          values[w++] = p.info()[i];
        }
        values[w] = p.errors()[i];
        if (p.errors()[i] != null) {
          bad++;
        }
        ready.add(RowFactory.create(values));
      }
      images += n;
      failed += bad;
      batches++;
      if (metrics != null) {
        metrics.processed().add(n);
        metrics.failed().add(bad);
      }
    }

    private PendingForward submitForward(List<Integer> group, Decoded[] decoded) {
      PixelSource.Pixels first = decoded[group.get(0)].pixels();
      int h = first.height();
      int w = first.width();
      int b = group.size();
      int per = 3 * h * w;
      float[] input = new float[b * per];
      for (int j = 0; j < b; j++) {
        System.arraycopy(decoded[group.get(j)].pixels().chw(), 0, input, j * per, per);
        decoded[group.get(j)] = new Decoded(null, null); // drop the pixels early
      }
      RadioModel m = model();
      Set<RadioModel.Output> outputs = cfg.featuresMode().kind() == FeaturesMode.Kind.NONE
          ? EnumSet.of(RadioModel.Output.SUMMARY) : EnumSet.of(RadioModel.Output.SUMMARY, RadioModel.Output.FEATURES);
      long[] took = new long[1];
      Future<RadioOutput> f = ForwardThreads.submit(device.toString(), lanes, torchThreads, () -> {
        long t0 = System.nanoTime();
        RadioOutput r = m.forward(input, b, h, w, outputs);
        took[0] = System.nanoTime() - t0;
        return r;
      });
      return new PendingForward(group, f, took);
    }

    /** Decoder threads: the decodeThreads param, else the task's CPUs (spark.task.cpus, as this task got them). */
    private int decodeThreads() {
      return cfg.decodeThreads() > 0 ? cfg.decodeThreads() : ctx != null ? Math.max(1, ctx.cpus()) : 1;
    }

    /** Waits for a forward pass, checking every 100 ms whether the task was killed. */
    private RadioOutput awaitForward(Future<RadioOutput> f) {
      while (true) {
        try {
          return f.get(100, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
          if (ctx != null) {
            ctx.killTaskIfInterrupted();
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          if (ctx != null) {
            ctx.killTaskIfInterrupted();
          }
          throw new RadioException("Interrupted while running the model; the task was cancelled.", e);
        } catch (ExecutionException e) {
          Throwable c = e.getCause();
          if (c instanceof RuntimeException r) {
            throw r;
          }
          if (c instanceof Error err) {
            throw err;
          }
          throw new RadioException("The RADIO forward pass failed: " + c, c);
        }
      }
    }

    /** One decoded input, or why it could not be decoded. */
    private record Decoded(PixelSource.Pixels pixels, Throwable error) {}

    private RadioModel model() {
      if (model == null) {
        model = ExecutorModelCache.get(cfg.checkpointSha256(), device, cfg.dtype(), weights::get).model();
      }
      return model;
    }

    private void finish() {
      finished = true;
      long decodeMs = decodeNanos.get() / 1_000_000;
      if (metrics != null) {
        metrics.decodeMs().add(decodeMs);
      }
      // wait-for-input: the task thread waiting for a batch's decodes (the device idle for want of
      // input, as far as this task goes); forward: time inside forward passes; decode: summed over
      // decoder threads (it overlaps the forwards); model: building or fetching the cached model.
      LOG.info("RadioEmbedder partition {} (stage {}) on {}: {} images, {} failed, {} batches, wall {} ms, "
          + "forward {} ms, wait-for-input {} ms, decode {} ms on {} threads, model {} ms",
          ctx == null ? 0 : ctx.partitionId(), ctx == null ? -1 : ctx.stageId(), device, images, failed, batches,
          (System.nanoTime() - startNanos) / 1_000_000, forwardNanos / 1_000_000,
          queue == null ? 0 : queue.waitNanos() / 1_000_000, decodeMs, decodeThreads(), modelNanos / 1_000_000);
      close();
    }

    private void close() {
      DecodeAhead<Row, PixelSource.Pixels> q = queue;
      if (q != null) {
        q.close();
      }
    }
  }

  private static final Pattern LOCAL_MASTER = Pattern.compile("local(?:\\[(\\*|\\d+)(?:,\\s*\\d+)?\\])?");

  /**
   * The cores of this executor: spark.executor.cores if set; in local mode the N of local[N]
   * (local: 1, local[*]: every core); else every core the JVM sees.
   */
  static int executorCores() {
    SparkEnv env = SparkEnv.get();
    int all = Runtime.getRuntime().availableProcessors();
    return env == null ? all : executorCores(env.conf().get("spark.master", ""),
        env.conf().getOption("spark.executor.cores").getOrElse(() -> null), all);
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

  /**
   * Image {@code j}'s features as stored: (rows, cols, dim, values), pooled per {@code mode}, values
   * as halves when {@code float16}; null when a value is NaN or infinite (see {@link #nonFinite}).
   */
  static Row featuresRow(RadioOutput out, int j, FeaturesMode mode, boolean float16) {
    int rows = out.rows();
    int cols = out.cols();
    float[] values = out.features(j);
    if (mode.kind() == FeaturesMode.Kind.POOLED) {
      values = FeaturesMode.pool(values, rows, cols, out.dim(), mode.rows(), mode.cols());
      rows = mode.rows();
      cols = mode.cols();
    }
    if (nonFinite(values, "features") != null) {
      return null;
    }
    return RowFactory.create(rows, cols, out.dim(), float16 ? Half.encode(values) : values);
  }

  /**
   * Null when every value is finite; else the error-column text for an image whose {@code what}
   * (summary or features) came out NaN or infinite, or for {@code values} null, features that did.
   * Such an output is an error row, never a stored vector: one NaN makes every cosine with it NaN.
   */
  static String nonFinite(float[] values, String what) {
    if (values != null) {
      boolean finite = true;
      for (float v : values) {
        finite &= Float.isFinite(v);
      }
      if (finite) {
        return null;
      }
    }
    return "The model's " + what + " for this image came out non-finite (NaN or Inf), so no embedding is "
        + "stored: the forward pass overflowed. With dtype float16 use bfloat16 or float32; else check the "
        + "checkpoint's weights (re-download or re-export it).";
  }

  /** What goes in the error column: RadioException's message, else the class and message. */
  static String message(Throwable t) {
    if (t instanceof RadioException) {
      return t.getMessage();
    }
    return t.getClass().getName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
  }
}

