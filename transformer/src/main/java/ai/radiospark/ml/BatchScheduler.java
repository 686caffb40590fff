package ai.radiospark.ml;

import ai.djl.Device;
import ai.radiospark.RadioException;
import ai.radiospark.model.DevicePlan;
import ai.radiospark.model.RadioModel;
import ai.radiospark.model.RadioOutput;
import ai.radiospark.runtime.BatchPixels;
import ai.radiospark.runtime.DecodeAhead;
import ai.radiospark.runtime.FeaturesMode;
import ai.radiospark.runtime.ForwardThreads;
import ai.radiospark.runtime.PixelSource;
import ai.radiospark.runtime.ProcessMemory;
import ai.radiospark.runtime.SizeBuckets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.spark.TaskContext;
import org.apache.spark.sql.Row;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The scheduler of {@link EmbedPartition}, one per task: the output iterator. It picks the device
 * and its {@link DevicePlan}, decodes the input in batches through {@link DecodeAhead} (decoding
 * with {@link PartitionInput}), puts the images into per-token-count buckets kept across the
 * partition ({@link SizeBuckets}; input sizes with equal patch rows x columns share a pass), keeps up to three forward passes of full buckets submitted to
 * the executor's forward lanes ({@link ForwardThreads}), and turns each finished pass into rows
 * with {@link ResultRows}. Output order: see {@link EmbedPartition}. The input iterator is only
 * touched by the task thread.
 */
final class BatchScheduler implements Iterator<Row> {
    /** The partition's log line keeps its logger name. */
    private static final Logger LOG = LoggerFactory.getLogger(EmbedPartition.class);

    /** The partition function this iterator serves: its config, weights, pixel sources, conf and metrics. */
    private final EmbedPartition task;

    private final EmbedPartition.Config cfg;
    private final EmbedderMetrics.Accumulators metrics;
    /** The model outputs every pass asks for: the summary, and the features unless featuresMode is none. */
    private final Set<RadioModel.Output> outputs;

    private final Iterator<Row> input;
    private final TaskContext ctx;
    private final ArrayDeque<Row> ready = new ArrayDeque<>();
    private final long startNanos = System.nanoTime();
    private DecodeAhead<Row, PixelSource.Pixels> queue;
    private PartitionInput reader;
    private Device device;
    private RadioModel model;
    private long images;
    private long failed;
    private long forwardNanos;
    private long modelNanos;
    /** Forward passes completed, the images in them, and images per pass to passes. */
    private long passes;

    private long forwardImages;
    private final TreeMap<Integer, Long> imagesPerForward = new TreeMap<>();
    /** Distinct input sizes in a pass (of one token count) to passes. */
    private final TreeMap<Integer, Long> sizesPerForward = new TreeMap<>();
    /** Decoded images waiting, across decoded batches, for a forward pass of their input size. */
    private SizeBuckets<DecodeAhead.Item<Row, PixelSource.Pixels>> buckets;
    /** Forward passes in {@link #pending}. */
    private int pendingPasses;

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

    BatchScheduler(Iterator<Row> input, EmbedPartition task) {
        this.task = task;
        this.cfg = task.cfg;
        this.metrics = task.metrics;
        this.outputs = cfg.featuresMode().kind() == FeaturesMode.Kind.NONE
                ? EnumSet.of(RadioModel.Output.SUMMARY)
                : EnumSet.of(RadioModel.Output.SUMMARY, RadioModel.Output.FEATURES);
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
        // Keep up to inFlight forward passes submitted to the forward lanes: while one runs, the next
        // is queued behind it (or runs on another lane), so lanes do not idle while this thread turns
        // outputs into rows, and the last task of a stage still fills every lane. Decoded batches
        // go into the size buckets; a pass is submitted when a bucket is full (or sent early).
        DecodeAhead<Row, PixelSource.Pixels> q = queue();
        while (!inputDone && pendingPasses < inFlight) {
            List<DecodeAhead.Item<Row, PixelSource.Pixels>> batch = q.next();
            inputDone = batch.isEmpty() || q.isDone();
            distribute(batch, inputDone);
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
            torchThreads =
                    ctx != null ? EmbedPartition.torchThreads(cfg.torchThreads(), ctx.cpus()) : cfg.torchThreads();
            lanes = plan.lanes(cfg.forwardConcurrency(), EmbedPartition.executorCores(), torchThreads);
            inFlight = Math.min(Math.max(2, lanes), EmbedPartition.BATCHES_AHEAD + 1);
            reader = new PartitionInput(cfg, task.pixelSources.create(cfg.spec()), task.hadoopConf, ctx);
            String tag = ctx == null ? "driver" : ctx.stageId() + "." + ctx.partitionId();
            int batchSize = plan.batchSize(cfg.batchSize());
            buckets = new SizeBuckets<>(
                    batchSize,
                    EmbedPartition.HELD_BATCHES,
                    EmbedPartition.largestInput(cfg.spec()),
                    EmbedPartition.BUCKETS_PER_IMAGE_OF_A_BATCH * batchSize,
                    Math.max(0, cfg.spec().patchSize()));
            queue = new DecodeAhead<>(
                    input, batchSize, EmbedPartition.BATCHES_AHEAD, decodeThreads(), tag, reader::decode, () -> {
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

    /** A group whose forward passes were submitted: its rows being built and the passes' futures. */
    private record PendingBatch(ResultRows rows, List<PendingForward> forwards) {}

    /**
     * One forward pass of a group, running or queued on a lane: the positions in the group of its
     * images in the pass's order, and how many input sizes the pass has.
     */
    private record PendingForward(List<Integer> group, Future<RadioOutput> result, long[] took, int sizes) {}

    /**
     * Puts a decoded batch's images into their token-count buckets ({@link SizeBuckets}) and submits the
     * groups that are ready: a full bucket, a bucket sent to keep the pixels held bounded, and at
     * the end of the input every bucket left. The task's last groups are split into up to 2 x lanes
     * smaller passes when they are fewer than that: at the end of a stage the last task's final
     * batch would otherwise run on one lane while the others idle (measured: one of two lanes idle
     * for about one batch time, 3 s of a 54 s stage).
     */
    private void distribute(List<DecodeAhead.Item<Row, PixelSource.Pixels>> batch, boolean last) {
        List<SizeBuckets.Group<DecodeAhead.Item<Row, PixelSource.Pixels>>> send = new ArrayList<>();
        for (DecodeAhead.Item<Row, PixelSource.Pixels> item : batch) {
            PixelSource.Pixels px = item.value();
            send.addAll(
                    item.error() != null || px == null
                            ? buckets.addPassenger(item)
                            : buckets.add(item, px.height(), px.width()));
        }
        if (last) {
            send.addAll(buckets.drain());
        }
        int imageGroups = 0;
        for (SizeBuckets.Group<DecodeAhead.Item<Row, PixelSource.Pixels>> g : send) {
            imageGroups += g.images() > 0 ? 1 : 0;
        }
        int pieces = last && lanes > 1 ? Math.max(1, 2 * lanes / Math.max(1, imageGroups)) : 1;
        for (int i = 0; i < send.size(); i++) {
            pending.add(submitGroup(send.get(i).items(), pieces));
            send.set(i, null); // the group's pixels are copied into its forward's input: drop them
        }
    }

    /**
     * Checks a group's items (images of one token count, and rows whose decode failed, in input order) and
     * submits its forward pass, split into up to {@code pieces} passes.
     */
    private PendingBatch submitGroup(List<DecodeAhead.Item<Row, PixelSource.Pixels>> items, int pieces) {
        int n = items.size();
        List<DecodeAhead.Item<Row, PixelSource.Pixels>> names = new ArrayList<>(n);
        for (DecodeAhead.Item<Row, PixelSource.Pixels> item : items) {
            // The rows keep the input row and its position, not the pixels.
            names.add(new DecodeAhead.Item<>(item.input(), item.index(), null, item.error()));
        }
        ResultRows rows = new ResultRows(cfg, reader, names);
        List<Integer> images = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            DecodeAhead.Item<Row, PixelSource.Pixels> item = items.get(i);
            if (item.error() != null || item.value() == null) {
                rows.decodeFailed(i, item.error() != null ? item.error() : new RadioException("No pixels decoded."));
            } else {
                images.add(i);
            }
            rows.imageInfo(i, item.value());
        }
        List<PendingForward> forwards = new ArrayList<>();
        int parts = Math.min(pieces, images.size());
        for (int k = 0; k < parts; k++) {
            forwards.add(
                    submitForward(images.subList(k * images.size() / parts, (k + 1) * images.size() / parts), items));
        }
        pendingPasses += forwards.size();
        return new PendingBatch(rows, forwards);
    }

    /** Waits for a group's forward passes and queues its output rows, in the group's order. */
    private void completeBatch(PendingBatch p) {
        ResultRows rows = p.rows();
        for (PendingForward f : p.forwards()) {
            RadioOutput out = awaitForward(f.result());
            long dt = f.took()[0];
            forwardNanos += dt;
            int b = f.group().size();
            passes++;
            forwardImages += b;
            imagesPerForward.merge(b, 1L, Long::sum);
            sizesPerForward.merge(f.sizes(), 1L, Long::sum);
            if (metrics != null) {
                metrics.forwardMs().add(dt / 1_000_000);
                metrics.forwardImages().add(b);
                metrics.imagesPerForward().add(b);
                metrics.inputSizesPerForward().add(f.sizes());
            }
            for (int j = 0; j < b; j++) {
                rows.embedded(f.group().get(j), out, j);
            }
        }
        pendingPasses -= p.forwards().size();
        int n = rows.size();
        long bad = rows.addTo(ready);
        images += n;
        failed += bad;
        if (metrics != null) {
            metrics.processed().add(n);
            metrics.failed().add(bad);
        }
    }

    /**
     * Submits the forward pass of the images at positions {@code group} of {@code items}: images of
     * one token count, perhaps of several input sizes ({@link SizeBuckets}). The pass takes each
     * size's images contiguously, sizes in the order they first appear in the group, each size's
     * images in group order; the returned positions are in the pass's order.
     */
    private PendingForward submitForward(List<Integer> group, List<DecodeAhead.Item<Row, PixelSource.Pixels>> items) {
        LinkedHashMap<Long, List<Integer>> bySize = new LinkedHashMap<>();
        for (int j : group) {
            PixelSource.Pixels px = items.get(j).value();
            bySize.computeIfAbsent(((long) px.height() << 32) | px.width(), k -> new ArrayList<>())
                    .add(j);
        }
        List<Integer> order = new ArrayList<>(group.size());
        List<RadioModel.SubBatch> parts = new ArrayList<>(bySize.size());
        List<float[]> images = new ArrayList<>(group.size());
        for (List<Integer> same : bySize.values()) {
            PixelSource.Pixels first = items.get(same.get(0)).value();
            parts.add(new RadioModel.SubBatch(same.size(), first.height(), first.width()));
            for (int j : same) {
                order.add(j);
                images.add(items.get(j).value().chw());
            }
        }
        RadioModel m = model();
        BatchPixels input = BatchPixels.of(images, parts, m.plan().uint8Pixels());
        long[] took = new long[1];
        Future<RadioOutput> f = ForwardThreads.submit(device.toString(), lanes, torchThreads, () -> {
            long t0 = System.nanoTime();
            RadioOutput r = input.forward(m, outputs);
            took[0] = System.nanoTime() - t0;
            return r;
        });
        return new PendingForward(order, f, took, parts.size());
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

    private RadioModel model() {
        if (model == null) {
            model = task.weights
                    .model(cfg.checkpointSha256(), device, cfg.dtype())
                    .model();
        }
        return model;
    }

    private void finish() {
        finished = true;
        long decodeMs = reader.decodeNanos() / 1_000_000;
        if (metrics != null) {
            metrics.decodeMs().add(decodeMs);
        }
        // wait-for-input: the task thread waiting for a batch's decodes (the device idle for want of
        // input, as far as this task goes); forward: time inside forward passes; decode: summed over
        // decoder threads (it overlaps the forwards); model: building or fetching the cached model;
        // peak RSS: the executor JVM's so far (VmHWM), what its container's memory limit must hold.
        LOG.info(
                "RadioEmbedder partition {} (stage {}) on {}: {} images, {} failed, {} forward passes, {} images per "
                        + "pass (histogram images=passes {}; input sizes per pass, sizes=passes {}), wall {} ms, forward {} ms, wait-for-input {} ms, decode {} ms on {} threads, model {} ms, "
                        + "JVM pid {} peak RSS {} MB",
                ctx == null ? 0 : ctx.partitionId(),
                ctx == null ? -1 : ctx.stageId(),
                device,
                images,
                failed,
                passes,
                String.format(java.util.Locale.ROOT, "%.2f", passes == 0 ? 0.0 : (double) forwardImages / passes),
                imagesPerForward,
                sizesPerForward,
                (System.nanoTime() - startNanos) / 1_000_000,
                forwardNanos / 1_000_000,
                queue == null ? 0 : queue.waitNanos() / 1_000_000,
                decodeMs,
                decodeThreads(),
                modelNanos / 1_000_000,
                ProcessHandle.current().pid(),
                ProcessMemory.peakRssMb());
        close();
    }

    private void close() {
        DecodeAhead<Row, PixelSource.Pixels> q = queue;
        if (q != null) {
            q.close();
        }
    }
}
