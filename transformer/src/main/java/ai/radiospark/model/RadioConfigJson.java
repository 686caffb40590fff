package ai.radiospark.model;

import ai.radiospark.RadioException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.Arrays;

/**
 * {@link RadioConfig} from and to {@code config.json}: the keys, their types, and the messages for
 * a file that is not a RADIO config. Missing keys keep the {@link RadioConfig.Builder} defaults;
 * unknown keys are ignored.
 */
final class RadioConfigJson {
    private static final ObjectMapper JSON =
            new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    private RadioConfigJson() {}

    /** See {@link RadioConfig#fromJson}. */
    static RadioConfig fromJson(String json, String source) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new RadioException(
                    "Cannot read the RADIO config " + source + ": it is not valid JSON (" + e.getMessage()
                            + "). Point the model at a RADIO checkpoint directory whose config.json is intact.",
                    e);
        }
        if (root == null || !root.isObject()) {
            throw new RadioException("Cannot read the RADIO config " + source + ": expected a JSON object. "
                    + "Point the model at a RADIO checkpoint directory.");
        }
        JsonNode type = root.get("model_type");
        if (type != null && !type.isNull() && !"radio".equals(type.asText())) {
            throw new RadioException("The checkpoint config " + source + " has model_type \"" + type.asText()
                    + "\", not \"radio\". Point the model at a RADIO checkpoint (for example nvidia/C-RADIOv4-H).");
        }
        RadioConfig.Builder b = RadioConfig.builder();
        b.hiddenSize = intKey(root, "hidden_size", b.hiddenSize, source);
        b.numHiddenLayers = intKey(root, "num_hidden_layers", b.numHiddenLayers, source);
        b.numAttentionHeads = intKey(root, "num_attention_heads", b.numAttentionHeads, source);
        b.mlpRatio = doubleKey(root, "mlp_ratio", b.mlpRatio, source);
        b.hiddenAct = root.hasNonNull("hidden_act") ? root.get("hidden_act").asText() : b.hiddenAct;
        b.layerNormEps = doubleKey(root, "layer_norm_eps", b.layerNormEps, source);
        b.useSwigluFfn = boolKey(root, "use_swiglu_ffn", b.useSwigluFfn);
        b.qkvBias = boolKey(root, "qkv_bias", b.qkvBias);
        b.layerscaleValue = doubleKey(root, "layerscale_value", b.layerscaleValue, source);
        b.numChannels = intKey(root, "num_channels", b.numChannels, source);
        b.patchSize = intKey(root, "patch_size", b.patchSize, source);
        b.imageSize = intKey(root, "image_size", b.imageSize, source);
        b.maxImgSize = intKey(root, "max_img_size", b.maxImgSize, source);
        b.numClsTokens = intKey(root, "num_cls_tokens", b.numClsTokens, source);
        b.numRegisters = intKey(root, "num_registers", b.numRegisters, source);
        if (root.hasNonNull("summary_idxs")) {
            JsonNode idx = root.get("summary_idxs");
            if (!idx.isArray()) {
                throw badKey(source, "summary_idxs", idx, "a list of integers");
            }
            int[] values = new int[idx.size()];
            for (int i = 0; i < values.length; i++) {
                if (!idx.get(i).canConvertToInt()) {
                    throw badKey(source, "summary_idxs", idx, "a list of integers");
                }
                values[i] = idx.get(i).intValue();
            }
            b.summaryIdxs = values;
        }
        b.normMean = floatList(root, "norm_mean", b.normMean, source);
        b.normStd = floatList(root, "norm_std", b.normStd, source);
        return b.build(source);
    }

    private static int intKey(JsonNode root, String key, int dflt, String source) {
        JsonNode n = root.get(key);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.canConvertToInt() || (n.isNumber() && n.asDouble() != n.asInt())) {
            throw badKey(source, key, n, "an integer");
        }
        return n.asInt();
    }

    private static double doubleKey(JsonNode root, String key, double dflt, String source) {
        JsonNode n = root.get(key);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isNumber()) {
            throw badKey(source, key, n, "a number");
        }
        return n.asDouble();
    }

    private static boolean boolKey(JsonNode root, String key, boolean dflt) {
        JsonNode n = root.get(key);
        return n == null || n.isNull() ? dflt : n.asBoolean();
    }

    private static float[] floatList(JsonNode root, String key, float[] dflt, String source) {
        JsonNode n = root.get(key);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isArray()) {
            throw badKey(source, key, n, "a list of numbers");
        }
        float[] values = new float[n.size()];
        for (int i = 0; i < values.length; i++) {
            if (!n.get(i).isNumber()) {
                throw badKey(source, key, n, "a list of numbers");
            }
            values[i] = (float) n.get(i).asDouble();
        }
        return values;
    }

    private static RadioException badKey(String source, String key, JsonNode value, String expected) {
        return new RadioException("The RADIO config " + source + " has " + key + " = " + value + ", but it must be "
                + expected + ". Fix config.json or re-download the checkpoint.");
    }

    /** See {@link RadioConfig#toJson}. */
    static String toJson(RadioConfig c) {
        ObjectNode root = JSON.createObjectNode();
        root.putArray("architectures").add("RadioModel");
        root.put("model_type", "radio");
        root.put("hidden_size", c.hiddenSize());
        root.put("num_hidden_layers", c.numHiddenLayers());
        root.put("num_attention_heads", c.numAttentionHeads());
        root.put("mlp_ratio", c.mlpRatio());
        root.put("hidden_act", c.hiddenAct());
        root.put("layer_norm_eps", c.layerNormEps());
        root.put("use_swiglu_ffn", c.useSwigluFfn());
        root.put("qkv_bias", c.qkvBias());
        root.put("layerscale_value", c.layerscaleValue());
        root.put("num_channels", c.numChannels());
        root.put("patch_size", c.patchSize());
        root.put("image_size", c.imageSize());
        root.put("max_img_size", c.maxImgSize());
        root.put("num_cls_tokens", c.numClsTokens());
        root.put("num_registers", c.numRegisters());
        ArrayNode idx = root.putArray("summary_idxs");
        Arrays.stream(c.summaryIdxs()).forEach(idx::add);
        ArrayNode mean = root.putArray("norm_mean");
        for (float v : c.normMean()) {
            mean.add(v);
        }
        ArrayNode std = root.putArray("norm_std");
        for (float v : c.normStd()) {
            std.add(v);
        }
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
