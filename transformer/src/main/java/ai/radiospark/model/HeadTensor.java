package ai.radiospark.model;

import java.util.Locale;

/**
 * The tensors before the blocks (patch embedding, prefix tokens, input conditioner), in the order
 * {@link RadioModel} hands them to the forward script ({@link RadioScript}), ahead of every block's
 * {@link BlockTensor}s. All stay float32. The declaration order here is the only place that order is
 * written; {@link #scriptName} is the local variable the script's {@code embed} method reads.
 */
enum HeadTensor {
    /** The patch projection, {@code patch} in {@link RadioWeights#tensors()}. */
    PATCH,
    /** The class and register tokens, {@code cls_token}. */
    CLS_TOKEN,
    /** The input conditioner's mean, from {@link RadioConfig#normMean()} (the checkpoint's, if it has one). */
    NORM_MEAN,
    /** The input conditioner's standard deviation, from {@link RadioConfig#normStd()}. */
    NORM_STD;

    /** The name the forward script reads this tensor under, e.g. {@code cls_token}. */
    String scriptName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
