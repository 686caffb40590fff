package ai.radiospark.model;

import ai.radiospark.RadioException;
import java.io.Serializable;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The architecture of a RADIO checkpoint, read from its {@code config.json}
 * ({@code model_type: "radio"}). Missing keys take C-RADIOv4-H's values, the defaults of {@link Builder};
 * unknown keys are ignored.
 *
 * <pre>{@code
 * RadioConfig config = RadioConfig.fromJson(Files.readString(dir.resolve("config.json")), dir.toString());
 * int tokens = config.prefixTokens() + (224 / config.patchSize()) * (224 / config.patchSize());
 * }</pre>
 */
public final class RadioConfig implements Serializable {
    private static final long serialVersionUID = 1L;

    /** OpenAI CLIP normalisation, the default input conditioner. */
    static final float[] CLIP_MEAN = {0.48145466f, 0.4578275f, 0.40821073f};

    static final float[] CLIP_STD = {0.26862954f, 0.26130258f, 0.27577711f};

    private final int hiddenSize;
    private final int numHiddenLayers;
    private final int numAttentionHeads;
    private final double mlpRatio;
    private final String hiddenAct;
    private final double layerNormEps;
    private final boolean useSwigluFfn;
    private final boolean qkvBias;
    private final double layerscaleValue;
    private final int numChannels;
    private final int patchSize;
    private final int imageSize;
    private final int maxImgSize;
    private final int numClsTokens;
    private final int numRegisters;
    private final int[] summaryIdxs;
    private final float[] normMean;
    private final float[] normStd;

    private RadioConfig(Builder b) {
        this.hiddenSize = b.hiddenSize;
        this.numHiddenLayers = b.numHiddenLayers;
        this.numAttentionHeads = b.numAttentionHeads;
        this.mlpRatio = b.mlpRatio;
        this.hiddenAct = b.hiddenAct;
        this.layerNormEps = b.layerNormEps;
        this.useSwigluFfn = b.useSwigluFfn;
        this.qkvBias = b.qkvBias;
        this.layerscaleValue = b.layerscaleValue;
        this.numChannels = b.numChannels;
        this.patchSize = b.patchSize;
        this.imageSize = b.imageSize;
        this.maxImgSize = b.maxImgSize;
        this.numClsTokens = b.numClsTokens;
        this.numRegisters = b.numRegisters;
        this.summaryIdxs = b.summaryIdxs.clone();
        this.normMean = b.normMean.clone();
        this.normStd = b.normStd.clone();
    }

    /** A builder holding the C-RADIOv4-H configuration, to change what differs. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Parses {@code config.json}.
     *
     * @param json the file's text
     * @param source where it came from, for error messages
     */
    public static RadioConfig fromJson(String json, String source) {
        return RadioConfigJson.fromJson(json, source);
    }

    /** This configuration as {@code config.json} text, as {@code save_pretrained} would write it. */
    public String toJson() {
        return RadioConfigJson.toJson(this);
    }

    public int hiddenSize() {
        return hiddenSize;
    }

    public int numHiddenLayers() {
        return numHiddenLayers;
    }

    public int numAttentionHeads() {
        return numAttentionHeads;
    }

    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    public double mlpRatio() {
        return mlpRatio;
    }

    public String hiddenAct() {
        return hiddenAct;
    }

    public double layerNormEps() {
        return layerNormEps;
    }

    public boolean useSwigluFfn() {
        return useSwigluFfn;
    }

    public boolean qkvBias() {
        return qkvBias;
    }

    public double layerscaleValue() {
        return layerscaleValue;
    }

    public int numChannels() {
        return numChannels;
    }

    public int patchSize() {
        return patchSize;
    }

    public int imageSize() {
        return imageSize;
    }

    public int maxImgSize() {
        return maxImgSize;
    }

    /** Rows (and columns) of the position-embedding grid, {@code max_img_size / patch_size}. */
    public int positionGrid() {
        return maxImgSize / patchSize;
    }

    public int numClsTokens() {
        return numClsTokens;
    }

    public int numRegisters() {
        return numRegisters;
    }

    /** Tokens before the patches: cls tokens, then registers. */
    public int prefixTokens() {
        return numClsTokens + numRegisters;
    }

    public int[] summaryIdxs() {
        return summaryIdxs.clone();
    }

    /** Width of the summary embedding, {@code len(summary_idxs) * hidden_size}. */
    public int summaryDim() {
        return summaryIdxs.length * hiddenSize;
    }

    public float[] normMean() {
        return normMean.clone();
    }

    public float[] normStd() {
        return normStd.clone();
    }

    /** Width of the MLP's hidden layer: {@code int(d * mlp_ratio)}, or the SwiGLU rounding of the spec. */
    public int mlpHiddenSize() {
        int hf = (int) (hiddenSize * mlpRatio);
        if (useSwigluFfn) {
            hf = ((int) (hf * 2.0 / 3.0) + 7) / 8 * 8;
        }
        return hf;
    }

    /** Parameters of the blocks, position table and embedder: how big the checkpoint is. */
    public long parameterCount() {
        long d = hiddenSize;
        long hf = mlpHiddenSize();
        long mlp = useSwigluFfn ? (d * 2 * hf + 2 * hf) + (hf * d + d) : (d * hf + hf) + (hf * d + d);
        long attn = 3 * d * d + (qkvBias ? 3 * d : 0) + d * d + d;
        long block = 4 * d + attn + mlp + 2 * d;
        long grid = positionGrid();
        return numHiddenLayers * block + grid * grid * d + prefixTokens() * d + d * numChannels * patchSize * patchSize;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RadioConfig && ((RadioConfig) o).toJson().equals(toJson());
    }

    @Override
    public int hashCode() {
        return toJson().hashCode();
    }

    @Override
    public String toString() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("hidden_size", hiddenSize);
        m.put("layers", numHiddenLayers);
        m.put("heads", numAttentionHeads);
        m.put("patch", patchSize);
        m.put("swiglu", useSwigluFfn);
        m.put("cls", numClsTokens);
        m.put("registers", numRegisters);
        m.put("summary_idxs", Arrays.toString(summaryIdxs));
        return "RadioConfig" + m;
    }

    /** Builds a configuration; {@link #build()} validates it. */
    public static final class Builder {
        // package-private: RadioConfigJson sets every key, some of which have no public setter
        int hiddenSize = 1280;
        int numHiddenLayers = 32;
        int numAttentionHeads = 16;
        double mlpRatio = 4.0;
        String hiddenAct = "gelu";
        double layerNormEps = 1e-6;
        boolean useSwigluFfn = false;
        boolean qkvBias = true;
        double layerscaleValue = 1.0;
        int numChannels = 3;
        int patchSize = 16;
        int imageSize = 224;
        int maxImgSize = 2048;
        int numClsTokens = 3;
        int numRegisters = 7;
        int[] summaryIdxs = {0, 1};
        float[] normMean = CLIP_MEAN.clone();
        float[] normStd = CLIP_STD.clone();

        private Builder() {}

        public Builder hiddenSize(int v) {
            hiddenSize = v;
            return this;
        }

        public Builder numHiddenLayers(int v) {
            numHiddenLayers = v;
            return this;
        }

        public Builder numAttentionHeads(int v) {
            numAttentionHeads = v;
            return this;
        }

        public Builder mlpRatio(double v) {
            mlpRatio = v;
            return this;
        }

        public Builder useSwigluFfn(boolean v) {
            useSwigluFfn = v;
            return this;
        }

        public Builder qkvBias(boolean v) {
            qkvBias = v;
            return this;
        }

        public Builder patchSize(int v) {
            patchSize = v;
            return this;
        }

        public Builder imageSize(int v) {
            imageSize = v;
            return this;
        }

        public Builder maxImgSize(int v) {
            maxImgSize = v;
            return this;
        }

        public Builder numClsTokens(int v) {
            numClsTokens = v;
            return this;
        }

        public Builder numRegisters(int v) {
            numRegisters = v;
            return this;
        }

        public Builder summaryIdxs(int... v) {
            summaryIdxs = v.clone();
            return this;
        }

        public RadioConfig build() {
            return build("(built in code)");
        }

        RadioConfig build(String source) {
            String prefix = "The RADIO config " + source + " is inconsistent: ";
            String fix = " Fix config.json or re-download the checkpoint.";
            requirePositive(prefix, fix, "hidden_size", hiddenSize);
            requirePositive(prefix, fix, "num_hidden_layers", numHiddenLayers);
            requirePositive(prefix, fix, "num_attention_heads", numAttentionHeads);
            requirePositive(prefix, fix, "patch_size", patchSize);
            requirePositive(prefix, fix, "num_channels", numChannels);
            requirePositive(prefix, fix, "max_img_size", maxImgSize);
            if (hiddenSize % numAttentionHeads != 0) {
                throw new RadioException(prefix + "hidden_size " + hiddenSize
                        + " is not divisible by num_attention_heads " + numAttentionHeads + "." + fix);
            }
            if (!(mlpRatio > 0)) {
                throw new RadioException(prefix + "mlp_ratio must be positive, but is " + mlpRatio + "." + fix);
            }
            if (!"gelu".equals(hiddenAct) && !useSwigluFfn) {
                throw new RadioException(prefix + "hidden_act \"" + hiddenAct
                        + "\" is not supported; RADIO uses \"gelu\" (exact, erf) or the SwiGLU MLP." + fix);
            }
            if (!(layerNormEps > 0)) {
                throw new RadioException(
                        prefix + "layer_norm_eps must be positive, but is " + layerNormEps + "." + fix);
            }
            if (maxImgSize % patchSize != 0) {
                throw new RadioException(prefix + "max_img_size " + maxImgSize + " is not a multiple of patch_size "
                        + patchSize + "." + fix);
            }
            if (numClsTokens < 1 || numRegisters < 0) {
                throw new RadioException(
                        prefix + "num_cls_tokens must be at least 1 and num_registers at least 0, but they are "
                                + numClsTokens + " and " + numRegisters + "." + fix);
            }
            if (summaryIdxs.length == 0) {
                throw new RadioException(prefix + "summary_idxs is empty." + fix);
            }
            for (int i : summaryIdxs) {
                if (i < 0 || i >= numClsTokens) {
                    throw new RadioException(prefix + "summary_idxs " + Arrays.toString(summaryIdxs)
                            + " must index the " + numClsTokens + " cls tokens (0.." + (numClsTokens - 1) + ")." + fix);
                }
            }
            if (normMean.length != numChannels || normStd.length != numChannels) {
                throw new RadioException(
                        prefix + "norm_mean and norm_std need " + numChannels + " values (one per channel), but have "
                                + normMean.length + " and " + normStd.length + "." + fix);
            }
            for (float s : normStd) {
                if (!(s > 0)) {
                    throw new RadioException(
                            prefix + "norm_std " + Arrays.toString(normStd) + " must be positive." + fix);
                }
            }
            return new RadioConfig(this);
        }

        private static void requirePositive(String prefix, String fix, String key, int v) {
            if (v <= 0) {
                throw new RadioException(prefix + key + " must be positive, but is " + v + "." + fix);
            }
        }
    }

    /** Overrides the conditioner from the checkpoint's own tensors, which win over config.json. */
    RadioConfig withConditioner(float[] mean, float[] std, int[] idxs) {
        Builder b = toBuilder();
        b.normMean = mean.clone();
        b.normStd = std.clone();
        b.summaryIdxs = idxs.clone();
        return b.build("(checkpoint tensors)");
    }

    Builder toBuilder() {
        Builder b = new Builder();
        b.hiddenSize = hiddenSize;
        b.numHiddenLayers = numHiddenLayers;
        b.numAttentionHeads = numAttentionHeads;
        b.mlpRatio = mlpRatio;
        b.hiddenAct = hiddenAct;
        b.layerNormEps = layerNormEps;
        b.useSwigluFfn = useSwigluFfn;
        b.qkvBias = qkvBias;
        b.layerscaleValue = layerscaleValue;
        b.numChannels = numChannels;
        b.patchSize = patchSize;
        b.imageSize = imageSize;
        b.maxImgSize = maxImgSize;
        b.numClsTokens = numClsTokens;
        b.numRegisters = numRegisters;
        b.summaryIdxs = summaryIdxs.clone();
        b.normMean = normMean.clone();
        b.normStd = normStd.clone();
        return b;
    }
}
