package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The rules JarContents applies to the two jars in {@code verify}, on small jars made here. */
class JarContentsTest {
    @TempDir
    Path tmp;

    private Path jar(String name, String... entries) throws IOException {
        Path p = tmp.resolve(name);
        try (OutputStream out = Files.newOutputStream(p);
                ZipOutputStream z = new ZipOutputStream(out)) {
            for (String e : entries) {
                z.putNextEntry(new ZipEntry(e));
                z.write(1);
                z.closeEntry();
            }
        }
        return p;
    }

    private static final String[] OURS = {
        "ai/radiospark/jobs/RadioCli.class",
        "ai/djl/pytorch/engine/PtEngine.class",
        "pytorch/cpu/linux-x86_64/libtorch_cpu.so"
    };

    private JarContents.Dependencies deps() throws IOException {
        Path spark = jar("spark-core.jar", "org/apache/spark/SparkContext.class", "scala/Option.class");
        Path delta =
                jar("delta-spark.jar", "org/apache/spark/sql/delta/DeltaLog.class", "io/delta/tables/DeltaTable.class");
        Path list = tmp.resolve("dependencies.txt");
        Files.write(
                list,
                List.of(
                        "The following files have been resolved:",
                        "   org.apache.spark:spark-core_2.13:jar:4.1.0:provided:" + spark + " -- module spark.core",
                        "   io.delta:delta-spark_2.13:jar:4.1.0:compile:" + delta,
                        "   ai.djl.pytorch:pytorch-native-cpu:jar:linux-x86_64:2.7.1:compile:"
                                + tmp.resolve("absent.jar")));
        return JarContents.Dependencies.read(list);
    }

    private static String[] with(String... more) {
        String[] all = new String[OURS.length + more.length];
        System.arraycopy(OURS, 0, all, 0, OURS.length);
        System.arraycopy(more, 0, all, OURS.length, more.length);
        return all;
    }

    @Test
    void theDependencyListIsReadByScope() throws IOException {
        JarContents.Dependencies d = deps();
        assertEquals(Set.of("org/apache/spark/SparkContext.class", "scala/Option.class"), d.providedClasses());
        assertEquals(
                Set.of("org/apache/spark/sql/delta/DeltaLog.class", "io/delta/tables/DeltaTable.class"),
                d.deltaClasses());
    }

    @Test
    void aFullJarWithDeltaPassesAndThePlatformJarMustNotHaveIt() throws IOException {
        Path full =
                jar("full.jar", with("org/apache/spark/sql/delta/DeltaLog.class", "io/delta/tables/DeltaTable.class"));
        StringBuilder report = new StringBuilder();
        assertEquals(List.of(), JarContents.check(full, false, true, deps(), report));
        assertTrue(report.toString().contains("org.apache.spark"), report.toString());

        List<String> problems = JarContents.check(full, true, true, deps(), new StringBuilder());
        assertEquals(2, problems.size(), problems.toString());
        assertTrue(problems.get(0).contains("1 classes in Spark's package that are not allowed in the platform jar"));
        assertTrue(problems.get(1).contains("is the platform jar but has 1 Delta or Unity Catalog classes"));
    }

    @Test
    void sparksOwnClassesAreRefusedInEitherJar() throws IOException {
        Path bad = jar("bad.jar", with("org/apache/spark/SparkContext.class", "scala/Option.class"));
        List<String> problems = JarContents.check(bad, false, true, deps(), new StringBuilder());
        assertEquals(2, problems.size(), problems.toString());
        assertTrue(
                problems.get(0)
                        .startsWith("bad.jar has 2 classes that Spark's own jars also have, e.g. "
                                + "org/apache/spark/SparkContext.class"),
                problems.get(0));
        assertTrue(problems.get(1).contains("not Delta's, e.g. org/apache/spark/SparkContext.class"));
    }

    @Test
    void theEntryPointAndTheCpuLibtorchAreRequired() throws IOException {
        Path empty = jar("empty.jar", "ai/radiospark/Other.class");
        List<String> problems = JarContents.check(empty, false, true, deps(), new StringBuilder());
        assertEquals(
                List.of(
                        "empty.jar lacks ai/radiospark/jobs/RadioCli.class",
                        "empty.jar lacks ai/djl/pytorch/engine/PtEngine.class",
                        "empty.jar has no libtorch for the CPU (pytorch-native-cpu)"),
                problems);
        // A -Pcuda build leaves the CPU libtorch out on purpose.
        assertEquals(
                2,
                JarContents.check(empty, false, false, deps(), new StringBuilder())
                        .size());
    }
}
