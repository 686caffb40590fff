package ai.radiospark.runtime;

import ai.djl.Device;
import ai.radiospark.RadioException;
import ai.radiospark.model.ModelDType;
import ai.radiospark.model.RadioModel;
import ai.radiospark.model.RadioWeights;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@link RadioModel} per (checkpoint SHA-256, device, dtype) per JVM (so one per GPU: tasks
 * sharing a GPU through a fractional spark.task.resource.gpu.amount share its model; the device
 * comes from {@code ai.radiospark.ml.DeviceSelector}), built by the first task
 * that needs it and shared by every later task and stage. Concurrent tasks wait for the one build
 * (a map of futures). Models are never closed while the JVM runs, so no task can see a closed
 * model; a shutdown hook closes them at exit.
 */
public final class ExecutorModelCache {
    private static final Logger LOG = LoggerFactory.getLogger(ExecutorModelCache.class);
    private static final Map<String, CompletableFuture<RadioModel>> MODELS = new ConcurrentHashMap<>();
    private static final AtomicLong BUILDS = new AtomicLong();

    static {
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> MODELS.values().forEach(f -> {
                            RadioModel m = f.getNow(null);
                            if (m != null) {
                                try {
                                    m.close();
                                } catch (RuntimeException e) {
                                    // exiting anyway
                                }
                            }
                        }),
                        "radio-model-cache-close"));
    }

    private ExecutorModelCache() {}

    /** Models built in this JVM so far (for tests and metrics). */
    public static long builds() {
        return BUILDS.get();
    }

    /** Models currently cached in this JVM. */
    public static int size() {
        return MODELS.size();
    }

    /**
     * The cached model for this checkpoint, device and dtype, building it (from {@code weights},
     * called only then, so the broadcast is only fetched by the builder) if this JVM has none.
     *
     * @return the model and whether this call built it
     */
    public static Lease get(String checkpointSha256, Device device, ModelDType dtype, Supplier<RadioWeights> weights) {
        return get(checkpointSha256, device, dtype, weights, DEFAULT_BUILDER);
    }

    /** Builds a model (a seam: tests check which devices get models without a GPU). */
    public interface Builder {
        RadioModel build(RadioWeights weights, Device device, ModelDType dtype);
    }

    static final Builder DEFAULT_BUILDER = (w, device, dtype) ->
            RadioModel.builder().optDevice(device).optDType(dtype).build(w);

    /** The cache key: one model per checkpoint, device (so per GPU: gpu(0), gpu(1)) and dtype. */
    public static String key(String checkpointSha256, Device device, ModelDType dtype) {
        return checkpointSha256 + "|" + device + "|" + dtype.label();
    }

    /** As {@link #get(String, Device, ModelDType, Supplier)}, building with {@code builder}. */
    public static Lease get(
            String checkpointSha256, Device device, ModelDType dtype, Supplier<RadioWeights> weights, Builder builder) {
        String key = key(checkpointSha256, device, dtype);
        CompletableFuture<RadioModel> mine = new CompletableFuture<>();
        CompletableFuture<RadioModel> existing = MODELS.putIfAbsent(key, mine);
        if (existing == null) {
            try {
                long t0 = System.nanoTime();
                RadioModel m = builder.build(weights.get(), device, dtype);
                BUILDS.incrementAndGet();
                // One line per build, with the JVM's pid: logs of a cluster show a model built once per executor JVM.
                LOG.info(
                        "Built RADIO model {} on {} ({}) in {} ms in JVM pid {}; {} model(s) cached in this JVM",
                        key,
                        device,
                        dtype,
                        (System.nanoTime() - t0) / 1_000_000,
                        ProcessHandle.current().pid(),
                        MODELS.size());
                mine.complete(m);
                return new Lease(m, true);
            } catch (Throwable t) {
                MODELS.remove(key, mine);
                mine.completeExceptionally(t);
                throw t;
            }
        }
        try {
            return new Lease(existing.get(), false);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RadioException(
                    "Interrupted while waiting for another task to build the RADIO model " + key + ".", e);
        } catch (ExecutionException | CompletionException e) {
            Throwable c = e.getCause() == null ? e : e.getCause();
            if (c instanceof RuntimeException r) {
                throw r;
            }
            throw new RadioException("Building the RADIO model " + key + " failed in another task: " + c, c);
        }
    }

    /** A cached model; {@code built} is true for the one call that built it. */
    public record Lease(RadioModel model, boolean built) {}
}
