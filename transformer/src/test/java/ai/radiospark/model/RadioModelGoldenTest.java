package ai.radiospark.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.EnumSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The forward pass against the reference (transformers 5.17 RadioModel, float64 stored as
 * float32). Tolerance 1e-4 max abs: golden/README.md measured an independent float32 PyTorch
 * forward within it (an exact implementation reaches ~5e-7).
 */
class RadioModelGoldenTest {
    static final double ATOL = 1e-4;

    @TempDir
    static Path tmp;

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of("tiny-vit", "case0_2x3x224x224", "hub"),
                Arguments.of("tiny-vit", "case1_1x3x256x192", "hub"),
                Arguments.of("tiny-vit", "case4_3x3x48x48", "hub"),
                Arguments.of("tiny-swiglu", "case0_2x3x224x224", "hub"),
                Arguments.of("tiny-vit", "case0_2x3x224x224", "module"),
                Arguments.of("tiny-vit", "case1_1x3x256x192", "module"),
                Arguments.of("tiny-vit", "case4_3x3x48x48", "module"),
                Arguments.of("tiny-swiglu", "case0_2x3x224x224", "module"));
    }

    static Path checkpointDir(String model, String layout) {
        return layout.equals("hub") ? Golden.checkpoint(model) : Golden.moduleLayout(model, tmp);
    }

    @ParameterizedTest(name = "{0} {1} {2} layout")
    @MethodSource("cases")
    void matchesReference(String model, String caseName, String layout) {
        SafetensorsFile golden = Golden.file(model + "/" + caseName + ".safetensors");
        TensorInfo px = golden.info("pixel_values");
        int b = (int) px.shape()[0];
        int h = (int) px.shape()[2];
        int w = (int) px.shape()[3];
        RadioWeights weights = Checkpoint.open(checkpointDir(model, layout)).weights();
        assertEquals(layout, weights.layout());
        try (RadioModel m = RadioModel.builder().build(weights)) {
            RadioOutput out = m.forward(
                    golden.floats("pixel_values"),
                    b,
                    h,
                    w,
                    EnumSet.of(
                            RadioModel.Output.SUMMARY,
                            RadioModel.Output.FEATURES,
                            RadioModel.Output.LAST_HIDDEN_STATE));
            double s = Golden.assertClose(golden.floats("summary"), out.summary(), ATOL, "summary");
            double f = Golden.assertClose(golden.floats("features"), out.features(), ATOL, "features");
            Golden.assertClose(golden.floats("last_hidden_state"), out.lastHiddenState(), ATOL, "last_hidden_state");
            System.out.printf("%s %s %s: summary max err %.3g, features max err %.3g%n", model, caseName, layout, s, f);
        }
    }

    @ParameterizedTest(name = "{0} hidden states layer by layer")
    @MethodSource("models")
    void hiddenStatesMatchLayerByLayer(String model) {
        SafetensorsFile golden = Golden.file(model + "/case0_2x3x224x224.safetensors");
        try (RadioModel m = RadioModel.builder()
                .build(Checkpoint.open(Golden.checkpoint(model)).weights())) {
            RadioOutput out =
                    m.forward(golden.floats("pixel_values"), 2, 224, 224, EnumSet.of(RadioModel.Output.HIDDEN_STATES));
            int layers = m.config().numHiddenLayers();
            assertEquals(layers + 1, out.hiddenStates().size());
            for (int i = 0; i <= layers; i++) {
                Golden.assertClose(
                        golden.floats("hidden_states." + i), out.hiddenStates().get(i), ATOL, "hidden_states." + i);
            }
        }
    }

    static Stream<String> models() {
        return Stream.of("tiny-vit", "tiny-swiglu");
    }

    @Test
    void goldenImagesThroughTinyVit() {
        SafetensorsFile pixels = Golden.file("images-pixel-values-224.safetensors");
        SafetensorsFile outputs = Golden.file("images-tiny-vit-outputs-224.safetensors");
        try (RadioModel m = RadioModel.builder()
                .build(Checkpoint.open(Golden.checkpoint("tiny-vit")).weights())) {
            for (String name : pixels.tensors().keySet()) {
                RadioOutput out = m.forward(pixels.floats(name), 1, 224, 224);
                Golden.assertClose(outputs.floats(name + ".summary"), out.summary(), ATOL, name + " summary");
                Golden.assertClose(outputs.floats(name + ".features"), out.features(), ATOL, name + " features");
            }
        }
    }
}
