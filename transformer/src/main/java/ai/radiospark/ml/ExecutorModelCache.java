package ai.radiospark.ml;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.radiospark.RadioException;
import ai.radiospark.model.ModelDType;
import ai.radiospark.model.RadioModel;
import ai.radiospark.model.RadioWeights;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@link RadioModel} per (checkpoint SHA-256, device, dtype) per JVM, built by the first task
 * that needs it and shared by every later task and stage. Concurrent tasks wait for the one build
 * (a map of futures). Models are never closed while the JVM runs, so no task can see a closed
 * model; a shutdown hook closes them at exit.
 */
public final class ExecutorModelCache {
  private static final Logger LOG = LoggerFactory.getLogger(ExecutorModelCache.class);
  private static final Map<String, CompletableFuture<RadioModel>> MODELS = new ConcurrentHashMap<>();
  private static final AtomicLong BUILDS = new AtomicLong();

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(() -> MODELS.values().forEach(f -> {
      RadioModel m = f.getNow(null);
      if (m != null) {
        try {
          m.close();
        } catch (RuntimeException e) {
          // exiting anyway
        }
      }
    }), "radio-model-cache-close"));
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
  static Lease get(String checkpointSha256, Device device, ModelDType dtype, Supplier<RadioWeights> weights) {
    String key = checkpointSha256 + "|" + device + "|" + dtype.label();
    CompletableFuture<RadioModel> mine = new CompletableFuture<>();
    CompletableFuture<RadioModel> existing = MODELS.putIfAbsent(key, mine);
    if (existing == null) {
      try {
        long t0 = System.nanoTime();
        RadioModel m = RadioModel.builder().optDevice(device).optDType(dtype).build(weights.get());
        BUILDS.incrementAndGet();
        LOG.info("Built RADIO model {} on {} ({}) in {} ms; {} model(s) cached in this JVM", key, device, dtype,
            (System.nanoTime() - t0) / 1_000_000, MODELS.size());
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
      throw new RadioException("Interrupted while waiting for another task to build the RADIO model " + key + ".",
          e);
    } catch (ExecutionException | CompletionException e) {
      Throwable c = e.getCause() == null ? e : e.getCause();
      if (c instanceof RuntimeException r) {
        throw r;
      }
      throw new RadioException("Building the RADIO model " + key + " failed in another task: " + c, c);
    }
  }

  /** A cached model; {@code built} is true for the one call that built it. */
  record Lease(RadioModel model, boolean built) {}

  /**
   * Resolves the device parameter on the executor: {@code cpu}; {@code gpu} (the task's GPU from
   * Spark's resource scheduling when assigned, else GPU 0; fails when the JVM sees no GPU);
   * {@code auto} (as gpu when a GPU is visible, else cpu).
   */
  static Device resolveDevice(String device) {
    String d = device == null ? "auto" : device.trim().toLowerCase(Locale.ROOT);
    if (d.equals("cpu")) {
      return Device.cpu();
    }
    int gpus = Engine.getEngine("PyTorch").getGpuCount();
    if (gpus == 0) {
      if (d.equals("auto")) {
        return Device.cpu();
      }
      throw new RadioException("device=gpu, but this executor's PyTorch sees no GPU (the CPU-only native library, "
          + "or no CUDA device visible). Run on GPU executors (spark.executor.resource.gpu.amount=1 and "
          + "spark.task.resource.gpu.amount, e.g. 1 or 0.5, with a CUDA build of the PyTorch native library), "
          + "or set device=auto or cpu.");
    }
    int index = 0;
    TaskContext ctx = TaskContext.get();
    if (ctx != null) {
      ResourceInformation gpu = ctx.resourcesJMap().get("gpu");
      if (gpu != null && gpu.addresses().length > 0) {
        try {
          index = Integer.parseInt(gpu.addresses()[0].trim());
        } catch (NumberFormatException e) {
          index = 0;
        }
      }
    }
    if (index >= gpus) {
      throw new RadioException("Spark assigned GPU " + index + " to this task, but PyTorch sees only " + gpus
          + " GPU(s). Check spark.executor.resource.gpu.discoveryScript and CUDA_VISIBLE_DEVICES.");
    }
    return Device.gpu(index);
  }
}
