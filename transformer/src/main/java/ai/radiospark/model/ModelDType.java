package ai.radiospark.model;

import ai.radiospark.RadioException;
import java.util.Locale;

/** The element type the model computes in. Outputs are always float32. */
public enum ModelDType {
    FLOAT32("float32"),
    BFLOAT16("bfloat16"),
    FLOAT16("float16");

    private final String label;

    ModelDType(String label) {
        this.label = label;
    }

    /** The name users write: float32, bfloat16 or float16. */
    public String label() {
        return label;
    }

    /** Parses float32, bfloat16 (or bf16) and float16 (or fp16), case-insensitively. */
    public static ModelDType parse(String s) {
        String v = s == null ? "" : s.trim().toLowerCase(Locale.ROOT);
        return switch (v) {
            case "float32", "fp32", "f32" -> FLOAT32;
            case "bfloat16", "bf16" -> BFLOAT16;
            case "float16", "fp16", "f16", "half" -> FLOAT16;
            default -> throw new RadioException("Unknown dtype \"" + s + "\". Use float32, bfloat16 or float16.");
        };
    }

    @Override
    public String toString() {
        return label;
    }
}
