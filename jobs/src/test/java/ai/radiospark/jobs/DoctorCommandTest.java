package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code radio doctor} on this GPU-less machine: with the golden data bundled in the jar's
 * resources it passes on the CPU (exit 0), reports a discovery script's GPUs that libtorch does not
 * see (exit 1), refuses a bad option (exit 2), and prints the text report the README shows.
 */
class DoctorCommandTest {
    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    static final String MODEL = ROOT.resolve("samples/model-tiny-random").toString();

    @TempDir
    Path tmp;

    record Run(int code, String out, String err) {}

    static Run doctor(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] all = new String[args.length + 1];
        all[0] = "doctor";
        System.arraycopy(args, 0, all, 1, args.length);
        int code = RadioCli.run(new PrintWriter(out), new PrintWriter(err), all);
        System.out.print(out);
        System.out.print(err);
        return new Run(code, out.toString(), err.toString());
    }

    static JsonNode find(JsonNode array, String device, String dtype) {
        for (JsonNode n : array) {
            if (n.path("device").asText().equals(device)
                    && n.path("dtype").asText().equals(dtype)) {
                return n;
            }
        }
        throw new AssertionError("no " + device + " " + dtype + " in " + array);
    }

    @Test
    void passesOnTheCpuWithTheBundledGoldenData() throws Exception {
        Run r = doctor("--quick", "--json");
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.err());
        assertEquals(1, r.out().lines().count(), "one JSON object");
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertTrue(j.path("ok").asBoolean());
        assertEquals(0, j.path("failures").size());
        JsonNode v = j.path("versions");
        assertEquals(RadioCli.VERSION, v.path("radio_spark").asText());
        assertEquals(System.getProperty("java.version"), v.path("java").asText());
        assertEquals("0.36.0", v.path("djl").asText());
        assertEquals("2.7.1", v.path("libtorch").path("version").asText());
        assertEquals("cpu", v.path("libtorch").path("flavor").asText());
        assertFalse(v.path("libtorch").path("cuda").asBoolean());
        assertTrue(Files.isDirectory(Path.of(v.path("libtorch").path("path").asText())), v.toString());
        JsonNode d = j.path("devices");
        assertEquals("[\"cpu\"]", d.path("checked").toString());
        assertEquals(0, d.path("libtorch_gpus").size());
        assertTrue(d.path("spark_gpus").isNull());

        JsonNode f32 = find(j.path("parity"), "cpu", "float32");
        assertEquals("ok", f32.path("status").asText(), f32.toString());
        double err = f32.path("max_abs_error").asDouble();
        assertTrue(err > 0 && err <= 1e-4, f32.toString());
        assertEquals(1e-4, f32.path("tolerance").asDouble());
        JsonNode bf16 = find(j.path("parity"), "cpu", "bfloat16");
        assertEquals("ok", bf16.path("status").asText(), bf16.toString());
        assertTrue(bf16.path("min_cosine").asDouble() >= 0.999, bf16.toString());
        assertTrue(bf16.path("max_abs_error").asDouble() > err, "bf16 computed in bf16, not float32: " + bf16);
        JsonNode f16 = find(j.path("parity"), "cpu", "float16");
        assertEquals("skipped", f16.path("status").asText());
        assertTrue(f16.path("reason").asText().startsWith("dtype=float16 on the CPU: "), f16.toString());
        JsonNode attention = find(j.path("attention"), "cpu", "bfloat16");
        assertEquals("ok", attention.path("status").asText(), attention.toString());
        assertTrue(attention.path("max_abs_error_vs_plain").asDouble() <= 3e-2, attention.toString());
        assertTrue(
                find(j.path("attention"), "cpu", "float32")
                                .path("max_abs_error_vs_plain")
                                .asDouble()
                        <= 1e-4,
                j.path("attention").toString());
        assertEquals("skipped (--quick)", j.path("throughput").path("status").asText());
        JsonNode caps = j.path("capabilities").path(0);
        assertEquals("cpu", caps.path("device").asText());
        assertTrue(caps.path("bfloat16").path("runs").asBoolean(), caps.toString());
        assertFalse(caps.path("float16").path("runs").asBoolean(), caps.toString());
        assertEquals(
                f16.path("reason").asText(), caps.path("float16").path("reason").asText());
        assertTrue(caps.path("fused_attention").path("runs").asBoolean(), caps.toString());
        assertEquals(
                "[\"float32\",\"bfloat16\"]",
                caps.path("fused_attention").path("dtypes").toString());
    }

    @Test
    void aDiscoveryScriptWithGpusLibtorchDoesNotSeeFailsWithExitCode1() throws Exception {
        Path script = tmp.resolve("get-gpus.sh");
        Files.writeString(script, "#!/bin/sh\necho '{\"name\": \"gpu\", \"addresses\": [\"0\", \"1\"]}'\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        Run r = doctor("--quick", "--json", "--discovery-script", script.toString());
        assertEquals(1, r.code(), r.err());
        String problem = "Spark would assign GPU addresses [0, 1] but libtorch sees no GPU: install the CUDA "
                + "libtorch (README, libtorch for CUDA), or make the discovery script print the CUDA indices of this "
                + "node's GPUs.";
        assertEquals("radio doctor: 1 check failed, the first: " + problem + "\n", r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertFalse(j.path("ok").asBoolean());
        assertEquals("[\"0\",\"1\"]", j.path("devices").path("spark_gpus").toString());
        assertFalse(j.path("devices").path("agree").asBoolean());
        assertEquals(problem, j.path("devices").path("problem").asText());
        assertEquals(
                "[" + new ObjectMapper().writeValueAsString(problem) + "]",
                j.path("failures").toString());
        // The other checks still ran and passed.
        assertEquals(
                "ok", find(j.path("parity"), "cpu", "float32").path("status").asText());
    }

    @Test
    void aDiscoveryScriptThatPrintsNoJsonFailsWithExitCode1() throws Exception {
        Path script = tmp.resolve("broken.sh");
        Files.writeString(script, "#!/bin/sh\necho 'nvidia-smi: command not found'\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        Run r = doctor("--quick", "--discovery-script", script.toString());
        assertEquals(1, r.code(), r.err());
        assertEquals(
                "radio doctor: 1 check failed, the first: The discovery script " + script
                        + " printed nvidia-smi: command not found, not Spark's {\"name\":\"gpu\",\"addresses\":[...]}.\n",
                r.err());
        assertTrue(r.out().contains("result: FAILED\n  - The discovery script " + script), r.out());
    }

    @Test
    void aBadOptionExits2() {
        Run r = doctor("--probe-seconds", "0");
        assertEquals(2, r.code());
        assertEquals(
                "radio doctor: Invalid value for option '--probe-seconds' (0.0): Use a positive number of seconds, "
                        + "e.g. 3.\n",
                r.err());
        assertEquals("", r.out());
        assertEquals(2, doctor("--jsn").code());
    }

    /**
     * The text report with a throughput probe (the bundled tiny model, half a second), and the
     * README's sample report: the same sections, and each of its device lines matches one printed
     * here once numbers are left out.
     */
    @Test
    void theTextReportIsTheOneTheReadmeShows() throws Exception {
        Run r = doctor("--model", MODEL, "--probe-seconds", "0.5", "--batch-size", "2");
        assertEquals(0, r.code(), r.err());
        String out = r.out();
        assertTrue(out.startsWith("radio doctor\nversions\n  radio-spark  " + RadioCli.VERSION + "\n"), out);
        assertTrue(out.endsWith("result: OK\n"), out);
        Matcher img = Pattern.compile("  cpu     float32   ok      ([0-9.]+) img/s at batch 2\n")
                .matcher(out);
        assertTrue(img.find(), out);
        assertTrue(Double.parseDouble(img.group(1)) > 0, out);
        assertTrue(out.contains("  cpu     bfloat16  ok      "), out);
        assertTrue(
                out.contains("\n  cpu     bfloat16 yes; float16 no (dtype=float16 on the CPU: PyTorch's CPU float16 "
                        + "matrix multiplies are about 200x slower than float32 (0.4-0.9 GFLOP/s measured).); fused "
                        + "attention yes (float32, bfloat16)\n"),
                out);

        String readme = Files.readString(ROOT.resolve("README.md"));
        Matcher block = Pattern.compile("<!-- radio doctor report -->\n```text\n(.*?)```\n", Pattern.DOTALL)
                .matcher(readme);
        assertTrue(block.find(), "README.md has the sample report");
        String sample = block.group(1);
        assertEquals(headers(out), headers(sample), "the sections of the report");
        List<String> printed = out.lines().map(DoctorCommandTest::shape).toList();
        for (String line : sample.lines().toList()) {
            if (line.startsWith("  cpu ")) {
                assertTrue(printed.contains(shape(line)), "README line not printed: " + line + "\n" + out);
            }
        }
    }

    /**
     * The README's commands: each parses, and the shipped discovery script agrees with libtorch here
     * (no GPU). The spark-submit one, run by hand from the shaded jar, printed the same report.
     */
    @Test
    void theReadmeCommandsRunHere() throws Exception {
        String readme = Files.readString(ROOT.resolve("README.md"));
        String section = readme.substring(readme.indexOf("### Check an install: radio doctor"));
        Matcher m = Pattern.compile("(?:\nscripts/radio|-spark\\.jar) (doctor[^#\n]*)")
                .matcher(section);
        List<String> commands = new ArrayList<>();
        while (m.find()) {
            commands.add(m.group(1).strip());
        }
        assertEquals(
                List.of(
                        "doctor --discovery-script scripts/get-gpus-resources.sh",
                        "doctor --quick --json",
                        "doctor --discovery-script ./get-gpus-resources.sh"),
                commands);
        for (String c : commands) {
            new picocli.CommandLine(new RadioCli()).parseArgs(c.split(" "));
        }
        Run r = doctor(
                "--discovery-script",
                ROOT.resolve("scripts/get-gpus-resources.sh").toString(),
                "--quick",
                "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode d = new ObjectMapper().readTree(r.out()).path("devices");
        assertEquals("[]", d.path("spark_gpus").toString());
        assertTrue(d.path("agree").asBoolean(), d.toString());
    }

    /** The flavour of the libtorch DJL loaded, from the folder it was loaded from (DJL's cache names them so). */
    @Test
    void flavorFromTheFolderLibtorchWasLoadedFrom() {
        assertEquals("cu128", DoctorChecks.flavor("/home/u/.djl.ai/pytorch/2.7.1-cu128-linux-x86_64", true));
        assertEquals("cpu", DoctorChecks.flavor("/root/.djl.ai/pytorch/2.7.1-20250812-cpu-linux-x86_64", false));
        // an installed PyTorch (PYTORCH_LIBRARY_PATH): the folder does not say; libtorch's CUDA capability does
        assertEquals("cuda", DoctorChecks.flavor("/opt/venv/lib/python3.12/site-packages/torch/lib", true));
        assertEquals("cpu", DoctorChecks.flavor("/opt/venv/lib/python3.12/site-packages/torch/lib", false));
    }

    /** A check outside its tolerance, or one that threw, fails the run and is named in the report. */
    @Test
    void aFailedCheckIsNamedInTheReport() {
        DoctorChecks checks = new DoctorChecks();
        assertTrue(checks.versions(RadioCli.VERSION));
        ArrayNode parity = checks.report().putArray("parity");
        ObjectNode off = parity.addObject().put("device", "gpu(0)").put("dtype", "bfloat16");
        assertFalse(checks.attempt(off, "golden case gpu(0) bfloat16", () -> "cosine 0.5 < 0.999"));
        ObjectNode threw = parity.addObject().put("device", "gpu(0)").put("dtype", "float16");
        assertFalse(checks.attempt(threw, "golden case gpu(0) float16", () -> {
            throw new IllegalStateException("no kernel image is available for execution on the device\nmore");
        }));
        assertEquals("failed", off.path("status").asText());
        assertEquals("error", threw.path("status").asText());
        assertEquals(
                List.of(
                        "golden case gpu(0) bfloat16: cosine 0.5 < 0.999",
                        "golden case gpu(0) float16 did not run: java.lang.IllegalStateException: no kernel image is "
                                + "available for execution on the device"),
                checks.failures());
        checks.report().put("ok", false);
        checks.failures().forEach(checks.report().putArray("failures")::add);
        String text = DoctorReport.text(checks.report());
        assertTrue(
                text.endsWith("result: FAILED\n  - golden case gpu(0) bfloat16: cosine 0.5 < 0.999\n  - golden case "
                        + "gpu(0) float16 did not run: java.lang.IllegalStateException: no kernel image is available for "
                        + "execution on the device\n"),
                text);
    }

    @Test
    void helpListsDoctor() {
        StringWriter out = new StringWriter();
        assertEquals(0, RadioCli.run(new PrintWriter(out), new PrintWriter(new StringWriter()), "--help"));
        assertTrue(out.toString().contains("  doctor      Check this node before a big job"), out.toString());
    }

    /** The section lines of a report: those that start at column 0, up to the first parenthesis. */
    static List<String> headers(String report) {
        List<String> h = new ArrayList<>();
        for (String line : report.lines().toList()) {
            if (!line.startsWith(" ")) {
                h.add(line.replaceAll(" ?\\(.*", ""));
            }
        }
        return h;
    }

    /** A report line with its numbers left out. */
    static String shape(String line) {
        return line.replaceAll("[0-9][0-9.e+-]*", "#");
    }
}
