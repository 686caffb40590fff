package ai.radiospark.image;

import ai.radiospark.RadioException;
import java.util.Locale;

/**
 * How {@link ImagePreprocessor} chooses the output size.
 *
 * <ul>
 *   <li>{@link #FIXED} ({@code "fixed"}): exactly height x width (default 224x224), aspect ratio not
 *       kept; what CLIPImageProcessor does with {@code size={"height":H,"width":W}}.
 *   <li>{@link #SHORTEST_EDGE} ({@code "shortest-edge"}): the shorter side becomes S and the longer
 *       {@code int(S * long / short)} (transformers' {@code get_resize_output_image_size}), then
 *       each side is snapped DOWN to a multiple of the patch size (at least one patch), because the
 *       model needs whole patches. The image is resized straight to the snapped size (no crop), so
 *       the aspect ratio can change by less than one patch.
 *   <li>{@link #NATIVE} ({@code "native"}): keep the aspect ratio, scale down only when the longer
 *       side exceeds the max edge (default 512), then snap each side to the NEAREST multiple of the
 *       patch size (at least one patch, never above the max edge). Exact: the reference's native mode.
 *   <li>{@link #NATIVE_BUCKETS} ({@code "native-buckets"}): every image is resized to the one of a
 *       small fixed set of patch-aligned shapes under the max edge whose aspect ratio is nearest its
 *       own (square, 4:3, 3:4, 3:2, 2:3, 16:9, 9:16; see {@link ImagePreprocessor#bucketShape}), so
 *       that images of any size share a few input sizes and batch fully. Unlike {@link #NATIVE},
 *       the aspect ratio changes by up to about 15% (more for images wider than 16:9 or taller than
 *       9:16), and small images are scaled up to the max edge.
 * </ul>
 *
 * <pre>{@code
 * ResizeMode mode = ResizeMode.parse("shortest-edge");
 * }</pre>
 */
public enum ResizeMode {
    FIXED("fixed"),
    SHORTEST_EDGE("shortest-edge"),
    NATIVE("native"),
    NATIVE_BUCKETS("native-buckets");

    private final String cliName;

    ResizeMode(String cliName) {
        this.cliName = cliName;
    }

    /** The name used on the command line and in configuration: fixed, shortest-edge, native, native-buckets. */
    public String cliName() {
        return cliName;
    }

    /** Parses {@code fixed}, {@code shortest-edge}, {@code native} or {@code native-buckets} (case and _/- insensitive). */
    public static ResizeMode parse(String text) {
        if (text != null) {
            String t = text.trim().toLowerCase(Locale.ROOT).replace('_', '-');
            for (ResizeMode m : values()) {
                if (m.cliName.equals(t)) {
                    return m;
                }
            }
        }
        throw new RadioException("Unknown resize mode '" + text + "'. Use one of: fixed (exact HxW, "
                + "the default), shortest-edge (shorter side = S, aspect kept), native (aspect kept, "
                + "sides snapped to the patch size, longer side capped), native-buckets (the nearest of 7 "
                + "patch-aligned aspect ratios under the cap).");
    }

    @Override
    public String toString() {
        return cliName;
    }
}
