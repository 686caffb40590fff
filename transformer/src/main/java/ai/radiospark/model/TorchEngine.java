package ai.radiospark.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.pytorch.jni.LibUtils;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * The one class that calls DJL's PyTorch internals ({@code JniUtils}, {@code IValue}, {@code Pt*}):
 * managers, loading a TorchScript module written by {@link TorchScriptArchive}, calling its methods,
 * and libtorch's per-thread settings. Everything else works with DJL's public {@link NDManager} and
 * {@link NDArray}, and with {@link Module}.
 *
 * <p>Method arguments map to TorchScript types as follows: {@link NDArray} to {@code Tensor}, a
 * {@link List} of NDArrays to {@code List[Tensor]}, {@link Integer} and {@link Long} to {@code int},
 * {@link Double} to {@code float}, {@link Boolean} to {@code bool}. Every native value made for a
 * call is freed when the call returns.
 */
public final class TorchEngine {
    /** DJL's name of the engine. */
    public static final String NAME = "PyTorch";

    /** {@link #setGraphOptimize}'s last value per thread, as libtorch keeps the switch. */
    private static final ThreadLocal<Boolean> GRAPH_OPTIMIZE = new ThreadLocal<>();

    private TorchEngine() {}

    /** A new base manager of the engine on {@code device}: the owner of a model's tensors. */
    public static NDManager newManager(Device device) {
        return NDManager.newBaseManager(device, NAME);
    }

    /** Loads libtorch if it is not yet loaded; the thread settings below need it. */
    public static void ensureLoaded() {
        Engine.getEngine(NAME);
    }

    /**
     * Switches the TorchScript graph executor's optimisation (profiling executor and fuser) for the
     * calling thread: libtorch keeps the switch per thread, so it is set on every thread that runs a model.
     */
    public static void setGraphOptimize(boolean on) {
        JniUtils.setGraphExecutorOptimize(on);
        GRAPH_OPTIMIZE.set(on);
    }

    /**
     * What {@link #setGraphOptimize} last set on the calling thread, or null if it never ran there
     * (libtorch's default, on). DJL 0.36 has no call that reads libtorch's switch back.
     */
    public static Boolean graphOptimize() {
        return GRAPH_OPTIMIZE.get();
    }

    /** The folder DJL loaded libtorch from (loading it if needed): {@code radio doctor} reports it. */
    public static String libtorchPath() {
        ensureLoaded();
        return LibUtils.getLibtorchPath();
    }

    /** libtorch's intra-op threads of the calling thread. */
    public static int intraOpThreads() {
        return JniUtils.getNumThreads();
    }

    /** Caps libtorch's intra-op threads of the calling thread (per calling thread under OpenMP). */
    public static void setIntraOpThreads(int threads) {
        JniUtils.setNumThreads(threads);
    }

    /**
     * Starts libtorch's profiler (CPU operators, without shapes or memory) for the operators that
     * run from now until {@link #stopProfile}: {@code ai.radiospark.bench.ForwardProfile}.
     */
    public static void startProfile() {
        JniUtils.startProfile(false, false, false);
    }

    /** Stops libtorch's profiler and writes what it recorded to {@code chromeTrace}, a Chrome trace (JSON). */
    public static void stopProfile(java.nio.file.Path chromeTrace) {
        JniUtils.stopProfile(chromeTrace.toString());
    }

    /** libtorch's inter-op threads. */
    public static int interOpThreads() {
        return JniUtils.getNumInteropThreads();
    }

    /**
     * Loads a TorchScript module, owned by {@code manager} (closed with it, or by {@link Module#close}).
     *
     * @throws UncheckedIOException if libtorch cannot read the archive
     */
    public static Module load(NDManager manager, TorchScriptArchive archive) {
        try {
            return new Module(JniUtils.loadModule(
                    (PtNDManager) manager, new ByteArrayInputStream(archive.toBytes()), true, false));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A loaded TorchScript module whose methods Java calls by name. */
    public static final class Module implements AutoCloseable {
        private final PtSymbolBlock block;

        private Module(PtSymbolBlock block) {
            this.block = block;
        }

        /** Calls a method that returns nothing Java needs. */
        public void call(String method, Object... args) {
            invoke(method, args).close();
        }

        /** Calls a method that returns an {@code int}. */
        public long callLong(String method, Object... args) {
            try (IValue r = invoke(method, args)) {
                return r.toLong();
            }
        }

        /** Calls a method that returns a {@code bool}. */
        public boolean callBoolean(String method, Object... args) {
            try (IValue r = invoke(method, args)) {
                return r.toBoolean();
            }
        }

        /** Calls a method that returns a {@code Tensor}, attached to {@code scope}. */
        public NDArray callTensor(NDManager scope, String method, Object... args) {
            try (IValue r = invoke(method, args)) {
                return r.toTensor((PtNDManager) scope);
            }
        }

        /** Calls a method that returns a {@code List[Tensor]}, attached to {@code scope}. */
        public NDArray[] callTensors(NDManager scope, String method, Object... args) {
            try (IValue r = invoke(method, args)) {
                return r.toTensorArray((PtNDManager) scope);
            }
        }

        private IValue invoke(String method, Object... args) {
            IValue[] in = new IValue[args.length];
            try {
                for (int i = 0; i < args.length; i++) {
                    in[i] = value(args[i]);
                }
                return IValueUtils.runMethod(block, method, in);
            } finally {
                for (IValue v : in) {
                    if (v != null) {
                        v.close();
                    }
                }
            }
        }

        private static IValue value(Object a) {
            if (a instanceof NDArray t) {
                return IValue.from((PtNDArray) t);
            }
            if (a instanceof List<?> list) {
                return IValue.listFrom(list.stream().map(PtNDArray.class::cast).toArray(PtNDArray[]::new));
            }
            if (a instanceof Integer || a instanceof Long) {
                return IValue.from(((Number) a).longValue());
            }
            if (a instanceof Double d) {
                return IValue.from(d.doubleValue());
            }
            if (a instanceof Boolean b) {
                return IValue.from(b.booleanValue());
            }
            throw new IllegalArgumentException("no TorchScript type for " + (a == null ? "null" : a.getClass()));
        }

        @Override
        public void close() {
            block.close();
        }
    }
}
