package ai.radiospark.model;

import java.util.Locale;

/**
 * One transformer block's tensors, in the order {@link RadioModel} hands them to the forward script
 * ({@link RadioScript}): the declaration order here is the only place that order is written. Each
 * tensor's {@link #key} names it in {@link RadioWeights} ({@code blocks.{i}.<key>}), and its
 * {@link #scriptName} is the local variable the script's {@code block} method reads it from.
 */
enum BlockTensor {
    NORM1_W("norm1.weight", Role.FLOAT32),
    NORM1_B("norm1.bias", Role.FLOAT32),
    QKV_W("qkv.weight", Role.MATRIX),
    /** Zeros when the checkpoint has no qkv bias ({@code qkv_bias=false}). */
    QKV_B("qkv.bias", Role.BIAS, Fill.ZEROS, 3),
    PROJ_W("proj.weight", Role.MATRIX),
    PROJ_B("proj.bias", Role.BIAS),
    NORM2_W("norm2.weight", Role.FLOAT32),
    NORM2_B("norm2.bias", Role.FLOAT32),
    /** fc1, or SwiGLU's weights_in (both halves). */
    MLP_IN_W("mlp.in.weight", Role.MATRIX),
    MLP_IN_B("mlp.in.bias", Role.BIAS),
    /** fc2, or SwiGLU's weights_out. */
    MLP_OUT_W("mlp.out.weight", Role.MATRIX),
    MLP_OUT_B("mlp.out.bias", Role.BIAS),
    /** LayerScale after attention; ones (identity) when the checkpoint has none. */
    LS1("ls1", Role.FLOAT32, Fill.ONES, 1),
    /** LayerScale after the MLP; ones (identity) when the checkpoint has none. */
    LS2("ls2", Role.FLOAT32, Fill.ONES, 1);

    /** What the script's {@code add_weight} does with a tensor besides keeping a copy. */
    enum Role {
        /** Stays float32: LayerNorms and layer scales, which act on the float32 residual stream. */
        FLOAT32,
        /** Converted to the compute dtype. */
        BIAS,
        /** Converted to the compute dtype, and reordered once for oneDNN when the plan uses it. */
        MATRIX
    }

    /** What stands in for a tensor the checkpoint does not have. */
    enum Fill {
        /** Nothing: the tensor is required. */
        NONE,
        ZEROS,
        ONES
    }

    private final String key;
    private final Role role;
    private final Fill fill;
    private final int fillWidth;

    BlockTensor(String key, Role role) {
        this(key, role, Fill.NONE, 0);
    }

    /** @param fillWidth the filler's length in hidden sizes */
    BlockTensor(String key, Role role, Fill fill, int fillWidth) {
        this.key = key;
        this.role = role;
        this.fill = fill;
        this.fillWidth = fillWidth;
    }

    /** The canonical name of this tensor of block {@code block} in {@link RadioWeights#tensors()}. */
    String key(int block) {
        return "blocks." + block + "." + key;
    }

    Role role() {
        return role;
    }

    Fill fill() {
        return fill;
    }

    /** The length of the filler for a checkpoint of hidden size {@code d}. */
    long fillLength(int d) {
        return (long) fillWidth * d;
    }

    /** The name the forward script reads this tensor under, e.g. {@code norm1_w}. */
    String scriptName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
