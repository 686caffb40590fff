package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The commands of README.md's "GPU clusters" section, each checked on the CPU as far as it can be:
 * the first command on a GPU node fails with a reason instead of skipping (its profile sets
 * radio.gpu.required, which GpuDeviceTest reads); the -Pcuda build leaves the CPU libtorch out;
 * submit.sh with GPU=1 submits with the GPU conf; scripts/radio --print-env prints the CUDA
 * libtorch's environment for a -Pcuda build. A new command in the section fails this test until it
 * is checked here. Its Kubernetes subsection is ReadmeKubernetesTest's.
 */
class ReadmeGpuSectionTest {
    static final Path ROOT = ReadmeSnippetsTest.ROOT;

    @TempDir
    Path tmp;

    /** The command lines of the section's bash blocks, without comments (up to its Kubernetes subsection). */
    static List<String> commands() throws Exception {
        String readme = Files.readString(ROOT.resolve("README.md"));
        int from = readme.indexOf("## GPU clusters");
        int to = readme.indexOf("\n## ", from + 1);
        assertTrue(from >= 0 && to > from, "README.md has a GPU clusters section");
        // Its "### Kubernetes" (the last subsection) is checked by ReadmeKubernetesTest.
        int sub = readme.indexOf("\n### ", from);
        if (sub > 0 && sub < to) {
            assertEquals(readme.indexOf("\n### Kubernetes\n", from), sub, "the section's only subsection");
            to = sub;
        }
        Matcher m = Pattern.compile("```bash\\n(.*?)```", Pattern.DOTALL).matcher(readme.substring(from, to));
        List<String> out = new ArrayList<>();
        while (m.find()) {
            for (String line : m.group(1).split("\n")) {
                String cmd = line.replaceFirst("\\s+#.*$", "").trim();
                if (!cmd.isEmpty() && !cmd.startsWith("#")) {
                    out.add(cmd);
                }
            }
        }
        return out;
    }

    @Test
    void theSectionsCommandsAreTheCheckedOnes() throws Exception {
        assertEquals(
                List.of(
                        "mvn -B -Pcuda,gpu-tests -pl transformer test -Dtest=GpuDeviceTest",
                        "mvn -Pcuda -DskipTests package",
                        "GPU=1 MASTER=yarn INPUT=... OUTPUT=... scripts/submit.sh",
                        "scripts/radio --print-env"),
                commands());
    }

    /** The profiles exist; gpu-tests makes GpuDeviceTest fail with the reason where there is no GPU. */
    @Test
    void theFirstCommandOnAGpuNodeFailsWithTheReasonInsteadOfSkipping() throws Exception {
        String pom = Files.readString(ROOT.resolve("pom.xml"));
        String cuda = profile(pom, "cuda");
        assertTrue(cuda.contains("<pytorch.native.scope>test</pytorch.native.scope>"), cuda);
        String gpuTests = profile(pom, "gpu-tests");
        assertTrue(gpuTests.contains("<radio.gpu.required>true</radio.gpu.required>"), gpuTests);
        assertTrue(gpuTests.contains("<PYTORCH_FLAVOR>cu128</PYTORCH_FLAVOR>"), gpuTests);
        String test = Files.readString(ROOT.resolve("transformer/src/test/java/ai/radiospark/ml/GpuDeviceTest.java"));
        assertTrue(test.contains("Boolean.getBoolean(\"radio.gpu.required\")"), "GpuDeviceTest reads the property");
    }

    @Test
    void submitWithGpu1UsesTheGpuConfAndShipsTheDiscoveryScript() throws Exception {
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        Path fake = bin.resolve("spark-submit");
        Files.writeString(fake, "#!/usr/bin/env bash\necho \"$*\"\n");
        assertTrue(fake.toFile().setExecutable(true));
        String out = ConfFilesTest.runSubmit(bin, "1", "MASTER", "yarn");
        String conf = Path.of("..", "conf").toRealPath().toString();
        String scripts = Path.of("..", "scripts").toRealPath().toString();
        assertTrue(
                out.contains("--properties-file " + conf + "/spark-defaults-gpu.conf --files " + scripts
                        + "/get-gpus-resources.sh," + conf + "/log4j2.properties"),
                out);
    }

    @Test
    void printEnvShowsTheCudaLibtorchForACudaBuild() throws Exception {
        Path cp = tmp.resolve("classpath.txt");
        Files.writeString(cp, "/m2/ai/djl/pytorch/pytorch-jni/2.7.1-0.36.0/pytorch-jni-2.7.1-0.36.0.jar\n");
        ProcessBuilder pb =
                new ProcessBuilder("bash", ROOT.resolve("scripts/radio").toString(), "--print-env");
        for (String v : List.of("PYTORCH_FLAVOR", "PYTORCH_VERSION", "RADIO_CONF", "RADIO_JAVA_OPTS")) {
            pb.environment().remove(v);
        }
        pb.environment().putAll(Map.of("RADIO_CLASSPATH_FILE", cp.toString()));
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        assertTrue(out.startsWith("PYTORCH_FLAVOR=cu128\nPYTORCH_VERSION=2.7.1\n"), out);
    }

    private static String profile(String pom, String id) {
        int i = pom.indexOf("<id>" + id + "</id>");
        assertTrue(i >= 0, "pom.xml has no profile " + id);
        return pom.substring(i, pom.indexOf("</profile>", i));
    }
}
