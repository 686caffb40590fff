package ai.radiospark.ml;

import ai.radiospark.InvalidValueException;
import ai.radiospark.RadioException;
import ai.radiospark.model.Checkpoint;
import ai.radiospark.model.DevicePlan;
import ai.radiospark.model.ModelDType;
import ai.radiospark.model.RadioConfig;
import ai.radiospark.runtime.DefaultPixelSource;
import ai.radiospark.runtime.EmbeddingSettings;
import ai.radiospark.runtime.EmbeddingSettings.Setting;
import ai.radiospark.runtime.ExecutorModelCache;
import ai.radiospark.runtime.FeaturesMode;
import ai.radiospark.runtime.PixelSource;
import java.io.Serializable;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;
import org.apache.spark.SparkContext;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.SerializableConfiguration;
import scala.runtime.AbstractFunction1;

/**
 * A Spark ML {@link Transformer} that computes RADIO image embeddings.
 *
 * <pre>{@code
 * Dataset<Row> images = spark.read().format("binaryFile").load("s3a://bucket/photos/");
 * RadioEmbedder embedder = new RadioEmbedder()
 *     .setModel("nvidia/C-RADIOv4-H")         // hub id or checkpoint directory, read on the driver
 *     .setInputCol("content")                  // binary, image struct or string path
 *     .setImageSize("224x224").setBatchSize(16)
 *     .setFeaturesMode("pooled:2x2");
 * Dataset<Row> out = embedder.transform(images);
 * out.select(array_to_vector(col("summary")).as("vector"));
 * }</pre>
 *
 * <p>README.md's "Output schema" section documents the columns it appends.
 *
 * <p><b>Input column</b> ({@code inputCol}, default {@code content}) may be:
 *
 * <ul>
 *   <li>binary: encoded image bytes, e.g. the {@code binaryFile} source's {@code content};
 *   <li>the Spark {@code image} source's struct (origin, height, width, nChannels, mode, data with
 *       8-bit BGR(A) or gray pixels, row-major): converted to RGB and resized without re-encoding;
 *   <li>string: a path or URI, read through the Hadoop FileSystem with the session's Hadoop
 *       configuration.
 * </ul>
 *
 * <p><b>Output columns</b>, appended to every input column; every input row comes out once, in input
 * order when every image of a partition has one input size (fixed mode), else grouped by input size
 * (see {@link EmbedPartition}):
 *
 * <ul>
 *   <li>{@code summaryCol} (default {@code summary}), {@code array<float>}: the summary embedding
 *       (the cls tokens at the model's summary indices, concatenated), ready for
 *       {@code org.apache.spark.ml.functions.array_to_vector};
 *   <li>{@code featuresCol} (default {@code features}),
 *       {@code struct<rows:int, cols:int, dim:int, values:array<float>>} with featuresType float32,
 *       or {@code values: binary} (little-endian IEEE 754 half floats, 2 bytes each) with
 *       featuresType float16. values is (rows, cols, dim) row-major: the patch grid, or the pooled
 *       grid with featuresMode pooled:RxC. Null when featuresMode is none;
 *   <li>{@code imageInfoCol} (only when set; default "" = no column),
 *       {@code struct<width:int, height:int, inputHeight:int, inputWidth:int>}: the original image
 *       size and the model input size after resizing; null for failed rows;
 *   <li>{@code errorCol} (default {@code error}), {@code string}: null when the image was embedded;
 *       otherwise why not (summary and features are then null). With failOnError=true a bad image
 *       fails the task instead, naming the file.
 * </ul>
 *
 * <p><b>Execution</b>: the driver loads the checkpoint once and broadcasts the weights (local mode:
 * shares them in its JVM, no broadcast); each
 * executor JVM builds the model once per (checkpoint SHA-256, device, dtype) and reuses it across
 * tasks and stages ({@link ExecutorModelCache}). Each partition decodes images on
 * {@code decodeThreads} threads into a bounded queue of two batches while earlier batches run,
 * so memory stays bounded whatever the partition size. The tasks queue their batches for the
 * executor's forward lanes, long-lived threads shared by its tasks ({@code forwardConcurrency} per
 * device; default on CPU executor cores / {@code torchThreads}, on a GPU 2), each pass on
 * {@code torchThreads} PyTorch threads (default spark.task.cpus); a task's last batch is split
 * over the lanes. A forward pass takes images of one token count (patch rows x columns), of one or
 * more input sizes (768x1024 and 1024x768 share a pass, each patch-embedded on its own grid): in
 * native, native-buckets and shortest-edge modes images wait in per-token-count buckets kept across
 * the partition until a bucket holds {@code batchSize} images, the pixels held staying under 4
 * batches of the largest input ({@link ai.radiospark.runtime.SizeBuckets}); rows of one token count
 * keep their input order, so rows of one size do too.
 *
 * <p><b>Metrics</b>: long accumulators named {@code RadioEmbedder(uid).imagesProcessed},
 * {@code .imagesFailed}, {@code .decodeMs}, {@code .forwardMs}, {@code .forwardImages} and the
 * histograms {@code .imagesPerForward} and {@code .inputSizesPerForward} (visible in the Spark UI), read with
 * {@link #getLastMetrics()} after an action; each partition also logs one line at INFO.
 */
public class RadioEmbedder extends Transformer implements DefaultParamsWritable {
    private static final long serialVersionUID = 1L;

    private final String uid;

    private final Param<String> inputCol;
    private final Param<String> summaryCol;
    private final Param<String> featuresCol;
    private final Param<String> errorCol;
    private final Param<String> imageInfoCol;
    private final Param<String> model;
    private final Param<String> imageSize;
    private final Param<String> resizeMode;
    private final IntParam batchSize;
    private final Param<String> device;
    private final Param<String> dtype;
    private final Param<String> featuresMode;
    private final Param<String> featuresType;
    private final BooleanParam failOnError;
    private final IntParam decodeThreads;
    private final IntParam torchThreads;
    private final IntParam forwardConcurrency;
    private final LongParam maxPixels;

    /** Not a param: the image decoder seam (tests substitute a stand-in). */
    private PixelSource.Factory pixelSourceFactory = DefaultPixelSource.FACTORY;

    private transient DriverModel driverModel;
    private transient EmbedderMetrics.Accumulators lastMetrics;

    public RadioEmbedder(String uid) {
        this.uid = uid;
        inputCol = new Param<>(
                this,
                "inputCol",
                "input column: binary (encoded image bytes, e.g. binaryFile's "
                        + "content), the image source's struct, or a string path read through the Hadoop FileSystem",
                nonEmpty());
        summaryCol =
                new Param<>(this, "summaryCol", "output column for the summary embedding, array<float>", nonEmpty());
        featuresCol = new Param<>(
                this,
                "featuresCol",
                "output column for the patch features, "
                        + "struct<rows:int, cols:int, dim:int, values:array<float> (or binary for float16)>",
                nonEmpty());
        errorCol =
                new Param<>(this, "errorCol", "output column for per-row errors, string (null when fine)", nonEmpty());
        imageInfoCol = new Param<>(
                this,
                "imageInfoCol",
                "optional output column (\"\" = none, the default) for "
                        + "struct<width:int, height:int, inputHeight:int, inputWidth:int>: the original image size and the model "
                        + "input size after resizing",
                new Validator<String>(v -> v != null));
        model = stringParam(Setting.MODEL);
        imageSize = stringParam(Setting.SIZE);
        resizeMode = stringParam(Setting.RESIZE_MODE);
        batchSize = intParam(Setting.BATCH_SIZE);
        device = stringParam(Setting.DEVICE);
        dtype = stringParam(Setting.DTYPE);
        featuresMode = stringParam(Setting.FEATURES_MODE);
        featuresType = stringParam(Setting.FEATURES_TYPE);
        failOnError = new BooleanParam(
                this,
                "failOnError",
                "fail the task on the first image that cannot be "
                        + "embedded (naming it), instead of writing the error to errorCol");
        decodeThreads = new IntParam(
                this,
                "decodeThreads",
                "image decoder threads per task; 0 = the task's CPUs, "
                        + "spark.task.cpus (at least 1). On GPU executors give each GPU 8-10 decode cores in all",
                ParamValidators.gtEq(0));
        torchThreads = intParam(Setting.TORCH_THREADS);
        forwardConcurrency = new IntParam(
                this,
                "forwardConcurrency",
                "forward passes that run at once per executor "
                        + "JVM and device (tasks queue their batches for them); 0 = on CPU the executor's cores / torchThreads, "
                        + "on a GPU 2",
                ParamValidators.gtEq(0));
        maxPixels = longParam(Setting.MAX_PIXELS);

        setDefault(inputCol, "content");
        setDefault(summaryCol, "summary");
        setDefault(featuresCol, "features");
        setDefault(errorCol, "error");
        setDefault(imageInfoCol, "");
        setDefault(failOnError, false);
        setDefault(decodeThreads, 0);
        setDefault(forwardConcurrency, 0);
    }

    /** The params of the embedding settings, by setting. */
    private final Map<Setting, Param<?>> settingParams = new EnumMap<>(Setting.class);

    /** A string param made from its setting's descriptor: name, doc, validator and default. */
    private Param<String> stringParam(Setting s) {
        Param<String> p = new Param<>(this, s.param(), s.doc(), new Validator<String>(s::accepts));
        settingParams.put(s, p);
        if (s.defaultValue() != null) {
            setDefault(p, s.defaultValue());
        }
        return p;
    }

    private IntParam intParam(Setting s) {
        IntParam p = new IntParam(this, s.param(), s.doc(), new Validator<Object>(v -> s.accepts(String.valueOf(v))));
        settingParams.put(s, p);
        setDefault(p, Integer.parseInt(s.defaultValue()));
        return p;
    }

    private LongParam longParam(Setting s) {
        LongParam p = new LongParam(this, s.param(), s.doc(), new Validator<Object>(v -> s.accepts(String.valueOf(v))));
        settingParams.put(s, p);
        setDefault(p, Long.parseLong(s.defaultValue()));
        return p;
    }

    /** Sets one embedding setting from its text (checked: {@link InvalidValueException} names the param). */
    @SuppressWarnings("unchecked")
    public RadioEmbedder set(Setting s, String value) {
        String v = s.parse(value);
        Param<?> p = settingParams.get(s);
        if (p instanceof IntParam i) {
            set(i, Integer.parseInt(v));
        } else if (p instanceof LongParam l) {
            set(l, Long.parseLong(v));
        } else {
            set((Param<String>) p, v);
        }
        return this;
    }

    /** Sets every embedding setting (the model too, unless null). */
    public RadioEmbedder setSettings(EmbeddingSettings settings) {
        settings.asMap().forEach((s, v) -> {
            if (v != null) {
                set(s, v);
            }
        });
        return this;
    }

    /** The embedding settings of this stage (set or default; the model null when unset). */
    public EmbeddingSettings getSettings() {
        Map<Setting, String> m = new EnumMap<>(Setting.class);
        settingParams.forEach((s, p) -> {
            if (isDefined(p)) {
                m.put(s, String.valueOf($(p)));
            }
        });
        return EmbeddingSettings.of(m);
    }

    public RadioEmbedder() {
        this(Identifiable$.MODULE$.randomUID("radioEmbedder"));
    }

    @Override
    public String uid() {
        return uid;
    }

    // ---- params (public no-arg accessors returning Param: Spark finds params by reflection) ----

    public Param<String> inputCol() {
        return inputCol;
    }

    public Param<String> summaryCol() {
        return summaryCol;
    }

    public Param<String> featuresCol() {
        return featuresCol;
    }

    public Param<String> errorCol() {
        return errorCol;
    }

    public Param<String> imageInfoCol() {
        return imageInfoCol;
    }

    public Param<String> model() {
        return model;
    }

    public Param<String> imageSize() {
        return imageSize;
    }

    public Param<String> resizeMode() {
        return resizeMode;
    }

    public IntParam batchSize() {
        return batchSize;
    }

    public Param<String> device() {
        return device;
    }

    public Param<String> dtype() {
        return dtype;
    }

    public Param<String> featuresMode() {
        return featuresMode;
    }

    public Param<String> featuresType() {
        return featuresType;
    }

    public BooleanParam failOnError() {
        return failOnError;
    }

    public IntParam decodeThreads() {
        return decodeThreads;
    }

    public IntParam torchThreads() {
        return torchThreads;
    }

    public IntParam forwardConcurrency() {
        return forwardConcurrency;
    }

    public LongParam maxPixels() {
        return maxPixels;
    }

    public String getInputCol() {
        return $(inputCol);
    }

    public String getSummaryCol() {
        return $(summaryCol);
    }

    public String getFeaturesCol() {
        return $(featuresCol);
    }

    public String getErrorCol() {
        return $(errorCol);
    }

    public String getImageInfoCol() {
        return $(imageInfoCol);
    }

    public String getModel() {
        return isDefined(model) ? $(model) : null;
    }

    public String getImageSize() {
        return $(imageSize);
    }

    public String getResizeMode() {
        return $(resizeMode);
    }

    public int getBatchSize() {
        return (Integer) $(batchSize);
    }

    public String getDevice() {
        return $(device);
    }

    public String getDtype() {
        return $(dtype);
    }

    public String getFeaturesMode() {
        return $(featuresMode);
    }

    public String getFeaturesType() {
        return $(featuresType);
    }

    public boolean getFailOnError() {
        return (Boolean) $(failOnError);
    }

    public int getDecodeThreads() {
        return (Integer) $(decodeThreads);
    }

    public int getTorchThreads() {
        return (Integer) $(torchThreads);
    }

    public int getForwardConcurrency() {
        return (Integer) $(forwardConcurrency);
    }

    public RadioEmbedder setInputCol(String value) {
        set(inputCol, value);
        return this;
    }

    public RadioEmbedder setSummaryCol(String value) {
        set(summaryCol, value);
        return this;
    }

    public RadioEmbedder setFeaturesCol(String value) {
        set(featuresCol, value);
        return this;
    }

    public RadioEmbedder setErrorCol(String value) {
        set(errorCol, value);
        return this;
    }

    /** Also output the original and model-input image sizes in this column ("" = don't). */
    public RadioEmbedder setImageInfoCol(String value) {
        set(imageInfoCol, value);
        return this;
    }

    public RadioEmbedder setModel(String value) {
        set(model, value);
        return this;
    }

    /** "HxW" (e.g. "224x224") or "S" for SxS. */
    public RadioEmbedder setImageSize(String value) {
        set(imageSize, value);
        return this;
    }

    /** {height, width}, or {size} for a square. */
    public RadioEmbedder setImageSize(int... heightWidth) {
        if (heightWidth == null || heightWidth.length < 1 || heightWidth.length > 2) {
            throw new IllegalArgumentException(
                    "imageSize takes {height, width} or {size}, got " + Arrays.toString(heightWidth));
        }
        return setImageSize(
                heightWidth.length == 1 ? String.valueOf(heightWidth[0]) : heightWidth[0] + "x" + heightWidth[1]);
    }

    public RadioEmbedder setResizeMode(String value) {
        set(resizeMode, value);
        return this;
    }

    public RadioEmbedder setBatchSize(int value) {
        set(batchSize, value);
        return this;
    }

    public RadioEmbedder setDevice(String value) {
        set(device, value);
        return this;
    }

    public RadioEmbedder setDtype(String value) {
        set(dtype, value);
        return this;
    }

    public RadioEmbedder setFeaturesMode(String value) {
        set(featuresMode, value);
        return this;
    }

    public RadioEmbedder setFeaturesType(String value) {
        set(featuresType, value);
        return this;
    }

    public RadioEmbedder setFailOnError(boolean value) {
        set(failOnError, value);
        return this;
    }

    public RadioEmbedder setDecodeThreads(int value) {
        set(decodeThreads, value);
        return this;
    }

    public RadioEmbedder setTorchThreads(int value) {
        set(torchThreads, value);
        return this;
    }

    public RadioEmbedder setForwardConcurrency(int value) {
        set(forwardConcurrency, value);
        return this;
    }

    /** Images over this many pixels become error rows, refused from their header (decompression bombs). */
    public RadioEmbedder setMaxPixels(long value) {
        set(maxPixels, value);
        return this;
    }

    public long getMaxPixels() {
        return (Long) $(maxPixels);
    }

    /** Session conf that sets the pixel limit of stages whose maxPixels is not set (radio extract's --max-pixels). */
    public static final String MAX_PIXELS_CONF = EmbeddingSettings.MAX_PIXELS_CONF;

    /** maxPixels if set, else the session's {@link #MAX_PIXELS_CONF}, else the default. */
    long maxPixels(SparkSession spark) {
        return isSet(maxPixels) ? getMaxPixels() : DriverModel.sessionMaxPixels(spark, getMaxPixels());
    }

    /** For tests: substitute the image decoder (must be serializable; runs on executors). */
    RadioEmbedder setPixelSourceFactory(PixelSource.Factory factory) {
        this.pixelSourceFactory = factory;
        return this;
    }

    /**
     * The metrics of the last {@link #transform} of this instance: read them after an action. They
     * count every evaluation of the returned Dataset (a second action, or a recomputed partition,
     * counts again).
     */
    public EmbedderMetrics getLastMetrics() {
        return lastMetrics == null ? EmbedderMetrics.EMPTY : lastMetrics.snapshot();
    }

    // ---- schema ----

    @Override
    public StructType transformSchema(StructType schema) {
        StructType out = EmbedderSchema.output(
                schema,
                getInputCol(),
                getSummaryCol(),
                getFeaturesCol(),
                getImageInfoCol(),
                getErrorCol(),
                getFeaturesType().equals("float16"));
        parseImageSize(getImageSize());
        return out;
    }

    // ---- transform ----

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType out = transformSchema(dataset.schema(), true);
        Dataset<Row> df = dataset.toDF();
        SparkSession spark = dataset.sparkSession();
        SparkContext sc = spark.sparkContext();
        DriverModel state = driverModel(sc);
        int[] size = parseImageSize(getImageSize());
        ModelDType dtype = resolvedDtype(sc); // auto: decided here, on the driver, before anything is recorded
        if (getDevice().equals("cpu")) {
            DevicePlan.of(ai.djl.Device.cpu(), dtype); // float16 on CPU: refused before any job starts
        }
        EmbedderMetrics.Accumulators acc = EmbedderMetrics.register(sc, "RadioEmbedder(" + uid + ")");
        lastMetrics = acc;
        String in = getInputCol();
        StructType schema = df.schema();
        int inputIndex = schema.fieldIndex(in);
        EmbedderSchema.InputKind kind =
                EmbedderSchema.inputKind(in, schema.apply(in).dataType());
        int nameIndex = EmbedderSchema.nameIndex(schema, kind);
        PixelSource.Spec spec = new PixelSource.Spec(
                size[0], size[1], getResizeMode(), state.info().config().patchSize(), maxPixels(spark));
        pixelSourceFactory.create(spec); // validates the size against the model's patch size, on the driver
        // batchSize unset: the device's default (DevicePlan), decided in the task that knows its device
        EmbeddingSettings settings = getSettings()
                .with(Setting.DTYPE, dtype.label())
                .with(Setting.MAX_PIXELS, Long.toString(spec.maxPixels()));
        EmbedPartition.Config cfg = new EmbedPartition.Config(
                kind,
                inputIndex,
                nameIndex,
                spec,
                settings,
                isSet(batchSize),
                getDecodeThreads(),
                getFailOnError(),
                state.info().checkpointSha256(),
                !getImageInfoCol().isEmpty(),
                getForwardConcurrency());
        SerializableConfiguration conf =
                kind == EmbedderSchema.InputKind.PATH ? new SerializableConfiguration(sc.hadoopConfiguration()) : null;
        EmbedPartition fn = new EmbedPartition(cfg, state.weights(), pixelSourceFactory, conf, acc);
        state.prebuildInLocalMode(getDevice(), dtype.label(), getTorchThreads(), getForwardConcurrency());
        return df.mapPartitions(fn, Encoders.row(out));
    }

    /**
     * The dtype this stage computes in with {@code spark}'s context, which its output and a table
     * record: dtype when set explicitly; for {@code auto} (the default) bfloat16 when the tasks will
     * run on GPUs (device gpu, a Spark GPU amount for executors or tasks, or local mode with a GPU
     * PyTorch sees), else float32. Decided on the driver, never per task.
     */
    public ModelDType resolvedDtype(SparkSession spark) {
        return resolvedDtype(spark.sparkContext());
    }

    private ModelDType resolvedDtype(SparkContext sc) {
        return DriverModel.resolveDtype(sc, getDevice(), getDtype());
    }

    /**
     * {@code settings} with dtype {@code auto} resolved as a stage with those settings would resolve
     * it with {@code spark}'s context ({@link #resolvedDtype}); an explicit dtype is kept. Front ends
     * that record the settings (radio extract's table) call it before recording them.
     */
    public static EmbeddingSettings resolveDtype(SparkSession spark, EmbeddingSettings settings) {
        String dtype = DriverModel.resolveDtype(spark.sparkContext(), settings.device(), settings.dtype())
                .label();
        return dtype.equals(settings.dtype()) ? settings : settings.with(Setting.DTYPE, dtype);
    }

    /**
     * Whether {@link #resolveDtype} would count the GPUs PyTorch sees (loading its engine) to resolve
     * {@code settings}' dtype: auto, with device auto, in local mode without a Spark GPU amount. Front
     * ends that may have nothing to embed (a dry run, a rerun) can then wait before resolving it.
     */
    public static boolean resolvingDtypeCountsGpus(SparkSession spark, EmbeddingSettings settings) {
        return DriverModel.resolvingDtypeCountsGpus(spark.sparkContext(), settings.device(), settings.dtype());
    }

    /**
     * A one-image-at-a-time embedder with this stage's model, imageSize, resizeMode, device, dtype,
     * featuresMode, featuresType and torchThreads (inputCol, batchSize, decodeThreads and failOnError do not
     * apply), for callers that get one row at a time, such as SQL functions. Checks the settings
     * and loads and broadcasts the weights on the driver now (once per SparkContext and model for
     * this instance, shared with {@link #transform}).
     */
    public RowEmbedder rowEmbedder(SparkSession spark) {
        if (getModel() == null) {
            throw new IllegalArgumentException(
                    "RadioEmbedder needs a model: set model to a RADIO checkpoint directory or "
                            + "a hub id such as nvidia/C-RADIOv4-H.");
        }
        int[] size = parseImageSize(getImageSize());
        FeaturesMode fm = FeaturesMode.parse(getFeaturesMode());
        DriverModel state = driverModel(spark.sparkContext());
        PixelSource.Spec spec = new PixelSource.Spec(
                size[0], size[1], getResizeMode(), state.info().config().patchSize(), maxPixels(spark));
        pixelSourceFactory.create(spec); // validates the size against the model's patch size, on the driver
        return new RowEmbedder(
                state.weights(),
                state.info(),
                spec,
                getDevice(),
                resolvedDtype(spark),
                fm,
                getFeaturesType().equals("float16"),
                pixelSourceFactory,
                getTorchThreads());
    }

    /** What the model parameter resolved to, on the driver. */
    public record ModelInfo(String checkpointSha256, String source, RadioConfig config) {}

    /**
     * The model's identity (checkpoint SHA-256, where it was loaded from, its configuration), from
     * the same driver-side load {@link #transform} uses: loaded and broadcast once per SparkContext
     * and model value, then reused. Uses the active SparkSession.
     */
    public ModelInfo modelInfo() {
        return modelInfo(SparkSession.active());
    }

    public ModelInfo modelInfo(SparkSession spark) {
        return driverModel(spark.sparkContext(), null).info();
    }

    /**
     * {@link #modelInfo(SparkSession)}, the weights read from {@code checkpoint}: the checkpoint
     * {@code model} names, which a front end opened already (for its SHA-256, before reading any
     * weight), so that the driver opens it once.
     */
    public ModelInfo modelInfo(SparkSession spark, Checkpoint checkpoint) {
        return driverModel(spark.sparkContext(), checkpoint).info();
    }

    /**
     * Loads the weights once per (SparkContext, model) for this instance, and broadcasts them (in
     * local mode, shares them in this JVM: {@link WeightsHandle}).
     */
    /** The id of the weights' broadcast of the last transform; -1 in local mode or before one (for tests). */
    synchronized long weightsBroadcastId() {
        return driverModel == null ? -1 : driverModel.weights().broadcastId();
    }

    private DriverModel driverModel(SparkContext sc) {
        return driverModel(sc, null);
    }

    /** @param opened the checkpoint of the model, if a caller opened it already; else null */
    private synchronized DriverModel driverModel(SparkContext sc, Checkpoint opened) {
        String m = getModel();
        DriverModel s = driverModel;
        if (s != null && s.isFor(m, sc)) {
            return s;
        }
        s = DriverModel.load(m, sc, opened);
        driverModel = s;
        try {
            s.prebuildInLocalMode(getDevice(), getDtype(), getTorchThreads(), getForwardConcurrency());
        } catch (RadioException e) {
            // an unknown dtype or device: transform reports it
        }
        return s;
    }

    /** Parses "HxW" or "S" into {H, W}. */
    static int[] parseImageSize(String text) {
        return EmbeddingSettings.parseImageSize(text);
    }

    /**
     * Checks a value of an embedding setting (imageSize, resizeMode, batchSize, device, dtype,
     * featuresMode, featuresType, torchThreads, maxPixels) with its {@link Setting}'s rules, saying
     * why and what would work: for front ends that check their options before starting Spark.
     *
     * @throws InvalidValueException naming the parameter and the accepted values
     */
    public static void checkValue(String param, String value) {
        Setting.byParam(param).parse(value);
    }

    /**
     * Checks the settings against a model's configuration, as {@link #transform} does on the
     * driver, without Spark and without the weights: imageSize and resizeMode against the patch
     * size. Front ends call it to report a bad size before starting Spark.
     *
     * @throws InvalidValueException naming imageSize
     */
    public void checkAgainst(RadioConfig config) {
        DriverModel.checkAgainst(pixelSourceFactory, getImageSize(), getResizeMode(), getMaxPixels(), config);
    }

    /**
     * Checks device and dtype against this machine, for local mode (where the tasks run here and
     * Spark assigns no GPU): device=gpu needs a GPU PyTorch sees, and float16 needs the GPU that
     * device=auto would then use. Only loads the PyTorch engine (to count GPUs) when the answer
     * matters: for device=gpu, or dtype=float16 with device=auto.
     *
     * @throws InvalidValueException naming device or dtype
     */
    public void checkDeviceLocally() {
        DriverModel.checkDeviceLocally(getDevice(), getDtype());
    }

    @Override
    public RadioEmbedder copy(ParamMap extra) {
        RadioEmbedder c = defaultCopy(extra);
        c.pixelSourceFactory = pixelSourceFactory;
        return c;
    }

    @Override
    public String toString() {
        return "RadioEmbedder: uid=" + uid + ", model=" + getModel() + ", inputCol=" + getInputCol();
    }

    public static MLReader<RadioEmbedder> read() {
        return new DefaultParamsReader<>();
    }

    public static RadioEmbedder load(String path) {
        return read().load(path);
    }

    private static scala.Function1<String, Object> nonEmpty() {
        return new Validator<String>(s -> s != null && !s.isBlank());
    }

    /** A serializable param validator. */
    private static final class Validator<T> extends AbstractFunction1<T, Object> implements Serializable {
        private static final long serialVersionUID = 1L;
        private final SerializablePredicate<T> test;

        Validator(SerializablePredicate<T> test) {
            this.test = test;
        }

        @Override
        public Object apply(T v) {
            return test.test(v);
        }
    }

    private interface SerializablePredicate<T> extends Serializable {
        boolean test(T s);
    }
}
