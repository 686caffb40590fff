package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * docker/Dockerfile, which cannot be built here (no Docker, GPU or network), read as text: its pinned versions and
 * paths are those of the build (pom.xml), of the DJL and pytorch-jni jars on this classpath, of
 * conf/spark-defaults-gpu.conf and of scripts/submit.sh, and the files it copies exist. A version changed in the pom
 * without the Dockerfile fails here.
 */
class DockerfileTest {
    static final Path ROOT = ReadmeSnippetsTest.ROOT;

    /** The Dockerfile's instructions, continuation lines joined, comments left out: {keyword, arguments}. */
    static List<String[]> instructions() throws IOException {
        String text = Files.readString(ROOT.resolve("docker/Dockerfile"));
        List<String[]> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (String line : text.split("\n")) {
            String t = line.strip();
            if (t.startsWith("#") || (t.isEmpty() && cur.length() == 0)) {
                continue;
            }
            if (t.endsWith("\\")) {
                cur.append(t, 0, t.length() - 1).append(' ');
                continue;
            }
            cur.append(t);
            String ins = cur.toString().strip();
            cur.setLength(0);
            if (!ins.isEmpty()) {
                int sp = ins.indexOf(' ');
                out.add(new String[] {
                    ins.substring(0, sp), ins.substring(sp + 1).strip()
                });
            }
        }
        return out;
    }

    static List<String> args(String keyword) throws IOException {
        return instructions().stream()
                .filter(i -> i[0].equals(keyword))
                .map(i -> i[1])
                .toList();
    }

    /** ARG and ENV values, ENV's with the ARGs (and earlier ENVs) substituted, as Docker does. */
    static Map<String, String> variables() throws IOException {
        Map<String, String> vars = new LinkedHashMap<>();
        for (String[] ins : instructions()) {
            if (ins[0].equals("ARG")) {
                String[] kv = ins[1].split("=", 2);
                assertEquals(2, kv.length, "ARG " + ins[1] + " has no pinned default");
                vars.put(kv[0], kv[1]);
            } else if (ins[0].equals("ENV")) {
                Map<String, String> before = new LinkedHashMap<>(vars);
                for (String pair : ins[1].split("\\s+")) {
                    String[] kv = pair.split("=", 2);
                    assertEquals(2, kv.length, "ENV " + pair + " is not NAME=value");
                    vars.put(kv[0], substitute(kv[1], before));
                }
            }
        }
        return vars;
    }

    static String substitute(String value, Map<String, String> vars) {
        Matcher m = Pattern.compile("\\$\\{(\\w+)}").matcher(value);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String v = vars.get(m.group(1));
            assertNotNull(v, "${" + m.group(1) + "} is not defined before " + value);
            m.appendReplacement(out, Matcher.quoteReplacement(v));
        }
        return m.appendTail(out).toString();
    }

    static String pomProperty(String name) throws IOException {
        Matcher m = Pattern.compile("<" + Pattern.quote(name) + ">([^<]+)</")
                .matcher(Files.readString(ROOT.resolve("pom.xml")));
        assertTrue(m.find(), "pom.xml has no property " + name);
        return m.group(1).strip();
    }

    /** The full jar's name as the jobs module builds it: artifactId-version-classifier.jar. */
    static String fullJarName() throws IOException {
        Matcher version = Pattern.compile("<artifactId>radio-spark-parent</artifactId>\\s*<version>([^<]+)</version>")
                .matcher(Files.readString(ROOT.resolve("pom.xml")));
        assertTrue(version.find(), "the parent pom's version");
        String jobs = Files.readString(ROOT.resolve("jobs/pom.xml"));
        Matcher artifact =
                Pattern.compile("</parent>\\s*<artifactId>([^<]+)</artifactId>").matcher(jobs);
        assertTrue(artifact.find(), "jobs/pom.xml's artifactId");
        Matcher classifier = Pattern.compile(
                        "<id>spark-jar</id>.*?<shadedClassifierName>([^<]+)</shadedClassifierName>", Pattern.DOTALL)
                .matcher(jobs);
        assertTrue(classifier.find(), "jobs/pom.xml's spark-jar execution");
        return artifact.group(1) + "-" + version.group(1) + "-" + classifier.group(1) + ".jar";
    }

    static Properties resource(String name) throws IOException {
        try (InputStream in = DockerfileTest.class.getClassLoader().getResourceAsStream(name)) {
            assertNotNull(in, name + " is not on the classpath");
            Properties p = new Properties();
            p.load(in);
            return p;
        }
    }

    static Properties gpuConf() throws IOException {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(ROOT.resolve("conf/spark-defaults-gpu.conf"))) {
            p.load(r);
        }
        return p;
    }

    @Test
    void theBaseImageIsTheOfficialSparkImageOfThePomsSparkScalaAndJava() throws Exception {
        List<String> from = args("FROM");
        assertEquals(
                List.of("apache/spark:" + pomProperty("spark.version") + "-scala" + pomProperty("scala.binary.version")
                        + "-java" + pomProperty("maven.compiler.release") + "-ubuntu"),
                from);
    }

    @Test
    void libtorchAndTheJniAreThoseOfThePomAndTheGpuConf() throws Exception {
        Map<String, String> v = variables();
        Properties conf = gpuConf();
        assertEquals(pomProperty("djl.version"), v.get("DJL_VERSION"));
        assertEquals(pomProperty("pytorch.version"), v.get("PYTORCH_VERSION"));
        assertEquals(conf.getProperty("spark.executorEnv.PYTORCH_VERSION"), v.get("PYTORCH_VERSION"));
        assertEquals(conf.getProperty("spark.executorEnv.PYTORCH_FLAVOR"), v.get("PYTORCH_FLAVOR"));
        assertEquals("cu128", v.get("PYTORCH_FLAVOR"));
        // The jars on this classpath: DJL's engine (its version, the libtorch it wants) and pytorch-jni (whose
        // jni_version the image checks, and whose cu128 JNI library it extracts).
        Properties engine = resource("pytorch-engine.properties");
        assertEquals(engine.getProperty("djl_version"), v.get("DJL_VERSION"));
        assertEquals(engine.getProperty("pytorch_version"), v.get("PYTORCH_VERSION"));
        assertEquals(
                v.get("PYTORCH_VERSION") + "-" + v.get("DJL_VERSION"),
                resource("jnilib/pytorch.properties").getProperty("jni_version"));
        String jni = "jnilib/" + pomProperty("pytorch.native.classifier") + "/" + v.get("PYTORCH_FLAVOR")
                + "/libdjl_torch.so";
        assertNotNull(DockerfileTest.class.getClassLoader().getResource(jni), jni + " is not in pytorch-jni");
        String run = String.join("\n", args("RUN"));
        assertTrue(run.contains("jnilib/linux-x86_64/${PYTORCH_FLAVOR}/libdjl_torch.so"), run);
        assertTrue(run.contains("grep -qx \"jni_version=${PYTORCH_VERSION}-${DJL_VERSION}\""), run);
        assertTrue(run.contains("\"${PYTORCH_LIBRARY_PATH}/${DJL_VERSION}-libdjl_torch.so\""), run);
        assertTrue(run.contains("https://publish.djl.ai/pytorch/${PYTORCH_VERSION}"), run);
        // DJL's cache layout (ENGINE_CACHE_DIR/pytorch/VERSION-FLAVOR-CLASSIFIER), where PYTORCH_LIBRARY_PATH points.
        assertEquals(
                v.get("ENGINE_CACHE_DIR") + "/pytorch/" + pomProperty("pytorch.version") + "-cu128-"
                        + pomProperty("pytorch.native.classifier"),
                v.get("PYTORCH_LIBRARY_PATH"));
        assertEquals(pomProperty("pytorch.version"), v.get("PYTORCH_VERSION"));
        assertEquals(conf.getProperty("spark.executorEnv.CUDA_DEVICE_ORDER"), v.get("CUDA_DEVICE_ORDER"));
        assertEquals("PCI_BUS_ID", v.get("CUDA_DEVICE_ORDER"));
        assertEquals("compute,utility", v.get("NVIDIA_DRIVER_CAPABILITIES"));
    }

    @Test
    void theImageHoldsTheFullJarOfThisVersionTheDiscoveryScriptAndTheLogConfiguration() throws Exception {
        String jar = fullJarName();
        assertEquals("jobs/target/" + jar, variables().get("RADIO_JAR"));
        Map<String, String> copies = new LinkedHashMap<>();
        for (String c : args("COPY")) {
            String[] parts = c.split("\\s+");
            assertEquals(2, parts.length, "COPY " + c);
            copies.put(parts[0], parts[1]);
        }
        assertEquals(
                Map.of(
                        "${RADIO_JAR}", "/opt/radio/" + jar,
                        "scripts/get-gpus-resources.sh", "/opt/radio/get-gpus-resources.sh",
                        "conf/log4j2.properties", "/opt/spark/work-dir/log4j2.properties"),
                copies);
        for (String source : copies.keySet()) {
            if (!source.startsWith("$")) {
                assertTrue(Files.isRegularFile(ROOT.resolve(source)), source + " is not in the repository");
            }
        }
        String run = String.join("\n", args("RUN"));
        assertTrue(run.contains("jar=\"/opt/radio/" + jar + "\""), run);
        assertTrue(run.contains("chmod 0755 /opt/radio/get-gpus-resources.sh"), run);
        // scripts/submit.sh points Kubernetes executors at the image's discovery script.
        assertTrue(Files.readString(ROOT.resolve("scripts/submit.sh"))
                .contains("${DISCOVERY_SCRIPT:-/opt/radio/get-gpus-resources.sh}"));
        // The conf files' relative log configuration resolves in the pods' working folder.
        assertTrue(gpuConf()
                .getProperty("spark.executor.extraJavaOptions")
                .contains("-Dlog4j2.configurationFile=log4j2.properties "));
        assertEquals(List.of("root", "spark"), args("USER"));
    }

    @Test
    void everyVersionIsPinned() throws Exception {
        for (String from : args("FROM")) {
            assertTrue(from.matches("[\\w./-]+:\\d+\\.\\d+\\.\\d+-[\\w.-]+"), "FROM " + from + " has no pinned tag");
            assertFalse(from.contains("latest"), from);
        }
        for (Map.Entry<String, String> e : variables().entrySet()) {
            if (e.getKey().endsWith("_VERSION")) {
                assertTrue(e.getValue().matches("\\d+\\.\\d+\\.\\d+"), e.getKey() + "=" + e.getValue());
            }
        }
    }
}
