package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.radiospark.model.DevicePlan;
import ai.radiospark.runtime.EmbeddingSettings.Setting;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.Filter;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.impl.Log4jLogEvent;
import org.apache.logging.log4j.message.SimpleMessage;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/**
 * The conf files do what the README says: conf/spark-defaults-cpu.conf works with local[2] (small
 * executors), and conf/log4j2.properties drops the known-harmless warnings and nothing else.
 */
class ConfFilesTest {
    static Properties load(String name) throws Exception {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(Path.of("..", "conf", name))) {
            p.load(r);
        }
        return p;
    }

    @Test
    void theCpuDefaultsRunALocal2Session() throws Exception {
        Properties conf = load("spark-defaults-cpu.conf");
        String cpus = conf.getProperty("spark.task.cpus", "1").trim();
        assertTrue(Integer.parseInt(cpus) <= 2, "spark.task.cpus " + cpus + " does not fit a 2-core executor");
        SparkSession.Builder b = SparkSession.builder()
                .master("local[2]")
                .appName("ConfFilesTest")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1");
        for (String key : conf.stringPropertyNames()) {
            b.config(key, conf.getProperty(key).trim());
        }
        SparkSession spark = b.getOrCreate();
        try {
            assertEquals(1000, spark.range(1000).repartition(4).count());
            assertEquals(1, spark.sparkContext().getConf().getInt("spark.task.cpus", 1));
        } finally {
            spark.stop();
            SparkSession.clearActiveSession();
            SparkSession.clearDefaultSession();
        }
    }

    /**
     * conf/spark-defaults-gpu.conf: TF32 allowed for float32 (libtorch reads the variable at start),
     * nvidia-smi's device order, the CUDA libtorch, and the GPU dtype for the SQL functions, each
     * {@code spark.radio.*} key an SQL option with a value its setting accepts.
     */
    @Test
    void theGpuConfSetsTheGpuDefaults() throws Exception {
        Properties conf = load("spark-defaults-gpu.conf");
        assertEquals("1", conf.getProperty("spark.executorEnv.TORCH_ALLOW_TF32_CUBLAS_OVERRIDE"));
        assertEquals("PCI_BUS_ID", conf.getProperty("spark.executorEnv.CUDA_DEVICE_ORDER"));
        assertEquals("cu128", conf.getProperty("spark.executorEnv.PYTORCH_FLAVOR"));
        assertEquals("2.7.1", conf.getProperty("spark.executorEnv.PYTORCH_VERSION"));
        assertEquals("./get-gpus-resources.sh", conf.getProperty("spark.executor.resource.gpu.discoveryScript"));
        Map<String, String> radio = new TreeMap<>();
        for (String key : conf.stringPropertyNames()) {
            if (key.startsWith("spark.radio.")) {
                String param = key.substring("spark.radio.".length());
                Setting s = Setting.byParam(param);
                assertTrue(s.sql(), key + " is not an SQL option");
                radio.put(param, s.parse(conf.getProperty(key)));
            }
        }
        assertEquals(Map.of("dtype", DevicePlan.GPU_DTYPE.label()), radio);
    }

    /**
     * conf/radio-defaults-gpu.properties is conf/radio-defaults.properties with the GPU's dtype and
     * batch size, and the CPU's defaults stay auto (float32 on CPUs) and 16.
     */
    @Test
    void theGpuRadioDefaultsDifferFromTheCpuOnesInDtypeAndBatchSizeOnly() throws Exception {
        Properties cpu = load("radio-defaults.properties");
        Properties gpu = load("radio-defaults-gpu.properties");
        assertEquals("auto", cpu.getProperty("radio.dtype").trim());
        assertEquals("auto", Setting.DTYPE.defaultValue());
        assertEquals(
                Integer.toString(DevicePlan.CPU_BATCH_SIZE),
                cpu.getProperty("radio.batch-size").trim());
        assertEquals("bfloat16", gpu.getProperty("radio.dtype").trim());
        assertEquals(
                DevicePlan.GPU_DTYPE.label(), gpu.getProperty("radio.dtype").trim());
        assertEquals(
                Integer.toString(DevicePlan.GPU_BATCH_SIZE),
                gpu.getProperty("radio.batch-size").trim());
        assertEquals(cpu.stringPropertyNames(), gpu.stringPropertyNames());
        for (String key : cpu.stringPropertyNames()) {
            if (!List.of("radio.dtype", "radio.batch-size").contains(key)) {
                assertEquals(cpu.getProperty(key), gpu.getProperty(key), key);
            }
        }
    }

    /** scripts/submit.sh with GPU=1 submits with the GPU conf, bfloat16 and batch 64; without, the CPU conf. */
    @Test
    void submitShPassesTheGpuDefaults() throws Exception {
        Path bin = Files.createTempDirectory("fake-spark-submit");
        Path fake = bin.resolve("spark-submit");
        Files.writeString(fake, "#!/usr/bin/env bash\necho \"$*\"\n");
        assertTrue(fake.toFile().setExecutable(true));
        String gpu = runSubmit(bin, "1");
        assertTrue(
                gpu.contains("--properties-file " + Path.of("..", "conf").toRealPath() + "/spark-defaults-gpu.conf"),
                gpu);
        assertTrue(gpu.contains("--batch-size 64 --dtype bfloat16 --device auto"), gpu);
        assertFalse(gpu.contains("/opt/radio/get-gpus-resources.sh"), gpu);
        String cpu = runSubmit(bin, "0");
        assertTrue(cpu.contains("spark-defaults-cpu.conf"), cpu);
        assertTrue(cpu.contains("--batch-size 32 --dtype bfloat16 --device auto"), cpu);
        // Kubernetes runs the discovery script before --files arrive: the image's copy
        String k8s = runSubmit(bin, "1", "MASTER", "k8s://https://k8s:443", "IMAGE", "radio:1");
        assertTrue(
                k8s.contains("--conf spark.executor.resource.gpu.discoveryScript=/opt/radio/get-gpus-resources.sh "
                        + "--conf spark.executor.resource.gpu.vendor=nvidia.com"),
                k8s);
        assertFalse(runSubmit(bin, "0", "MASTER", "k8s://https://k8s:443", "IMAGE", "radio:1")
                .contains("discoveryScript"));
    }

    static String runSubmit(Path bin, String gpu, String... env) throws Exception {
        List<String> set = new java.util.ArrayList<>(List.of("GPU", gpu, "JAR", "/x.jar"));
        set.addAll(List.of(env));
        return submitWithFakeSparkSubmit(
                Path.of("..", "scripts", "submit.sh"),
                bin,
                List.of("BATCH_SIZE", "DTYPE", "MASTER"),
                set.toArray(String[]::new));
    }

    /**
     * Runs {@code script} (scripts/submit.sh or a copy) with {@code bin}, holding a fake spark-submit, first on the
     * PATH, INPUT /in and OUTPUT /out, the {@code unset} variables removed and {@code env}'s name-value pairs set;
     * returns its output, asserting it exits 0.
     */
    static String submitWithFakeSparkSubmit(Path script, Path bin, List<String> unset, String... env) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("bash", script.toString());
        pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
        pb.environment().put("INPUT", "/in");
        pb.environment().put("OUTPUT", "/out");
        unset.forEach(pb.environment()::remove);
        for (int i = 0; i < env.length; i += 2) {
            pb.environment().put(env[i], env[i + 1]);
        }
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        return out;
    }

    @Test
    void theLogConfigurationDropsKnownHarmlessWarningsOnly() {
        LoggerContext ctx = new LoggerContext(
                "ConfFilesTest",
                null,
                Path.of("..", "conf", "log4j2.properties").toUri());
        ctx.start();
        try {
            assertFalse(ctx.getLogger("ai.djl.util.cuda.CudaUtils").isEnabled(Level.WARN), "DJL's GPU probe on CPUs");
            assertTrue(ctx.getLogger("ai.radiospark.jobs.RadioCli").isEnabled(Level.INFO));
            Filter rdd = ctx.getConfiguration()
                    .getLoggerConfig("org.apache.spark.rdd.RDD")
                    .getFilter();
            assertEquals(
                    Filter.Result.DENY,
                    rdd.filter(warn("RDD 42 was locally checkpointed, its lineage has been "
                            + "truncated and cannot be recomputed after unpersisting")));
            assertEquals(Filter.Result.NEUTRAL, rdd.filter(warn("some other RDD warning")));
        } finally {
            ctx.stop();
        }
    }

    static LogEvent warn(String message) {
        return Log4jLogEvent.newBuilder()
                .setLoggerName("org.apache.spark.rdd.RDD")
                .setLevel(Level.WARN)
                .setMessage(new SimpleMessage(message))
                .build();
    }
}
