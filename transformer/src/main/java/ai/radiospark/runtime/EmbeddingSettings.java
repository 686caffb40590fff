package ai.radiospark.runtime;

import ai.radiospark.InvalidValueException;
import ai.radiospark.model.DevicePlan;
import java.io.Serializable;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How embeddings are made: the model and the settings of {@code RadioEmbedder}, {@code radio
 * extract}, the SQL functions and {@code conf/radio-defaults.properties}. Each setting's names,
 * default, documentation and check live in one {@link Setting}; the front ends (ML params, command
 * line options, SQL options, table properties) are made from those.
 *
 * <pre>{@code
 * EmbeddingSettings s = EmbeddingSettings.of(Map.of(Setting.MODEL, "nvidia/C-RADIOv4-H", Setting.SIZE, "512"));
 * s.imageSize();                  // "512"
 * s.tableProperties("ab12...");   // radio.model, radio.checkpoint_sha256, radio.resolution, ...
 * }</pre>
 *
 * <p>Adding a setting: a constant of {@link Setting}, a component of this record and its line in
 * {@link #of(Map)}; its param accessor, getter and setter in {@code RadioEmbedder}; its line in the
 * README (checked by {@code SettingsDocsTest}). The command line option, the SQL option, the
 * defaults file key and, when recorded, the table property follow.
 *
 * <p>Spark-free, like the rest of package runtime; {@code ArchitectureTest} keeps it so.
 */
public record EmbeddingSettings(
        String model,
        String imageSize,
        String resizeMode,
        int batchSize,
        String device,
        String dtype,
        String featuresMode,
        String featuresType,
        int torchThreads,
        long maxPixels)
        implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Session conf that sets the pixel limit of stages whose maxPixels is not set. */
    public static final String MAX_PIXELS_CONF = "spark.radio.maxPixels";

    /** The prefix of the table properties that record the settings. */
    public static final String TABLE_PREFIX = "radio.";

    /** The table property and commit metadata key of the checkpoint's SHA-256, recorded with the settings. */
    public static final String CHECKPOINT_SHA256 = "checkpoint_sha256";

    private static final Pattern IMAGE_SIZE = Pattern.compile("(\\d{1,5})(?:\\s*[x,]\\s*(\\d{1,5}))?");

    public static final String[] RESIZE_MODES = {"fixed", "shortest-edge", "native", "native-buckets"};
    public static final String[] DEVICES = {"auto", "cpu", "gpu"};
    public static final String[] DTYPES = {DevicePlan.AUTO, "float32", "bfloat16", "float16"};
    public static final String[] FEATURES_TYPES = {"float32", "float16"};

    /**
     * One setting: its param and SQL option name, its command line option ({@code radio.<option>}
     * in the defaults file), its table property key when the table records it (else null), its
     * default (null: none), its one-line documentation, and its check, which returns the value as
     * stored (trimmed; choices in lower case) or throws {@link InvalidValueException} naming the param.
     */
    public enum Setting {
        MODEL(
                "model",
                "--model",
                "DIR|HUB_ID",
                "model",
                null,
                String.class,
                true,
                "RADIO checkpoint directory (config.json plus model.safetensors) or Hugging Face hub id "
                        + "org/name[@revision]; read on the driver only, executors get the weights by broadcast",
                v -> nonBlank("model", v),
                EmbeddingSettings::model),
        SIZE(
                "imageSize",
                "--size",
                "HxW",
                "resolution",
                "224x224",
                String.class,
                true,
                "image size \"HxW\" (or \"S\" for SxS): the output size in fixed mode, the shortest edge (min of H, W) in "
                        + "shortest-edge mode, the maximum edge (max of H, W) in native and native-buckets modes",
                v -> {
                    parseImageSize(v);
                    return v.trim();
                },
                EmbeddingSettings::imageSize),
        RESIZE_MODE(
                "resizeMode",
                "--resize-mode",
                "fixed|native|native-buckets|shortest-edge",
                "resize_mode",
                "fixed",
                String.class,
                true,
                "how images are resized: fixed (exactly imageSize), shortest-edge (shorter side to S, aspect kept, "
                        + "snapped down to the patch size), native (aspect kept, longer side capped, snapped to the patch size) or "
                        + "native-buckets (the nearest of 7 patch-aligned aspect ratios with the longer side at the cap)",
                v -> oneOf("resizeMode", v, RESIZE_MODES),
                EmbeddingSettings::resizeMode),
        BATCH_SIZE(
                "batchSize",
                "--batch-size",
                "N",
                null,
                Integer.toString(DevicePlan.CPU_BATCH_SIZE),
                Integer.class,
                true,
                "images per forward pass (> 0)",
                v -> {
                    String t = v == null ? "" : v.trim();
                    if (!t.matches("\\d{1,9}") || Integer.parseInt(t) <= 0) {
                        throw new InvalidValueException(
                                "batchSize", v, "Use a positive number of images per forward pass, e.g. " + "16.");
                    }
                    return t;
                },
                EmbeddingSettings::batchSize),
        DEVICE(
                "device",
                "--device",
                "auto|cpu|gpu",
                null,
                "auto",
                String.class,
                true,
                "auto (the task's GPU from Spark's resource scheduling, else a GPU PyTorch sees, else the CPU), cpu, or gpu "
                        + "(as auto, but failing without a GPU)",
                v -> oneOf("device", v, DEVICES),
                EmbeddingSettings::device),
        DTYPE(
                "dtype",
                "--dtype",
                "auto|float32|bfloat16|float16",
                "dtype",
                DevicePlan.AUTO,
                String.class,
                true,
                "the model's compute type: auto (bfloat16 when the tasks run on GPUs: device gpu, a Spark GPU amount for "
                        + "executors or tasks, or local mode with a GPU; else float32; decided on the driver, and the table "
                        + "records the result), float32, bfloat16 or float16 (GPU only: refused on the CPU, where it is ~200x "
                        + "slower than float32); outputs are float32",
                v -> oneOf("dtype", v, DTYPES),
                EmbeddingSettings::dtype),
        FEATURES_MODE(
                "featuresMode",
                "--features",
                "none|full|pooled:RxC",
                "features",
                "none",
                String.class,
                true,
                "patch features to output: none, full (the whole patch grid) or pooled:RxC (the grid average-pooled to "
                        + "R x C, e.g. pooled:2x2)",
                v -> {
                    FeaturesMode.parse(v);
                    return v.trim().toLowerCase(Locale.ROOT);
                },
                EmbeddingSettings::featuresMode),
        FEATURES_TYPE(
                "featuresType",
                "--features-type",
                "float32|float16",
                "features_type",
                "float32",
                String.class,
                true,
                "element type of features.values: float32 (array<float>) or float16 (binary, little-endian IEEE half "
                        + "floats, half the size in Delta)",
                v -> oneOf("featuresType", v, FEATURES_TYPES),
                EmbeddingSettings::featuresType),
        TORCH_THREADS(
                "torchThreads",
                "--torch-threads",
                "N",
                null,
                "0",
                Integer.class,
                true,
                "PyTorch intra-op threads per forward pass; 0 = spark.task.cpus. Lanes x threads beyond the executor's "
                        + "cores oversubscribe it",
                v -> nonNegative("torchThreads", v, "threads per forward pass, e.g. 4"),
                EmbeddingSettings::torchThreads),
        MAX_PIXELS(
                "maxPixels",
                "--max-pixels",
                "N",
                null,
                "100000000",
                Long.class,
                false,
                "the largest image decoded, in pixels (width x height): a larger one is refused from its header, as an "
                        + "error row. Unset in the stage: the session's " + MAX_PIXELS_CONF + ", else 100000000",
                v -> {
                    String t = v == null ? "" : v.trim();
                    if (!t.matches("\\d{1,18}") || Long.parseLong(t) <= 0) {
                        throw new InvalidValueException(
                                "maxPixels", v, "Use a positive number of pixels, e.g. 100000000.");
                    }
                    return t;
                },
                EmbeddingSettings::maxPixels);

        private final String param;
        private final String option;
        private final String label;
        private final String tableKey;
        private final String defaultValue;
        private final Class<?> type;
        private final boolean sql;
        private final String doc;
        private final UnaryOperator<String> check;
        private final Function<EmbeddingSettings, Object> get;

        Setting(
                String param,
                String option,
                String label,
                String tableKey,
                String defaultValue,
                Class<?> type,
                boolean sql,
                String doc,
                UnaryOperator<String> check,
                Function<EmbeddingSettings, Object> get) {
            this.param = param;
            this.option = option;
            this.label = label;
            this.tableKey = tableKey;
            this.defaultValue = defaultValue;
            this.type = type;
            this.sql = sql;
            this.doc = doc;
            this.check = check;
            this.get = get;
        }

        /** The ML param's name, also the SQL option's ({@code spark.radio.<param>} for the SQL extension). */
        public String param() {
            return param;
        }

        /** The command line option of {@code radio extract}; key {@code radio.<option>} in the defaults file. */
        public String option() {
            return option;
        }

        /** The command line option's value label. */
        public String label() {
            return label;
        }

        /** The table property {@code radio.<key>} when tables record it (it changes the embeddings), else null. */
        public String tableKey() {
            return tableKey;
        }

        /** The key in a row's {@code settings} column and in the commit metadata ({@code size} for the size). */
        public String rowKey() {
            return this == SIZE ? "size" : tableKey;
        }

        /** The default as text; null when there is none (the model). */
        public String defaultValue() {
            return defaultValue;
        }

        /** String, Integer or Long. */
        public Class<?> type() {
            return type;
        }

        /** Whether the SQL functions take it as an option. */
        public boolean sql() {
            return sql;
        }

        /** What it does, one line (the ML param's doc; the command line's help adds the default). */
        public String doc() {
            return doc;
        }

        /**
         * The value as stored (trimmed, choices in lower case).
         *
         * @throws InvalidValueException naming {@link #param()} and saying what would work
         */
        public String parse(String value) {
            return check.apply(value);
        }

        /**
         * The ML param's validator: a valid value, and for a choice already as stored (the stage
         * compares choices as they are; imageSize and featuresMode are parsed where used).
         */
        public boolean accepts(String value) {
            try {
                return value != null
                        && (parse(value).equals(value) || this == MODEL || this == SIZE || this == FEATURES_MODE);
            } catch (InvalidValueException e) {
                return false;
            }
        }

        /** This setting's value in {@code s}, as text (null for no model). */
        public String of(EmbeddingSettings s) {
            Object v = get.apply(s);
            return v == null ? null : v.toString();
        }

        /** The setting a table records under {@code radio.<key>}. */
        public static Setting byTableKey(String key) {
            for (Setting s : values()) {
                if (key.equals(s.tableKey)) {
                    return s;
                }
            }
            throw new IllegalArgumentException("No embedding setting is recorded as " + key);
        }

        /** The setting of a param or SQL option name. */
        public static Setting byParam(String param) {
            for (Setting s : values()) {
                if (s.param.equals(param)) {
                    return s;
                }
            }
            throw new IllegalArgumentException("No embedding setting is called " + param);
        }
    }

    /** Every setting at its default, without a model (after the statics its checks use). */
    public static final EmbeddingSettings DEFAULTS = of(Map.of());

    /**
     * The settings given, each checked, the others at their defaults.
     *
     * @throws InvalidValueException naming the first setting with a bad value
     */
    public static EmbeddingSettings of(Map<Setting, String> given) {
        Map<Setting, String> v = new EnumMap<>(Setting.class);
        for (Setting s : Setting.values()) {
            String raw = given.containsKey(s) ? given.get(s) : s.defaultValue;
            v.put(s, raw == null ? null : s.parse(raw));
        }
        return new EmbeddingSettings(
                v.get(Setting.MODEL),
                v.get(Setting.SIZE),
                v.get(Setting.RESIZE_MODE),
                Integer.parseInt(v.get(Setting.BATCH_SIZE)),
                v.get(Setting.DEVICE),
                v.get(Setting.DTYPE),
                v.get(Setting.FEATURES_MODE),
                v.get(Setting.FEATURES_TYPE),
                Integer.parseInt(v.get(Setting.TORCH_THREADS)),
                Long.parseLong(v.get(Setting.MAX_PIXELS)));
    }

    /** These settings with one changed (checked). */
    public EmbeddingSettings with(Setting setting, String value) {
        Map<Setting, String> m = asMap();
        m.put(setting, value);
        return of(m);
    }

    /** Every setting's value as text, in {@link Setting} order (the model's may be null). */
    public Map<Setting, String> asMap() {
        Map<Setting, String> m = new EnumMap<>(Setting.class);
        for (Setting s : Setting.values()) {
            m.put(s, s.of(this));
        }
        return m;
    }

    /**
     * What a table records of how its embeddings were made, in order, keyed by table key without
     * the {@code radio.} prefix: the model, the checkpoint's SHA-256, then each recorded setting.
     */
    public Map<String, String> recorded(String checkpointSha256) {
        if (DevicePlan.AUTO.equals(dtype)) {
            throw new IllegalStateException("dtype=auto is resolved before settings are recorded "
                    + "(RadioEmbedder.resolveDtype): a table records the dtype the model computes in");
        }
        Map<String, String> m = new LinkedHashMap<>();
        m.put(Setting.MODEL.tableKey, model);
        m.put(CHECKPOINT_SHA256, checkpointSha256);
        for (Setting s : Setting.values()) {
            if (s.tableKey != null && s != Setting.MODEL) {
                m.put(s.tableKey, s.of(this));
            }
        }
        return m;
    }

    /** The keys of {@link #recorded}, in order. */
    public static java.util.List<String> recordedKeys() {
        return java.util.List.copyOf(
                DEFAULTS.with(Setting.DTYPE, "float32").recorded("").keySet());
    }

    /** The table properties that say how a table's embeddings were made: {@link #recorded} as radio.*. */
    public Map<String, String> tableProperties(String checkpointSha256) {
        Map<String, String> props = new LinkedHashMap<>();
        recorded(checkpointSha256).forEach((k, v) -> props.put(TABLE_PREFIX + k, v));
        return props;
    }

    /**
     * A row's {@code settings} column: the recorded settings besides the model and checkpoint, as
     * {@code size=224x224;resize_mode=fixed;dtype=float32;features=none;features_type=float32}.
     */
    public String rowSettings() {
        return rowSettings(recorded(""));
    }

    /** {@link #rowSettings()} of settings as {@link #recorded} names them (a missing one as "null"). */
    public static String rowSettings(Map<String, String> recorded) {
        StringBuilder b = new StringBuilder();
        for (Setting s : Setting.values()) {
            if (s.tableKey != null && s != Setting.MODEL) {
                b.append(b.isEmpty() ? "" : ";").append(s.rowKey()).append('=').append(recorded.get(s.tableKey));
            }
        }
        return b.toString();
    }

    /**
     * The settings a table's properties record, the others at their defaults, as {@code radio
     * similar} embeds a query with them: what {@link #tableProperties} wrote, read back.
     *
     * @throws InvalidValueException for a recorded value this version cannot use
     */
    public static EmbeddingSettings fromTableProperties(Map<String, String> properties) {
        Map<Setting, String> m = new EnumMap<>(Setting.class);
        for (Setting s : Setting.values()) {
            String v = s.tableKey == null ? null : properties.get(TABLE_PREFIX + s.tableKey);
            if (v != null) {
                m.put(s, v);
            }
        }
        return of(m);
    }

    /** Parses "HxW" or "S" into {H, W}. */
    public static int[] parseImageSize(String text) {
        Matcher m = IMAGE_SIZE.matcher(text == null ? "" : text.trim().toLowerCase(Locale.ROOT));
        if (m.matches()) {
            int h = Integer.parseInt(m.group(1));
            int w = m.group(2) == null ? h : Integer.parseInt(m.group(2));
            if (h > 0 && w > 0 && h <= 16384 && w <= 16384) {
                return new int[] {h, w};
            }
        }
        throw new InvalidValueException(
                "imageSize",
                text,
                "Use \"HxW\" such as \"224x224\" or \"512x384\", or a single "
                        + "size \"S\" for SxS, with sides between 1 and 16384.");
    }

    /** A value with a fixed set of choices, any case: the message names them. */
    private static String oneOf(String param, String value, String[] accepted) {
        String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
        if (!Arrays.asList(accepted).contains(v)) {
            throw new InvalidValueException(
                    param,
                    value,
                    "Use " + String.join(", ", Arrays.copyOf(accepted, accepted.length - 1)) + " or "
                            + accepted[accepted.length - 1] + ".");
        }
        return v;
    }

    private static String nonBlank(String param, String value) {
        if (value == null || value.isBlank()) {
            throw new InvalidValueException(
                    param, value, "Give a RADIO checkpoint directory or a hub id such as " + "nvidia/C-RADIOv4-H.");
        }
        return value.trim();
    }

    private static String nonNegative(String param, String value, String what) {
        String t = value == null ? "" : value.trim();
        if (!t.matches("\\d{1,9}")) {
            throw new InvalidValueException(param, value, "Use 0 (the default) or a positive number of " + what + ".");
        }
        return t;
    }
}
