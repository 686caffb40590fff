package ai.radiospark.ml;

import ai.radiospark.RadioException;
import ai.radiospark.model.RadioWeights;
import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.KryoSerializable;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
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
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobEnd;

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
 */
abstract class WeightsHandle implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Local mode: weights by key, in the JVM that is both driver and executor. */
    private static final Map<String, RadioWeights> LOCAL = new ConcurrentHashMap<>();

    /** The weights, on an executor (fetched or looked up once per JVM by the model cache). */
    abstract RadioWeights get();

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
     * On a cluster, an executor keeps a broadcast until the driver drops it: its pieces (the serialized
     * weights, 2.6 GB for C-RADIOv4-H in float32) and the value read from them, both on the heap, beside
     * the model built from them in native memory. Once the model is built, the executor's
     * {@code ExecutorModelCache} serves every later task without the weights. So after each job the driver
     * drops the executors' copies ({@link Broadcast#unpersist(boolean)}, not blocking; the driver keeps its
     * own): an executor that still has to build the model (a new executor, a retried build) fetches the
     * weights again, from the driver. {@code RadioModel} keeps no reference to the weights, so the
     * executor's heap can reclaim them.
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

    private static final class Broadcasted extends WeightsHandle {
        private static final long serialVersionUID = 1L;
        private final Broadcast<JavaSerialized> broadcast;

        Broadcasted(Broadcast<JavaSerialized> broadcast) {
            this.broadcast = broadcast;
        }

        @Override
        RadioWeights get() {
            return broadcast.value().weights;
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
