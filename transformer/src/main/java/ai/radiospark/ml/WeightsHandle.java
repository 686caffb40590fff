package ai.radiospark.ml;

import ai.djl.Device;
import ai.radiospark.RadioException;
import ai.radiospark.model.ModelDType;
import ai.radiospark.model.RadioWeights;
import ai.radiospark.runtime.ExecutorModelCache;
import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.KryoSerializable;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.ObjectStreamClass;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.lang.ref.WeakReference;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.SparkContext;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobEnd;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How tasks reach the weights the driver loaded: a {@link Broadcast} on a cluster, a reference
 * in this JVM in local mode.
 *
 * <p>In local mode (master {@code local}, {@code local[N]}) the driver and the only executor are
 * one JVM, and a broadcast would only cost: Spark serializes the value into blocks kept on the
 * heap beside it (measured 0.8-1.4 s and +374 MB of heap for the base shape; 2.6 GB for
 * C-RADIOv4-H in float32) that no other JVM ever fetches. The handle then holds a key into this
 * JVM's registry instead. The registry keeps each model's weights for the application's life, as
 * a broadcast would; checkpoints are memory-mapped, so that is little heap.
 *
 * <p>On a cluster an executor needs the weights only to build its model ({@link #model}), and keeps
 * none of them after: its copy of the broadcast goes as soon as the model is built (see {@link
 * Broadcasted}), and after each job the driver drops whatever executors still hold.
 */
abstract class WeightsHandle implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(WeightsHandle.class);

    /** Local mode: weights by key, in the JVM that is both driver and executor. */
    private static final Map<String, RadioWeights> LOCAL = new ConcurrentHashMap<>();

    /** The weights, on an executor (fetched or looked up once per JVM by the model cache). */
    abstract RadioWeights get();

    /**
     * This JVM's model for the checkpoint, device and dtype ({@link ExecutorModelCache}), built from these
     * weights if it has none; after a build, this executor's copy of the weights is dropped ({@link
     * #releaseHere}).
     */
    ExecutorModelCache.Lease model(String checkpointSha256, Device device, ModelDType dtype) {
        ExecutorModelCache.Lease lease = ExecutorModelCache.get(checkpointSha256, device, dtype, this::get);
        if (lease.built()) {
            releaseHere();
        }
        return lease;
    }

    /** Drops this JVM's copy of the weights once its model is built; nothing in local mode. */
    void releaseHere() {}

    /** A handle for {@code weights} in this SparkContext: local in local mode, else a broadcast. */
    static WeightsHandle of(SparkContext sc, RadioWeights weights) {
        if (sc.isLocal()) {
            String key = sc.applicationId() + "|" + weights.checkpointSha256();
            LOCAL.put(key, weights);
            return new Local(key);
        }
        Broadcast<JavaSerialized> b = JavaSparkContext.fromSparkContext(sc).broadcast(new JavaSerialized(weights));
        sc.addSparkListener(new DropFromExecutorsAfterJobs(sc, b));
        return new Broadcasted(b);
    }

    /** The id of the broadcast behind this handle; -1 in local mode, which broadcasts nothing (for tests). */
    long broadcastId() {
        return -1;
    }

    /**
     * The second line of defence ({@link Broadcasted} is the first): after each job the driver drops the
     * executors' copies of the broadcast ({@link Broadcast#unpersist(boolean)}, not blocking; the driver keeps
     * its own), such as those of an executor whose build failed, which keeps its copy for the retry.
     */
    private static final class DropFromExecutorsAfterJobs extends SparkListener {
        private final SparkContext sc;
        /**
         * Weak, so that the listener does not keep a broadcast whose stage is gone from Spark's
         * {@code ContextCleaner} (which would keep the driver's copy for the application's life); the
         * listener removes itself once it is cleared.
         */
        private final WeakReference<Broadcast<?>> broadcast;

        DropFromExecutorsAfterJobs(SparkContext sc, Broadcast<?> broadcast) {
            this.sc = sc;
            this.broadcast = new WeakReference<>(broadcast);
        }

        @Override
        public void onJobEnd(SparkListenerJobEnd jobEnd) {
            Broadcast<?> b = broadcast.get();
            if (b == null) {
                sc.removeSparkListener(this);
            } else if (b.isValid()) {
                b.unpersist(false);
            }
        }
    }

    /**
     * The weights as a broadcast. Spark keeps a broadcast on an executor until the driver drops it: its pieces
     * (the serialized weights, 2.6 GB for C-RADIOv4-H in float32) and the value read from them (as much again),
     * both on the heap, beside the model built from them in native memory. Once the model is built, the
     * executor's {@link ExecutorModelCache} serves every later task without the weights. So:
     *
     * <ul>
     *   <li>As soon as an executor has built its model ({@link #releaseHere}), it removes its own blocks of the
     *       broadcast, value and pieces ({@code BlockManager.removeBroadcast}, telling the driver's block
     *       manager master, so that no other executor fetches pieces from it), as the driver's unpersist would
     *       on this executor alone. It does so on a thread of its own: removing a block waits for the tasks
     *       that read it, and a task that took the value from this executor's block manager holds its read
     *       lock until it ends (Spark's {@code TorrentBroadcast.releaseBlockManagerLock}).
     *   <li>No reference to the weights outlives the build. Spark's {@code TorrentBroadcast} memoizes the
     *       value it read in a {@code SoftReference}, which the JVM clears only when short of heap, in the
     *       Broadcast object of the task (each task deserializes its own, with its closure, so it lives as long
     *       as the task, through the whole partition). So {@link #get} reads through a copy of the Broadcast
     *       object made for the call (without the memoized value, a transient field), which is gone when the
     *       call returns. Spark's cache of read values per executor ({@code BroadcastManager.cachedValues})
     *       holds them weakly; {@code RadioModel} and the cache keep none.
     *   <li>A later build on the same executor (a retried or a failed one, another device, another dtype)
     *       reads the broadcast again: from Spark's per-executor cache if the weights are still in the heap,
     *       else, its blocks here being gone, from the driver's (or another executor's) pieces, as a new
     *       executor would. RadioEmbedderLocalClusterTest builds a second model (another dtype) after the
     *       drop.
     * </ul>
     */
    private static final class Broadcasted extends WeightsHandle {
        private static final long serialVersionUID = 1L;
        private final Broadcast<JavaSerialized> broadcast;

        Broadcasted(Broadcast<JavaSerialized> broadcast) {
            this.broadcast = broadcast;
        }

        @Override
        RadioWeights get() {
            return detached(broadcast).value().weights;
        }

        @Override
        void releaseHere() {
            SparkEnv env = SparkEnv.get();
            // "driver": SparkContext.DRIVER_IDENTIFIER, private to Spark
            if (env == null || "driver".equals(env.executorId())) {
                return; // the driver's copy is every executor's source
            }
            long id = broadcast.id();
            Thread t = new Thread(
                    () -> {
                        try {
                            // (its count of blocks removed is always 0 in Spark 4.1: it counts an iterator its removal
                            // used up)
                            env.blockManager().removeBroadcast(id, true);
                            LOG.info(
                                    "Model built: removed the weights' broadcast {} from executor {}",
                                    id,
                                    env.executorId());
                        } catch (RuntimeException e) {
                            // the driver drops them after the job anyway
                            LOG.warn(
                                    "Could not remove the weights' broadcast {} from this executor: {}",
                                    id,
                                    e.toString());
                        }
                    },
                    "radio-release-broadcast-" + id);
            t.setDaemon(true);
            t.start();
        }

        /** A copy of {@code b} without the value it memoized: Java serialization skips that transient field. */
        @SuppressWarnings("unchecked")
        private static <T> Broadcast<T> detached(Broadcast<T> b) {
            try {
                ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
                    out.writeObject(b);
                }
                try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
                    return (Broadcast<T>) in.readObject();
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        long broadcastId() {
            return broadcast.id();
        }
    }

    /**
     * The broadcast value: the weights by their own Java serialization under any {@code spark.serializer}. Kryo's
     * default field serializer skips {@link RadioWeights}' transient fields and its {@code writeObject}, so with
     * {@code KryoSerializer} (conf/spark-defaults-*.conf) executors would get weights without tensors.
     */
    static final class JavaSerialized implements Serializable, KryoSerializable {
        private static final long serialVersionUID = 1L;
        RadioWeights weights;

        JavaSerialized(RadioWeights weights) {
            this.weights = weights;
        }

        /** For Kryo, which then calls {@link #read}. */
        JavaSerialized() {}

        @Override
        public void write(Kryo kryo, Output output) {
            try {
                ObjectOutputStream out = new ObjectOutputStream(output);
                out.writeObject(weights);
                out.flush();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public void read(Kryo kryo, Input input) {
            try {
                ObjectInputStream in = new ObjectInputStream(input) {
                    @Override
                    protected Class<?> resolveClass(ObjectStreamClass desc) throws IOException, ClassNotFoundException {
                        try {
                            return Class.forName(desc.getName(), false, JavaSerialized.class.getClassLoader());
                        } catch (ClassNotFoundException e) {
                            return super.resolveClass(desc);
                        }
                    }
                };
                weights = (RadioWeights) in.readObject();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    private static final class Local extends WeightsHandle {
        private static final long serialVersionUID = 1L;
        private final String key;

        Local(String key) {
            this.key = key;
        }

        @Override
        RadioWeights get() {
            RadioWeights w = LOCAL.get(key);
            if (w == null) {
                throw new RadioException(
                        "The RADIO weights for " + key + " are not in this JVM. They are shared without "
                                + "a broadcast only in local mode (master local[N]), where tasks run in the driver's JVM; this task "
                                + "runs elsewhere. Create the RadioEmbedder's SparkSession with the master it runs on.");
            }
            return w;
        }
    }
}
