package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.deploy.SparkSubmitArguments;
import org.apache.spark.internal.config.ConfigEntry$;
import org.apache.spark.resource.ResourceUtils$;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import scala.jdk.javaapi.CollectionConverters;

/**
 * The commands of README.md's "Kubernetes" subsection (of GPU clusters), which cannot run here (no Kubernetes, Docker
 * or GPU), checked as far as they can be: the docker build names the project's Dockerfile and version; Spark's own
 * spark-submit parser (SparkSubmitArguments) reads the submit command with the GPU conf file, and the result asks for
 * the image the build tags, the jar and discovery script where the Dockerfile puts them, nvidia.com GPUs and the
 * memory overhead; every --conf key is one Spark knows (its config registry or its resource settings) or a documented
 * Spark-on-Kubernetes setting; the job's arguments are options of radio extract.
 */
class ReadmeKubernetesTest {
    static final Path ROOT = ReadmeSnippetsTest.ROOT;
    static final String IMAGE = "registry.example.com/radio-spark-gpu:0.1.0-SNAPSHOT";

    /**
     * The spark.kubernetes.* settings the README may use: each is in the Spark 4.1 documentation, "Running Spark on
     * Kubernetes" (docs/running-on-kubernetes.md: "Cluster Mode", "Namespaces", "RBAC"). Spark's Kubernetes module is
     * not on this build's classpath, so its registry cannot be asked.
     */
    static final Set<String> DOCUMENTED_KUBERNETES_KEYS = Set.of(
            "spark.kubernetes.container.image",
            "spark.kubernetes.namespace",
            "spark.kubernetes.authenticate.driver.serviceAccountName");

    /** The subsection's bash commands, continuation lines joined. */
    static List<String> commands() throws Exception {
        String readme = Files.readString(ROOT.resolve("README.md"));
        int from = readme.indexOf("\n### Kubernetes\n", readme.indexOf("## GPU clusters"));
        int to = readme.indexOf("\n## ", from + 1);
        assertTrue(from >= 0 && to > from, "README.md's GPU clusters section has a Kubernetes subsection");
        Matcher m = Pattern.compile("```bash\\n(.*?)```", Pattern.DOTALL).matcher(readme.substring(from, to));
        List<String> out = new ArrayList<>();
        while (m.find()) {
            for (String line : m.group(1).replace("\\\n", " ").split("\n")) {
                String cmd = line.trim().replaceAll(" +", " ");
                if (!cmd.isEmpty() && !cmd.startsWith("#")) {
                    out.add(cmd);
                }
            }
        }
        return out;
    }

    static List<String> words(String command) {
        return List.of(command.split(" "));
    }

    @Test
    void theCommandsAreTheCudaBuildTheImageBuildAndOneSubmit() throws Exception {
        List<String> commands = commands();
        assertEquals(3, commands.size(), "build, docker build, spark-submit: " + commands);
        assertEquals("mvn -Pcuda -DskipTests package", commands.get(0));
        // ReadmeGpuSectionTest checks that the cuda profile leaves the CPU libtorch out, and the Dockerfile refuses a
        // jar that has it.
        assertEquals("docker build -f docker/Dockerfile -t " + IMAGE + " .", commands.get(1));
        assertTrue(Files.isRegularFile(ROOT.resolve("docker/Dockerfile")));
        assertTrue(
                IMAGE.endsWith(
                        ":" + DockerfileTest.fullJarName().replaceAll("^radio-spark-jobs-(.*)-spark\\.jar$", "$1")),
                "the image is tagged with the project's version: " + IMAGE);
        assertTrue(commands.get(2).startsWith("spark-submit "), commands.get(2));
    }

    /**
     * scripts/submit.sh on a k8s:// master submits the jar in the image (local://, the name of the local build) and no
     * --files, which Kubernetes takes from the client only through spark.kubernetes.file.upload.path; elsewhere the
     * local jar and --files.
     */
    @Test
    void submitShOnKubernetesSubmitsTheJarInTheImageAndNoFiles(@TempDir Path tmp) throws Exception {
        Path scripts = Files.createDirectories(tmp.resolve("project/scripts"));
        Files.copy(ROOT.resolve("scripts/submit.sh"), scripts.resolve("submit.sh"));
        Path target = Files.createDirectories(tmp.resolve("project/jobs/target"));
        Files.writeString(target.resolve(DockerfileTest.fullJarName()), "");
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        Files.writeString(bin.resolve("spark-submit"), "#!/usr/bin/env bash\necho \"$*\"\n");
        assertTrue(bin.resolve("spark-submit").toFile().setExecutable(true));

        String k8s = submit(bin, scripts, "MASTER", "k8s://https://k8s:443", "IMAGE", IMAGE, "GPU", "1");
        assertTrue(k8s.contains(" local:///opt/radio/" + DockerfileTest.fullJarName() + " --input /in "), k8s);
        assertTrue(k8s.contains("--conf spark.kubernetes.container.image=" + IMAGE), k8s);
        assertTrue(!k8s.contains("--files"), k8s);
        String yarn = submit(bin, scripts, "MASTER", "yarn", "GPU", "1");
        assertTrue(yarn.contains(" " + target.resolve(DockerfileTest.fullJarName()) + " --input /in "), yarn);
        assertTrue(yarn.contains("--files " + scripts.getParent() + "/scripts/get-gpus-resources.sh,"), yarn);
    }

    static String submit(Path bin, Path scripts, String... env) throws Exception {
        return ConfFilesTest.submitWithFakeSparkSubmit(
                scripts.resolve("submit.sh"), bin, List.of("JAR", "MASTER", "GPU", "IMAGE", "DISCOVERY_SCRIPT"), env);
    }

    @Test
    void sparkSubmitReadsTheSubmitCommandAsTheImageNeedsIt() throws Exception {
        List<String> submit = new ArrayList<>(words(commands().get(2)));
        assertEquals("spark-submit", submit.remove(0));
        // The conf file as spark-submit reads it from the project's folder.
        int pf = submit.indexOf("--properties-file");
        assertEquals("conf/spark-defaults-gpu.conf", submit.get(pf + 1));
        submit.set(pf + 1, ROOT.resolve("conf/spark-defaults-gpu.conf").toString());

        SparkSubmitArguments args = new SparkSubmitArguments(
                CollectionConverters.asScala(submit).toList(),
                scala.collection.immutable.Map$.MODULE$.<String, String>empty());
        assertTrue(args.master().startsWith("k8s://https://"), args.master());
        assertEquals("cluster", args.deployMode());
        assertEquals("ai.radiospark.jobs.ExtractEmbeddings", args.mainClass());
        assertNotNull(Class.forName(args.mainClass()).getMethod("main", String[].class));
        // The jar and the discovery script where the Dockerfile copies them.
        assertEquals("local:///opt/radio/" + DockerfileTest.fullJarName(), args.primaryResource());
        Map<String, String> props = CollectionConverters.asJava(args.sparkProperties());
        assertEquals(IMAGE, props.get("spark.kubernetes.container.image"));
        assertTrue(
                DockerfileTest.args("COPY")
                        .contains("scripts/get-gpus-resources.sh "
                                + props.get("spark.executor.resource.gpu.discoveryScript")),
                props.get("spark.executor.resource.gpu.discoveryScript"));
        assertEquals("nvidia.com", props.get("spark.executor.resource.gpu.vendor"));
        // From the conf file: one GPU per executor, shared by 4 tasks; none for the driver.
        assertEquals("1", props.get("spark.executor.resource.gpu.amount"));
        assertEquals("0.25", props.get("spark.task.resource.gpu.amount"));
        assertEquals("0", props.get("spark.driver.resource.gpu.amount"));
        assertEquals("cu128", props.get("spark.executorEnv.PYTORCH_FLAVOR"));
        assertEquals("6g", props.get("spark.executor.memoryOverhead"));
        assertEquals("8g", props.get("spark.executor.memory"));

        // Every --conf key is a setting Spark has.
        Class.forName("org.apache.spark.internal.config.package$"); // registers core's settings
        Set<String> resourceSuffixes = Set.of(
                ResourceUtils$.MODULE$.AMOUNT(),
                ResourceUtils$.MODULE$.DISCOVERY_SCRIPT(),
                ResourceUtils$.MODULE$.VENDOR());
        Properties conf = DockerfileTest.gpuConf();
        int confs = 0;
        for (int i = 0; i < submit.size(); i++) {
            if (!submit.get(i).equals("--conf")) {
                continue;
            }
            String key = submit.get(i + 1).split("=", 2)[0];
            confs++;
            Matcher resource = Pattern.compile("spark\\.(executor|driver)\\.resource\\.gpu\\.(\\w+)")
                    .matcher(key);
            boolean known = ConfigEntry$.MODULE$.findEntry(key) != null
                    || (resource.matches() && resourceSuffixes.contains(resource.group(2)))
                    || DOCUMENTED_KUBERNETES_KEYS.contains(key);
            assertTrue(known, key + " is not a Spark setting");
            if (conf.containsKey(key)) {
                assertTrue(!conf.getProperty(key).equals(props.get(key)), key + " repeats the conf file's value");
            }
        }
        assertEquals(9, confs, "the --conf settings of the command");

        // The job's arguments are radio extract's options.
        List<String> job = new ArrayList<>(List.of("extract"));
        job.addAll(CollectionConverters.asJava(args.childArgs()));
        CommandLine.ParseResult parsed = new CommandLine(new RadioCli()).parseArgs(job.toArray(String[]::new));
        CommandLine.ParseResult extract = parsed.subcommand();
        assertEquals("extract", extract.commandSpec().name());
        assertEquals(List.of("bfloat16"), extract.matchedOption("--dtype").stringValues());
        assertEquals(List.of("64"), extract.matchedOption("--batch-size").stringValues());
        assertEquals(
                List.of("nvidia/C-RADIOv4-H"), extract.matchedOption("--model").stringValues());
    }
}
