package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * scripts/radio's libtorch environment on a GPU workstation, decided from the build's classpath
 * file ({@code --print-env}, run on the CPU with fake classpath files): a {@code -Pcuda} build (no
 * pytorch-native-cpu) gets the CUDA libtorch's flavor and version and the GPU defaults file; a CPU
 * build gets nothing, so CPU runs are unchanged; values the user set win.
 */
class RadioScriptTest {
    static final Path ROOT = ReadmeSnippetsTest.ROOT;
    static final String JNI = "/m2/ai/djl/pytorch/pytorch-jni/2.8.0-0.37.0/pytorch-jni-2.8.0-0.37.0.jar";
    static final String CPU = "/m2/ai/djl/pytorch/pytorch-native-cpu/2.8.0/pytorch-native-cpu-2.8.0-linux-x86_64.jar";

    @TempDir
    Path tmp;

    String printEnv(String classpath, Map<String, String> env) throws Exception {
        Path cp = tmp.resolve("classpath.txt");
        Files.writeString(cp, classpath);
        ProcessBuilder pb =
                new ProcessBuilder("bash", ROOT.resolve("scripts/radio").toString(), "--print-env");
        for (String v : new String[] {
            "PYTORCH_FLAVOR",
            "PYTORCH_VERSION",
            "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE",
            "CUDA_DEVICE_ORDER",
            "RADIO_CONF",
            "RADIO_JAVA_OPTS"
        }) {
            pb.environment().remove(v);
        }
        pb.environment().put("RADIO_CLASSPATH_FILE", cp.toString());
        pb.environment().putAll(env);
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        return out;
    }

    @Test
    void aCudaBuildGetsTheCudaLibtorchAndTheGpuDefaults() throws Exception {
        assertEquals(
                "PYTORCH_FLAVOR=cu128\n"
                        + "PYTORCH_VERSION=2.8.0\n"
                        + "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1\n"
                        + "CUDA_DEVICE_ORDER=PCI_BUS_ID\n"
                        + "RADIO_CONF=" + ROOT.resolve("conf/radio-defaults-gpu.properties") + "\n",
                printEnv("/m2/a.jar:" + JNI + ":/m2/b.jar\n", Map.of()));
    }

    /**
     * The run itself exports what --print-env prints: scripts/radio in a copy of the checkout's
     * layout, with a built jar and classpath file in place and a fake {@code java} that prints its
     * environment.
     */
    @Test
    void theRunExportsTheEnvironmentOfACudaBuildAndNothingForACpuBuild() throws Exception {
        Path root = tmp.resolve("checkout");
        Files.createDirectories(root.resolve("scripts"));
        Files.createDirectories(root.resolve("conf"));
        Files.createDirectories(root.resolve("jobs/target"));
        Files.createDirectories(root.resolve("bin"));
        Files.copy(ROOT.resolve("scripts/radio"), root.resolve("scripts/radio"));
        Files.writeString(root.resolve("conf/jvm-opens.txt"), "");
        Files.writeString(root.resolve("jobs/target/radio-spark-jobs-0.1.0-SNAPSHOT.jar"), "");
        Path java = root.resolve("bin/java");
        Files.writeString(
                java,
                "#!/usr/bin/env bash\nenv | grep -E '^(PYTORCH_|TORCH_ALLOW|CUDA_DEVICE_ORDER|RADIO_CONF)' | sort\n");
        assertTrue(java.toFile().setExecutable(true));
        String cuda = run(root, "/m2/a.jar:" + JNI);
        assertEquals(
                "CUDA_DEVICE_ORDER=PCI_BUS_ID\n"
                        + "PYTORCH_FLAVOR=cu128\n"
                        + "PYTORCH_VERSION=2.8.0\n"
                        + "RADIO_CONF=" + root.toRealPath().resolve("conf/radio-defaults-gpu.properties") + "\n"
                        + "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1\n",
                cuda);
        assertEquals("", run(root, "/m2/a.jar:" + JNI + ":" + CPU));
    }

    private static String run(Path root, String classpath) throws Exception {
        Files.writeString(root.resolve("jobs/target/classpath.txt"), classpath);
        ProcessBuilder pb =
                new ProcessBuilder("bash", root.resolve("scripts/radio").toString(), "show");
        for (String v : new String[] {
            "PYTORCH_FLAVOR",
            "PYTORCH_VERSION",
            "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE",
            "CUDA_DEVICE_ORDER",
            "RADIO_CONF",
            "RADIO_JAVA_OPTS",
            "RADIO_CLASSPATH_FILE",
            "RADIO_REBUILD"
        }) {
            pb.environment().remove(v);
        }
        pb.environment().put("PATH", root.resolve("bin") + ":" + System.getenv("PATH"));
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        return out;
    }

    @Test
    void aCpuBuildChangesNothing() throws Exception {
        assertEquals(
                "# a CPU build: nothing set (DJL loads the CPU libtorch on its classpath)\n",
                printEnv("/m2/a.jar:" + JNI + ":" + CPU + ":/m2/b.jar\n", Map.of()));
    }

    @Test
    void whatTheUserSetWins() throws Exception {
        assertEquals(
                "PYTORCH_FLAVOR=cu126\n"
                        + "PYTORCH_VERSION=2.8.0\n"
                        + "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=0\n"
                        + "CUDA_DEVICE_ORDER=PCI_BUS_ID\n"
                        + "RADIO_CONF=/etc/radio.properties\n",
                printEnv(
                        JNI,
                        Map.of(
                                "PYTORCH_FLAVOR", "cu126",
                                "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE", "0",
                                "RADIO_CONF", "/etc/radio.properties")));
        // -Dradio.conf in RADIO_JAVA_OPTS names the defaults file: RADIO_CONF is not set
        assertEquals(
                "PYTORCH_FLAVOR=cu128\n"
                        + "PYTORCH_VERSION=2.8.0\n"
                        + "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1\n"
                        + "CUDA_DEVICE_ORDER=PCI_BUS_ID\n",
                printEnv(JNI, Map.of("RADIO_JAVA_OPTS", "-Xmx8g -Dradio.conf=/etc/r.properties")));
    }
}
