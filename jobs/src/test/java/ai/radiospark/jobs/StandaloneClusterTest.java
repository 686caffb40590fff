package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's "Try a cluster on one machine", run as written: scripts/standalone-cluster.sh starts a standalone
 * Master and two Workers in their own JVMs, the shaded jar goes through Spark's own SparkSubmit in client mode with
 * the conf files, and the table equals a local-mode run's. Needs the shaded jar: {@code mvn -Pcluster-tests verify}
 * runs it after package (tag {@code cluster}, left out of the default test run).
 */
@Tag("cluster")
class StandaloneClusterTest {
    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    static final String README_LOGS = "/tmp/radio-cluster";
    static final String README_TABLE = "/tmp/radio-cluster-table";
    static final String README_MASTER = "spark://127.0.0.1:7077";

    @TempDir
    static Path tmp;

    static SparkSession spark;
    static int port;
    /** The port scripts/standalone-cluster.sh is given (RADIO_CLUSTER_PORT). */
    static int clusterPort;

    @BeforeAll
    static void start() throws IOException {
        System.setProperty("radio.cache.dir", tmp.resolve("cache").toString());
        port = freePort();
        clusterPort = port;
        spark = JobsTestSpark.start("StandaloneClusterTest", 2);
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            run(List.of("bash", "scripts/standalone-cluster.sh", "stop", "--logs", logs().toString()), 120);
            stopCluster(killLogs());
        } finally {
            JobsTestSpark.stop(spark);
            System.clearProperty("radio.cache.dir");
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static Path logs() {
        return tmp.resolve("cluster-logs");
    }

    /** The README section's bash block, continuation lines joined: one command a line. */
    static List<String> readmeCommands() throws IOException {
        String readme = Files.readString(ROOT.resolve("README.md"));
        int section = readme.indexOf("### Try a cluster on one machine");
        assertTrue(section >= 0, "README.md has no section 'Try a cluster on one machine'");
        Matcher m = Pattern.compile("```bash\\n(.*?)```\\n", Pattern.DOTALL).matcher(readme);
        assertTrue(m.find(section), "no bash block in the README's cluster section");
        List<String> out = new ArrayList<>();
        for (String line : m.group(1).replace("\\\n", " ").split("\n")) {
            String t = line.trim().replaceAll(" +", " ");
            if (!t.isEmpty() && !t.startsWith("#")) {
                out.add(t);
            }
        }
        return out;
    }

    /** A README command with this run's folders and port, and spark-submit as the README's note spells it. */
    static List<String> asRun(String command) {
        String c = command.replace(README_MASTER, "spark://127.0.0.1:" + port)
                .replace(README_TABLE, tmp.resolve("cluster-table").toString())
                .replace(README_LOGS, logs().toString());
        List<String> words = new ArrayList<>(List.of(c.split(" ")));
        if (words.get(0).equals("spark-submit")) {
            words.remove(0);
            words.addAll(
                    0,
                    List.of(
                            ProcessHandle.current().info().command().orElse("java"),
                            "@conf/jvm-opens.txt",
                            "-Dlog4j2.configurationFile=conf/log4j2.properties",
                            "-cp",
                            "jobs/target/spark-home/jars/*",
                            "org.apache.spark.deploy.SparkSubmit"));
        }
        return words;
    }

    /** Runs a command in the project's folder; returns its output, or fails with it. */
    static String run(List<String> command, long timeoutSeconds) throws Exception {
        return run(command, timeoutSeconds, 0);
    }

    /** Runs a command in the project's folder; returns its output, or fails with it unless it exits {@code exit}. */
    static String run(List<String> command, long timeoutSeconds, int exit) throws Exception {
        Path out = Files.createTempFile(tmp, "cmd", ".log");
        ProcessBuilder pb = new ProcessBuilder(command)
                .directory(ROOT.toFile())
                .redirectErrorStream(true)
                .redirectOutput(out.toFile());
        pb.environment().put("RADIO_CLUSTER_PORT", Integer.toString(clusterPort));
        Process p = pb.start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            throw new AssertionError(
                    "timed out after " + timeoutSeconds + " s: " + command + "\n" + tail(Files.readString(out)));
        }
        String text = Files.readString(out, StandardCharsets.UTF_8);
        System.out.println("$ " + String.join(" ", command) + "\n" + text);
        assertEquals(exit, p.exitValue(), "exit code of " + command + "\n" + tail(text));
        return text;
    }

    static String tail(String text) {
        return text.length() > 6000 ? text.substring(text.length() - 6000) : text;
    }

    /** path to summary (null for error rows) of a Delta table. */
    static Map<String, float[]> summaries(Path table) {
        Map<String, float[]> out = new HashMap<>();
        for (Row r : spark.read()
                .format("delta")
                .load(table.toString())
                .select("path", "summary")
                .collectAsList()) {
            float[] s = null;
            if (!r.isNullAt(1)) {
                List<Float> l = r.getList(1);
                s = new float[l.size()];
                for (int i = 0; i < s.length; i++) {
                    s[i] = l.get(i);
                }
            }
            assertEquals(null, out.put(r.getString(0), s), "two rows for " + r.getString(0));
        }
        return out;
    }

    @Test
    void theReadmeCommandsRunAClusterWhoseTableEqualsLocalModes() throws Exception {
        clusterPort = port;
        List<String> commands = readmeCommands();
        assertEquals(
                4, commands.size(), "the README's cluster commands: start, status, spark-submit, stop: " + commands);
        long t0 = System.nanoTime();
        String url = run(asRun(commands.get(0)), 600).trim();
        assertTrue(url.endsWith("spark://127.0.0.1:" + port), url);
        String status = run(asRun(commands.get(1)), 60);
        assertTrue(status.contains("master spark://127.0.0.1:" + port), status);
        assertTrue(status.contains("worker-1 pid") && status.contains("worker-2 pid"), status);
        long t1 = System.nanoTime();
        String driver = run(asRun(commands.get(2)), 900);
        long t2 = System.nanoTime();
        System.out.printf("cluster start %.1f s, client-mode extract %.1f s%n", (t1 - t0) / 1e9, (t2 - t1) / 1e9);
        // The driver loaded and broadcast the weights once for the job's three chunks (--commit-every 4 of 9 images).
        List<String> broadcasts = lines(driver, "ready on the driver: .*, broadcast in ");
        assertEquals(1, broadcasts.size(), "the driver's weight broadcasts:\n" + String.join("\n", broadcasts));
        assertModelBuiltOncePerExecutorJvm(logs());
        // Both workers ran an executor of the job (their work folders hold the application's folder).
        for (int n = 1; n <= 2; n++) {
            try (Stream<Path> apps = Files.list(logs().resolve("work-" + n))) {
                assertTrue(apps.anyMatch(Files::isDirectory), "worker-" + n + " ran no executor");
            }
        }
        run(asRun(commands.get(3)), 120);
        // status ends 1 when the cluster is not (all) running.
        String stopped =
                run(List.of("bash", "scripts/standalone-cluster.sh", "status", "--logs", logs().toString()), 60, 1);
        assertTrue(stopped.contains("master not running"), stopped);

        Path local = tmp.resolve("local-table");
        assertEquals(
                0,
                RadioCli.run(
                        "extract",
                        "--master",
                        "local[2]",
                        "--input",
                        ROOT.resolve("samples/images").toString(),
                        "--output",
                        local.toString(),
                        "--model",
                        ROOT.resolve("samples/model-tiny-random").toString(),
                        "--batch-size",
                        "2",
                        "--commit-every",
                        "4",
                        "--max-failed-fraction",
                        "0.5"));
        long images;
        try (Stream<Path> files = Files.walk(ROOT.resolve("samples/images"))) {
            images = files.filter(Files::isRegularFile).count();
        }
        Map<String, float[]> cluster = summaries(tmp.resolve("cluster-table"));
        Map<String, float[]> expected = summaries(local);
        assertEquals(images, cluster.size(), "one row per sample image: " + cluster.keySet());
        assertEquals(expected.keySet(), cluster.keySet());
        int embedded = 0;
        for (Map.Entry<String, float[]> e : expected.entrySet()) {
            float[] got = cluster.get(e.getKey());
            if (e.getValue() == null) {
                assertEquals(null, got, e.getKey() + " is an error row in local mode");
                continue;
            }
            assertNotNull(got, e.getKey());
            assertEquals(e.getValue().length, got.length, e.getKey());
            for (int i = 0; i < got.length; i++) {
                assertEquals(e.getValue()[i], got[i], 1e-5, e.getKey() + " summary[" + i + "]");
            }
            embedded++;
        }
        assertTrue(embedded >= images - 1, "embedded " + embedded + " of " + images);
        assertTrue(new File(logs().toFile(), "master.out").isFile());
    }

    /** The lines of {@code text} in which {@code regex} is found. */
    static List<String> lines(String text, String regex) {
        Pattern p = Pattern.compile(regex);
        return text.lines().filter(l -> p.matcher(l).find()).toList();
    }

    static final Pattern BUILT = Pattern.compile("Built RADIO model .* in JVM pid (\\d+);");
    static final Pattern PARTITION = Pattern.compile("RadioEmbedder partition .* JVM pid (\\d+) peak RSS (-?\\d+) MB");

    /**
     * Every executor JVM (its log, work-N/APP/EXECUTOR/stderr) that embedded built the model exactly once, in its own
     * process, though the executors ran more embedding tasks than there are JVMs; prints each executor's peak RSS
     * (VmHWM, logged at the end of each partition).
     */
    static void assertModelBuiltOncePerExecutorJvm(Path logs) throws IOException {
        List<Path> stderrs;
        try (Stream<Path> files = Files.walk(logs)) {
            stderrs = files.filter(f -> f.getFileName().toString().equals("stderr")
                            && f.getParent()
                                    .getParent()
                                    .getFileName()
                                    .toString()
                                    .startsWith("app-"))
                    .sorted()
                    .toList();
        }
        int tasks = 0;
        List<Long> builders = new ArrayList<>();
        for (Path f : stderrs) {
            String log = Files.readString(f);
            List<String> partitions = lines(log, PARTITION.pattern());
            List<String> builds = lines(log, BUILT.pattern());
            if (partitions.isEmpty()) {
                assertEquals(List.of(), builds, f + ": a model built by an executor that embedded nothing");
                continue;
            }
            assertEquals(1, builds.size(), f + ": the model builds of this executor JVM\n" + String.join("\n", builds));
            Matcher b = BUILT.matcher(builds.get(0));
            assertTrue(b.find());
            long pid = Long.parseLong(b.group(1));
            long peakMb = 0;
            for (String line : partitions) {
                Matcher m = PARTITION.matcher(line);
                assertTrue(m.find(), line);
                assertEquals(pid, Long.parseLong(m.group(1)), f + ": a partition of another JVM: " + line);
                peakMb = Math.max(peakMb, Long.parseLong(m.group(2)));
            }
            assertTrue(peakMb > 0, f + ": no peak RSS in " + partitions);
            tasks += partitions.size();
            builders.add(pid);
            System.out.printf(
                    "executor %s (pid %d): %d embedding task(s), 1 model build, peak RSS %d MB%n",
                    logs.relativize(f.getParent()), pid, partitions.size(), peakMb);
        }
        assertTrue(!builders.isEmpty(), "no executor log under " + logs + " has an embedding task: " + stderrs);
        assertEquals(builders.size(), builders.stream().distinct().count(), "one JVM per executor log: " + builders);
        assertTrue(
                tasks > builders.size(),
                tasks + " embedding task(s) on " + builders.size() + " executor JVM(s): too few tasks to show reuse");
    }

    static Path killLogs() {
        return tmp.resolve("kill-logs");
    }

    /** The executor stdout (work-N/app/ID/stdout) where the task-hold fault point was reached, or null. */
    static Path heldExecutor() throws IOException {
        try (Stream<Path> files = Files.walk(killLogs())) {
            for (Path f : files.filter(f -> f.getFileName().toString().equals("stdout"))
                    .toList()) {
                if (Files.readString(f).contains("radio-fault: task-hold")) {
                    return f;
                }
            }
        }
        return null;
    }

    @Test
    void anExecutorKilledMidJobStillEndsWithOneRowPerImageWithoutARerun() throws Exception {
        clusterPort = freePort();
        String url = "spark://127.0.0.1:" + clusterPort;
        Path table = tmp.resolve("kill-table");
        run(
                List.of(
                        "bash",
                        "scripts/standalone-cluster.sh",
                        "start",
                        "--logs",
                        killLogs().toString()),
                600);
        Path jar;
        try (Stream<Path> jars = Files.list(ROOT.resolve("jobs/target"))) {
            jar = jars.filter(p -> p.getFileName().toString().matches("radio-spark-jobs-.*-spark\\.jar"))
                    .findFirst()
                    .orElseThrow(() -> new AssertionError("no shaded jar under jobs/target: run mvn package"));
        }
        List<String> submit = List.of(
                ProcessHandle.current().info().command().orElse("java"),
                "@conf/jvm-opens.txt",
                "-Dlog4j2.configurationFile=conf/log4j2.properties",
                "-cp",
                "jobs/target/spark-home/jars/*",
                "org.apache.spark.deploy.SparkSubmit",
                "--master",
                url,
                "--conf",
                "spark.driver.host=127.0.0.1",
                "--class",
                "ai.radiospark.jobs.ExtractEmbeddings",
                "--properties-file",
                "conf/spark-defaults-cpu.conf",
                "--files",
                "conf/log4j2.properties",
                "--conf",
                "spark.executor.extraJavaOptions=-Dlog4j2.configurationFile=log4j2.properties " + "-D"
                        + ExtractFaults.FAULT_POINT + "=task-hold",
                jar.toString(),
                "--input",
                "samples/images",
                "--output",
                table.toString(),
                "--model",
                "samples/model-tiny-random",
                "--max-failed-fraction",
                "0.5");
        Path out = tmp.resolve("kill-submit.log");
        Process job = new ProcessBuilder(submit)
                .directory(ROOT.toFile())
                .redirectErrorStream(true)
                .redirectOutput(out.toFile())
                .start();
        try {
            Path held = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(600);
            while (held == null && job.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(200);
                held = heldExecutor();
            }
            assertNotNull(held, "no executor reached the task-hold point\n" + tail(Files.readString(out)));
            // work-N/app-ID/EXECUTOR/stdout: the executor JVM is a child of worker N.
            String executorId = held.getParent().getFileName().toString();
            String appId = held.getParent().getParent().getFileName().toString();
            String worker = held.getParent()
                    .getParent()
                    .getParent()
                    .getFileName()
                    .toString()
                    .replace("work", "worker");
            long workerPid = Long.parseLong(
                    Files.readString(killLogs().resolve(worker + ".pid")).trim());
            List<ProcessHandle> executors = ProcessHandle.of(workerPid)
                    .orElseThrow()
                    .descendants()
                    .filter(p -> p.info().commandLine().orElse("").contains("CoarseGrainedExecutorBackend")
                            && p.info().commandLine().orElse("").contains(appId)
                            && p.info().commandLine().orElse("").contains("--executor-id " + executorId + " "))
                    .toList();
            assertEquals(1, executors.size(), "the held executor's JVM under " + worker);
            assertTrue(executors.get(0).destroyForcibly(), "SIGKILL of executor " + executorId);
            assertTrue(job.waitFor(600, TimeUnit.SECONDS), "the job did not end\n" + tail(Files.readString(out)));
            String text = Files.readString(out);
            System.out.println(text);
            assertEquals(0, job.exitValue(), "exit code of the job\n" + tail(text));
            assertTrue(executors.get(0).onExit().get(60, TimeUnit.SECONDS) != null);
            assertTrue(!executors.get(0).isAlive(), "executor " + executorId + " still runs");
        } finally {
            job.descendants().forEach(ProcessHandle::destroyForcibly);
            job.destroyForcibly();
            stopCluster(killLogs());
        }
        assertOneRowPerSampleImage(table);
    }

    static Path clusterModeLogs() {
        return tmp.resolve("cluster-mode-logs");
    }

    @Test
    void clusterDeployModeWritesOneRowPerImage() throws Exception {
        clusterPort = freePort();
        Path table = tmp.resolve("cluster-mode-table");
        run(
                List.of(
                        "bash",
                        "scripts/standalone-cluster.sh",
                        "start",
                        "--logs",
                        clusterModeLogs().toString()),
                600);
        try {
            Path jar;
            try (Stream<Path> jars = Files.list(ROOT.resolve("jobs/target"))) {
                jar = jars.filter(p -> p.getFileName().toString().matches("radio-spark-jobs-.*-spark\\.jar"))
                        .findFirst()
                        .orElseThrow();
            }
            // The driver JVM a Worker starts gets no --add-opens of its own: conf/jvm-opens.txt goes in its options.
            StringBuilder opens = new StringBuilder("-Dlog4j2.configurationFile=log4j2.properties");
            for (String line : Files.readAllLines(ROOT.resolve("conf/jvm-opens.txt"))) {
                if (!line.isBlank() && !line.startsWith("#")) {
                    opens.append(' ').append(line.trim());
                }
            }
            String out = run(
                    List.of(
                            ProcessHandle.current().info().command().orElse("java"),
                            "@conf/jvm-opens.txt",
                            "-cp",
                            "jobs/target/spark-home/jars/*",
                            "org.apache.spark.deploy.SparkSubmit",
                            "--master",
                            "spark://127.0.0.1:" + clusterPort,
                            "--deploy-mode",
                            "cluster",
                            "--conf",
                            "spark.standalone.submit.waitAppCompletion=true",
                            "--class",
                            "ai.radiospark.jobs.ExtractEmbeddings",
                            "--properties-file",
                            "conf/spark-defaults-cpu.conf",
                            "--conf",
                            "spark.driver.extraJavaOptions=" + opens,
                            "--files",
                            ROOT.resolve("conf/log4j2.properties").toString(),
                            jar.toString(),
                            "--input",
                            ROOT.resolve("samples/images").toString(),
                            "--output",
                            table.toString(),
                            "--model",
                            ROOT.resolve("samples/model-tiny-random").toString(),
                            "--max-failed-fraction",
                            "0.5"),
                    900);
            assertTrue(out.contains("is FINISHED"), out);
        } finally {
            stopCluster(clusterModeLogs());
        }
        assertOneRowPerSampleImage(table);
    }

    private static void stopCluster(Path logs) throws Exception {
        run(List.of("bash", "scripts/standalone-cluster.sh", "stop", "--logs", logs.toString()), 120);
    }

    /** One row per sample image in {@code table}, every one embedded but the truncated JPEG's. */
    private static void assertOneRowPerSampleImage(Path table) throws Exception {
        long images;
        try (Stream<Path> files = Files.walk(ROOT.resolve("samples/images"))) {
            images = files.filter(Files::isRegularFile).count();
        }
        Map<String, float[]> rows = summaries(table);
        assertEquals(images, rows.size(), "one row per sample image: " + rows.keySet());
        assertEquals(
                images - 1,
                rows.values().stream().filter(v -> v != null).count(),
                "embedded rows (the truncated JPEG is the one error row)");
    }
}
