package ai.radiospark.ml;

import ai.djl.Device;
import ai.radiospark.RadioException;
import ai.radiospark.model.DevicePlan;
import ai.radiospark.model.ModelDType;
import ai.radiospark.model.RadioModel;
import ai.radiospark.model.RadioOutput;
import ai.radiospark.runtime.BatchPixels;
import ai.radiospark.runtime.DefaultPixelSource;
import ai.radiospark.runtime.ExecutorModelCache;
import ai.radiospark.runtime.FeaturesMode;
import ai.radiospark.runtime.PixelSource;
import java.io.Serializable;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Embeds one image per call with the executor's cached model: the per-row path behind the SQL
 * functions ({@code ai.radiospark.sql.RadioFunctions}), where Spark hands a function one row at a
 * time and batching across rows is not possible.
 *
 * <p>Made on the driver by {@link RadioEmbedder#rowEmbedder}, which loads and broadcasts the
 * weights once; the instance is serializable and small (settings plus the broadcast handle), so it
 * travels inside UDF closures. On an executor the model comes from {@link ExecutorModelCache} (one
 * per JVM, checkpoint, device and dtype) and the image preprocessor from a per-JVM cache keyed by
 * its settings, so a row costs a decode, a resize and a batch-of-one forward pass, nothing more.
 * Thread-safe: concurrent tasks share the model and the preprocessor.
 */
public final class RowEmbedder implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final Map<PixelSource.Spec, PixelSource> SOURCES = new ConcurrentHashMap<>();

    private final WeightsHandle weights;
    private final transient RadioEmbedder.ModelInfo modelInfo; // driver only (RadioConfig is not serializable)
    private final String checkpointSha256;
    private final PixelSource.Spec spec;
    private final String device;
    private final ModelDType dtype;
    private final FeaturesMode featuresMode;
    private final boolean float16;
    private final PixelSource.Factory pixelSources;
    private final int torchThreads;
    private transient volatile RadioModel model;

    /** {@code torchThreads}: PyTorch intra-op threads of the calling thread's forward passes; 0 = PyTorch's setting. */
    RowEmbedder(
            WeightsHandle weights,
            RadioEmbedder.ModelInfo modelInfo,
            PixelSource.Spec spec,
            String device,
            ModelDType dtype,
            FeaturesMode featuresMode,
            boolean float16,
            PixelSource.Factory pixelSources,
            int torchThreads) {
        this.weights = weights;
        this.modelInfo = modelInfo;
        this.checkpointSha256 = modelInfo.checkpointSha256();
        this.spec = spec;
        this.device = device;
        this.dtype = dtype;
        this.featuresMode = featuresMode;
        this.float16 = float16;
        this.pixelSources = pixelSources;
        this.torchThreads = torchThreads;
    }

    /**
     * What the model resolved to on the driver (checkpoint SHA-256, source, configuration); null in
     * a deserialized copy (on executors).
     */
    public RadioEmbedder.ModelInfo modelInfo() {
        return modelInfo;
    }

    /** {@code array<float>}, as RadioEmbedder's summary column. */
    public static ArrayType summaryType() {
        return DataTypes.createArrayType(DataTypes.FloatType, false);
    }

    /** The features struct type for this embedder's featuresType (values array<float> or binary). */
    public StructType featuresType() {
        return EmbedderSchema.featuresType(float16);
    }

    /** {@code struct<summary, features, error>}: what {@link #embedRow} returns. */
    public StructType resultType() {
        return new StructType()
                .add("summary", summaryType(), true)
                .add("features", featuresType(), true)
                .add("error", DataTypes.StringType, true);
    }

    /**
     * One image's embedding, or why it could not be embedded.
     *
     * @param summary null when {@code error} is set
     * @param features (rows, cols, dim, values) as a Row, null with featuresMode none or on error
     * @param error null when the image was embedded
     */
    public record Result(float[] summary, Row features, String error) {}

    /**
     * Decodes, resizes and embeds {@code image}. A bad image (null, truncated, not an image), or an
     * output that came out NaN or infinite, gives a Result with {@code error} set; a failure of the model itself (out of memory, a device error)
     * throws, so Spark fails the task as with RadioEmbedder.
     *
     * @param name what error messages call the image (a path, or e.g. "the argument")
     */
    public Result embed(byte[] image, String name) {
        PixelSource.Pixels px;
        try {
            if (image == null) {
                throw new RadioException("The image is null (no bytes in this row). Filter out rows without images.");
            }
            px = source().decode(image, name);
        } catch (VirtualMachineError fatal) {
            throw fatal;
        } catch (Throwable t) {
            return new Result(null, null, ResultRows.message(t));
        }
        boolean withFeatures = featuresMode.kind() != FeaturesMode.Kind.NONE;
        Set<RadioModel.Output> outputs = withFeatures
                ? EnumSet.of(RadioModel.Output.SUMMARY, RadioModel.Output.FEATURES)
                : EnumSet.of(RadioModel.Output.SUMMARY);
        RadioModel m = model();
        if (torchThreads > 0 && ai.radiospark.model.TorchEngine.intraOpThreads() != torchThreads) {
            ai.radiospark.model.TorchEngine.setIntraOpThreads(torchThreads); // as the forward lanes do, on this thread
        }
        RadioOutput out = pixels(m, px).forward(m, outputs);
        float[] summary = out.summary(0);
        String bad = ResultRows.nonFinite(summary, "summary");
        if (bad != null) {
            return new Result(null, null, bad);
        }
        Row features = null;
        if (withFeatures) {
            features = ResultRows.featuresRow(out, 0, featuresMode, float16);
            if (features == null) {
                return new Result(null, null, ResultRows.nonFinite(null, "features"));
            }
        }
        return new Result(summary, features, null);
    }

    /**
     * One image's pixels packed as {@code model}'s {@link DevicePlan} asks, as the stage packs its
     * batches ({@link BatchPixels}): 8-bit on a GPU (a quarter of the bytes to copy and upload, the
     * rescale on the device, the same outputs bit for bit), float32 on the CPU.
     */
    static BatchPixels pixels(RadioModel model, PixelSource.Pixels px) {
        return BatchPixels.of(
                List.of(px.chw()), px.height(), px.width(), model.plan().uint8Pixels());
    }

    /** PyTorch intra-op threads of this embedder's forward passes (its torchThreads); 0 = PyTorch's setting. */
    public int torchThreads() {
        return torchThreads;
    }

    /** {@link #embed} as a Row of {@link #resultType()}. */
    public Row embedRow(byte[] image, String name) {
        Result r = embed(image, name);
        return RowFactory.create(r.summary(), r.features(), r.error());
    }

    private PixelSource source() {
        if (pixelSources == DefaultPixelSource.FACTORY) {
            return SOURCES.computeIfAbsent(spec, DefaultPixelSource::new); // immutable and thread-safe: one per JVM
        }
        return pixelSources.create(spec);
    }

    private RadioModel model() {
        RadioModel m = model;
        if (m == null) {
            Device d = DeviceSelector.forTask(device);
            DevicePlan.of(d, dtype); // float16 on the CPU: refused before the model is built
            m = weights.model(checkpointSha256, d, dtype).model();
            model = m;
        }
        return m;
    }
}
