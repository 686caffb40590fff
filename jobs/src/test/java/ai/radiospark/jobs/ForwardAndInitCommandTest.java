package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.radiospark.model.Checkpoint;
import ai.radiospark.model.SafetensorsFile;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code radio forward} and {@code radio init}, run as a user runs them. */
class ForwardAndInitCommandTest {
    static final Path GOLDEN = ai.radiospark.model.GoldenResources.dir();

    @TempDir
    Path tmp;

    static void assertClose(float[] expected, float[] actual, double atol, String what) {
        assertEquals(expected.length, actual.length, what);
        double max = 0;
        for (int i = 0; i < expected.length; i++) {
            max = Math.max(max, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(max <= atol, what + ": max abs error " + max);
    }

    @Test
    void forwardWritesTheReferenceOutputsAndHiddenStates() {
        for (String model : new String[] {"tiny-vit", "tiny-swiglu"}) {
            Path in = GOLDEN.resolve(model).resolve("case0_2x3x224x224.safetensors");
            Path out = tmp.resolve(model + "-out.safetensors");
            int code = RadioCli.run(
                    "forward",
                    "--model",
                    GOLDEN.resolve(model).resolve("checkpoint").toString(),
                    "--input",
                    in.toString(),
                    "--output",
                    out.toString(),
                    "--hidden-states");
            assertEquals(0, code);
            SafetensorsFile expected = SafetensorsFile.open(in);
            SafetensorsFile actual = SafetensorsFile.open(out);
            for (String name : new String[] {"summary", "features", "last_hidden_state"}) {
                assertEquals(
                        expected.info(name).shapeString(), actual.info(name).shapeString(), name);
                assertClose(expected.floats(name), actual.floats(name), 1e-4, model + " " + name);
            }
            int layers = Checkpoint.open(GOLDEN.resolve(model).resolve("checkpoint"))
                    .config()
                    .numHiddenLayers();
            for (int i = 0; i <= layers; i++) {
                assertClose(
                        expected.floats("hidden_states." + i),
                        actual.floats("hidden_states." + i),
                        1e-4,
                        model + " hidden_states." + i);
            }
        }
    }

    @Test
    void initWritesALoadableDeterministicCheckpoint() throws Exception {
        Path a = tmp.resolve("a");
        Path b = tmp.resolve("b");
        Path c = tmp.resolve("c");
        assertEquals(0, RadioCli.run("init", "--shape", "tiny", "--output", a.toString(), "--seed", "7"));
        assertEquals(0, RadioCli.run("init", "--shape", "tiny", "--output", b.toString(), "--seed", "7"));
        assertEquals(0, RadioCli.run("init", "--shape", "tiny", "--output", c.toString(), "--seed", "8"));
        assertEquals(Checkpoint.open(a).sha256(), Checkpoint.open(b).sha256());
        assertNotEquals(Checkpoint.open(a).sha256(), Checkpoint.open(c).sha256());
        assertEquals("hub", Checkpoint.open(a).weights().layout());

        Path out = tmp.resolve("out.safetensors");
        assertEquals(
                0,
                RadioCli.run(
                        "forward",
                        "--model",
                        a.toString(),
                        "--input",
                        GOLDEN.resolve("tiny-vit/case4_3x3x48x48.safetensors").toString(),
                        "--output",
                        out.toString()));
        SafetensorsFile result = SafetensorsFile.open(out);
        assertEquals("[3, 128]", result.info("summary").shapeString());
        assertEquals("[3, 9, 64]", result.info("features").shapeString());
        for (float v : result.floats("summary")) {
            assertTrue(Float.isFinite(v));
        }
        String config = Files.readString(a.resolve("config.json"));
        assertTrue(config.contains("\"hidden_size\" : 64"), config);
    }

    @Test
    void initTakesTheOldOutNameWithAWarning() throws Exception {
        Path viaNew = tmp.resolve("new");
        Path viaOld = tmp.resolve("old");
        StringWriter errNew = new StringWriter();
        StringWriter errOld = new StringWriter();
        assertEquals(
                0,
                RadioCli.run(
                        new PrintWriter(new StringWriter()),
                        new PrintWriter(errNew),
                        "init",
                        "--shape",
                        "tiny",
                        "--output",
                        viaNew.toString(),
                        "--seed",
                        "5"));
        assertEquals(
                0,
                RadioCli.run(
                        new PrintWriter(new StringWriter()),
                        new PrintWriter(errOld),
                        "init",
                        "--shape",
                        "tiny",
                        "--out",
                        viaOld.toString(),
                        "--seed",
                        "5"));
        assertEquals("", errNew.toString());
        assertEquals(
                "radio init: --out is deprecated; use --output.",
                errOld.toString().strip());
        assertEquals(Checkpoint.open(viaNew).sha256(), Checkpoint.open(viaOld).sha256());
    }

    @Test
    void aBadShapeIsOneLineNamingTheOptionWithExitCode2() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream old = System.err;
        System.setErr(new PrintStream(err, true));
        int code;
        try {
            code = RadioCli.run(
                    "init", "--shape", "gigantic", "--output", tmp.resolve("x").toString());
        } finally {
            System.setErr(old);
        }
        assertEquals(2, code);
        assertEquals(
                "radio init: Invalid value for option '--shape' (gigantic): Unknown model shape \"gigantic\". Use tiny, "
                        + "base, large or huge.",
                err.toString().trim());
    }

    @Test
    void initRefusesToOverwriteACheckpointWithoutForce() throws Exception {
        Path dir = tmp.resolve("ckpt");
        assertEquals(0, RadioCli.run("init", "--shape", "tiny", "--output", dir.toString(), "--seed", "1"));
        String first = Checkpoint.open(dir).sha256();
        assertEquals(1, RadioCli.run("init", "--shape", "tiny", "--output", dir.toString(), "--seed", "2"));
        assertEquals(first, Checkpoint.open(dir).sha256(), "the checkpoint is untouched");
        assertEquals(0, RadioCli.run("init", "--shape", "tiny", "--output", dir.toString(), "--seed", "2", "--force"));
        assertNotEquals(first, Checkpoint.open(dir).sha256(), "--force overwrote it");
    }
}
