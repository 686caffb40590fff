package ai.radiospark.model;

import ai.radiospark.RadioException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The two checkpoint layouts of Hugging Face transformers' {@code RadioModel} and their names for each
 * canonical tensor of {@link RadioWeights}: the hub layout ({@code radio_model.model.blocks.{i}.attn.qkv.*},
 * what {@code save_pretrained} writes) and the module layout ({@code encoder.layer.{i}.attention.attention.*},
 * the names of transformers' own modules). Both are in the golden data ({@code golden/REFERENCE-README.md}).
 */
enum CheckpointLayout {
    HUB("hub"),
    MODULE("module");

    private final String label;

    CheckpointLayout(String label) {
        this.label = label;
    }

    /** This layout's name of the canonical tensor {@code canonical}, e.g. {@code blocks.3.q.weight}. */
    String name(String canonical) {
        String hubBlock = "radio_model.model.blocks.";
        String modBlock = "encoder.layer.";
        if (canonical.startsWith("blocks.")) {
            String rest = canonical.substring("blocks.".length());
            int dot = rest.indexOf('.');
            String i = rest.substring(0, dot);
            String part = rest.substring(dot + 1);
            String shared = switch (part) {
                case "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias" -> "mlp." + part;
                case "swiglu_in.weight", "swiglu_in.bias" -> "mlp.weights_in." + part.substring(10);
                case "swiglu_out.weight", "swiglu_out.bias" -> "mlp.weights_out." + part.substring(11);
                case "ls1" -> "layer_scale1.lambda1";
                case "ls2" -> "layer_scale2.lambda1";
                default -> null;
            };
            if (this == HUB) {
                return hubBlock + i + "."
                        + (shared != null
                                ? shared
                                : switch (part) {
                                    case "qkv.weight", "qkv.bias", "proj.weight", "proj.bias" -> "attn." + part;
                                    default -> part;
                                });
            }
            return modBlock + i + "."
                    + (shared != null
                            ? shared
                            : switch (part) {
                                case "q.weight", "q.bias" -> "attention.attention.query." + part.substring(2);
                                case "k.weight", "k.bias" -> "attention.attention.key." + part.substring(2);
                                case "v.weight", "v.bias" -> "attention.attention.value." + part.substring(2);
                                case "proj.weight", "proj.bias" -> "attention.output.dense." + part.substring(5);
                                default -> part;
                            });
        }
        if (this == HUB) {
            return switch (canonical) {
                case "patch" -> "radio_model.model.patch_generator.embedder.weight";
                case "pos_embed" -> "radio_model.model.patch_generator.pos_embed";
                case "cls_token" -> "radio_model.model.patch_generator.cls_token.token";
                case "norm_mean", "norm_std" -> "radio_model.input_conditioner." + canonical;
                case "summary_idxs" -> "radio_model.summary_idxs";
                default -> throw new IllegalArgumentException(canonical);
            };
        }
        return switch (canonical) {
            case "patch" -> "embeddings.patch_projection.weight";
            case "pos_embed" -> "embeddings.position_embedding";
            case "cls_token" -> "embeddings.cls_register_token";
            case "norm_mean", "norm_std" -> "input_conditioner." + canonical;
            case "summary_idxs" -> "summary_idxs";
            default -> throw new IllegalArgumentException(canonical);
        };
    }

    /** "hub" or "module". */
    String label() {
        return label;
    }

    /** Looks tensors up in one layout, checking shapes and remembering what was used. */
    static final class Resolver {
        final Checkpoint ckpt;
        final CheckpointLayout layout;
        final List<String> used = new ArrayList<>();

        Resolver(Checkpoint ckpt, CheckpointLayout layout) {
            this.ckpt = ckpt;
            this.layout = layout;
        }

        boolean has(String canonical) {
            return ckpt.has(layout.name(canonical));
        }

        Tensor takeAnyShape(String canonical) {
            String name = layout.name(canonical);
            if (!ckpt.has(name)) {
                throw new RadioException("Cannot load model " + ckpt.source() + ": tensor '" + name
                        + "' is missing. The checkpoint does not match its config.json (" + ckpt.config()
                        + "); re-download it, or fix config.json.");
            }
            used.add(name);
            return ckpt.tensor(name).renamed(name);
        }

        Tensor take(String canonical, long... shape) {
            String name = layout.name(canonical);
            if (!ckpt.has(name)) {
                throw new RadioException("Cannot load model " + ckpt.source() + ": tensor '" + name
                        + "' (expected shape "
                        + Arrays.toString(shape) + ") is missing. The checkpoint does not match its config.json ("
                        + ckpt.config() + "); re-download it, or fix config.json.");
            }
            Tensor t = ckpt.tensor(name);
            if (!Arrays.equals(t.shape(), shape)) {
                throw new RadioException("Cannot load model " + ckpt.source() + ": tensor '" + name + "' has shape "
                        + Arrays.toString(t.shape()) + ", but config.json implies " + Arrays.toString(shape)
                        + ". The checkpoint does not match its config.json; re-download it, or fix config.json.");
            }
            if (t.type() != TensorType.F32 && t.type() != TensorType.BF16 && t.type() != TensorType.F16) {
                throw new RadioException("Cannot load model " + ckpt.source() + ": tensor '" + name + "' has type "
                        + t.type() + "; weights must be F32, BF16 or F16.");
            }
            // Every weight the forward pass uses comes through here, whichever the checkpoint's layout,
            // file or bytes: a NaN or Inf would otherwise turn every embedding into NaN without an error.
            // Read through a map of its own, released after: the check reads every weight, which would otherwise
            // stay resident beside the model's copy.
            long bad = t.read(b -> TensorConversions.nonFinite(t.type(), b));
            if (bad > 0) {
                throw new RadioException("Cannot load model " + ckpt.source() + ": tensor '" + name + "' in "
                        + ckpt.fileOf(name) + " has " + bad + (bad == 1 ? " non-finite value" : " non-finite values")
                        + " (NaN or Inf) among its " + t.elements() + ": the checkpoint is corrupt. Re-download it, or "
                        + "re-export it from a model with finite weights.");
            }
            used.add(name);
            return t;
        }
    }
}
