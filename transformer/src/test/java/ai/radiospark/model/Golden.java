package ai.radiospark.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** The golden reference data copied from shared/golden (see golden/README.md). */
public final class Golden {
    private Golden() {}

    /** The golden folder: {@code -Dradio.golden.dir}, else the test classpath's (see {@link GoldenResources}). */
    public static Path dir() {
        return GoldenResources.dir();
    }

    public static Path checkpoint(String model) {
        return dir().resolve(model).resolve("checkpoint");
    }

    public static SafetensorsFile file(String relative) {
        return SafetensorsFile.open(dir().resolve(relative));
    }

    /** A checkpoint directory in the module layout: config.json plus module-state-dict as model.safetensors. */
    public static Path moduleLayout(String model, Path tmp) {
        try {
            Path out = tmp.resolve(model + "-module");
            Files.createDirectories(out);
            Files.copy(
                    checkpoint(model).resolve("config.json"),
                    out.resolve("config.json"),
                    StandardCopyOption.REPLACE_EXISTING);
            Files.copy(
                    dir().resolve(model).resolve("module-state-dict.safetensors"),
                    out.resolve("model.safetensors"),
                    StandardCopyOption.REPLACE_EXISTING);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Asserts |a−b| ≤ atol elementwise, reporting the worst element; returns the max abs error. */
    public static double assertClose(float[] expected, float[] actual, double atol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        double max = 0;
        int worst = -1;
        for (int i = 0; i < expected.length; i++) {
            double e = Math.abs((double) expected[i] - actual[i]);
            if (!(e <= max)) {
                max = e;
                worst = i;
            }
        }
        double m = max;
        int w = worst;
        assertTrue(
                m <= atol,
                () -> what + ": max abs error " + m + " > " + atol + " at " + w + " (expected " + expected[w] + ", got "
                        + actual[w] + ")");
        return max;
    }

    /** Asserts |a−b| ≤ atol + rtol·|b| elementwise, as numpy's allclose; returns the max abs error. */
    public static double assertAllClose(float[] expected, float[] actual, double atol, double rtol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        double max = 0;
        for (int i = 0; i < expected.length; i++) {
            double e = Math.abs((double) expected[i] - actual[i]);
            double bound = atol + rtol * Math.abs(expected[i]);
            int at = i;
            assertTrue(
                    e <= bound,
                    () -> what + ": |" + actual[at] + " - " + expected[at] + "| = " + e + " > " + bound + " at " + at);
            max = Math.max(max, e);
        }
        return max;
    }

    public static double cosine(float[] a, float[] b) {
        return ai.radiospark.Cosine.similarity(a, b);
    }
}
