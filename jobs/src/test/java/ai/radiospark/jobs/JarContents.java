package ai.radiospark.jobs;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Lists and checks what the two jars of the jobs module hold (README, "Managed platforms"); run by
 * the build in {@code verify}, once the jars exist, and its rules tested by {@code JarContentsTest}.
 *
 * <ul>
 *   <li>Neither jar holds Scala, Spark or the logging and Jackson that Spark brings: no class that
 *       one of the build's {@code provided} jars (Spark's runtime) also has.
 *   <li>The full jar's classes under {@code org/apache/spark/} are Delta's own (Delta puts its code
 *       in Spark's package) and nothing else.
 *   <li>The platform jar holds no Delta, Unity Catalog client or Spark-package class at all.
 *   <li>Both hold the command-line entry point and, unless built with {@code -Pcuda} (whose
 *       libtorch DJL loads at run time), libtorch for the CPU.
 * </ul>
 *
 * <pre>{@code
 * java -cp jobs/target/test-classes ai.radiospark.jobs.JarContents FULL.jar PLATFORM.jar DEPENDENCIES.txt REPORT.txt [cpuLibtorch]
 * }</pre>
 *
 * {@code DEPENDENCIES.txt} is {@code mvn dependency:list -DoutputAbsoluteArtifactFilename=true}'s
 * output; the report lists each jar's size and its classes by package group.
 */
public final class JarContents {
    private JarContents() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 4 && args.length != 5) {
            System.err.println("usage: JarContents FULL.jar PLATFORM.jar DEPENDENCIES.txt REPORT.txt [cpuLibtorch]");
            System.exit(2);
        }
        boolean cpuLibtorch = args.length < 5 || Boolean.parseBoolean(args[4]);
        Dependencies deps = Dependencies.read(Path.of(args[2]));
        List<String> problems = new ArrayList<>();
        StringBuilder report = new StringBuilder();
        problems.addAll(check(Path.of(args[0]), false, cpuLibtorch, deps, report));
        problems.addAll(check(Path.of(args[1]), true, cpuLibtorch, deps, report));
        Files.writeString(Path.of(args[3]), report, StandardCharsets.UTF_8);
        PrintStream out = System.out;
        out.print(report);
        if (!problems.isEmpty()) {
            problems.forEach(p -> System.err.println("JarContents: " + p));
            System.exit(1);
        }
        out.println("JarContents: both jars pass (report: " + args[3] + ")");
    }

    /** The build's jars by scope: Spark's runtime ({@code provided}) and Delta's ({@code io.delta}). */
    record Dependencies(Set<String> providedClasses, Set<String> deltaClasses) {
        static Dependencies read(Path list) throws IOException {
            Set<String> provided = new HashSet<>();
            Set<String> delta = new HashSet<>();
            for (String line : Files.readAllLines(list)) {
                String l = line.trim();
                int jar = l.indexOf(".jar");
                if (jar < 0) {
                    continue;
                }
                String[] parts = l.substring(0, jar + 4).split(":");
                if (parts.length < 6) {
                    continue;
                }
                // group:artifact:type[:classifier]:version:scope:/path/to.jar
                String scope = parts[parts.length - 2];
                Path file = Path.of(parts[parts.length - 1]);
                if (scope.equals("provided")) {
                    provided.addAll(classes(file));
                } else if (parts[0].equals("io.delta")) {
                    delta.addAll(classes(file));
                }
            }
            return new Dependencies(provided, delta);
        }
    }

    /** The problems of {@code jar} (none: it passes); appends its listing to {@code report}. */
    static List<String> check(Path jar, boolean platform, boolean cpuLibtorch, Dependencies deps, StringBuilder report)
            throws IOException {
        List<String> problems = new ArrayList<>();
        Set<String> entries = entries(jar);
        String name = jar.getFileName().toString();
        Map<String, Integer> groups = new TreeMap<>();
        for (String e : entries) {
            if (e.endsWith(".class")) {
                groups.merge(group(e), 1, Integer::sum);
            }
        }
        report.append(String.format(
                "%s: %,d bytes, %,d entries, %,d classes%n",
                name,
                Files.size(jar),
                entries.size(),
                groups.values().stream().mapToInt(i -> i).sum()));
        groups.forEach((g, n) -> report.append(String.format("  %6d  %s%n", n, g)));

        Set<String> clash = new TreeSet<>();
        Set<String> sparkPackage = new TreeSet<>();
        Set<String> delta = new TreeSet<>();
        for (String e : entries) {
            if (!e.endsWith(".class") || e.startsWith("META-INF/")) {
                continue;
            }
            if (deps.providedClasses().contains(e)) {
                clash.add(e);
            }
            if (e.startsWith("org/apache/spark/")
                    && (platform || !deps.deltaClasses().contains(e))) {
                sparkPackage.add(e);
            }
            if (platform && (e.startsWith("io/delta/") || e.startsWith("io/unitycatalog/"))) {
                delta.add(e);
            }
        }
        if (!clash.isEmpty()) {
            problems.add(name + " has " + clash.size() + " classes that Spark's own jars also have, e.g. "
                    + first(clash) + ": mark their artifact provided or exclude it from the shade");
        }
        if (!sparkPackage.isEmpty()) {
            problems.add(name + " has " + sparkPackage.size() + " classes in Spark's package that are "
                    + (platform ? "not allowed in the platform jar" : "not Delta's") + ", e.g. "
                    + first(sparkPackage));
        }
        if (!delta.isEmpty()) {
            problems.add(name + " is the platform jar but has " + delta.size()
                    + " Delta or Unity Catalog classes, e.g. " + first(delta));
        }
        for (String required : List.of("ai/radiospark/jobs/RadioCli.class", "ai/djl/pytorch/engine/PtEngine.class")) {
            if (!entries.contains(required)) {
                problems.add(name + " lacks " + required);
            }
        }
        if (cpuLibtorch && !entries.contains("pytorch/cpu/linux-x86_64/libtorch_cpu.so")) {
            problems.add(name + " has no libtorch for the CPU (pytorch-native-cpu)");
        }
        return problems;
    }

    /** A class's package group for the listing: its first three path parts (two for short ones). */
    static String group(String entry) {
        String[] p = entry.split("/");
        int n = Math.min(p.length - 1, 3);
        return n <= 0 ? "(root)" : String.join(".", java.util.Arrays.copyOf(p, n));
    }

    private static String first(Set<String> s) {
        return s.iterator().next();
    }

    static Set<String> entries(Path jar) throws IOException {
        Set<String> out = new TreeSet<>();
        try (ZipFile z = new ZipFile(jar.toFile())) {
            z.stream().map(ZipEntry::getName).forEach(out::add);
        }
        return out;
    }

    private static Set<String> classes(Path jar) throws IOException {
        Set<String> out = new HashSet<>();
        if (!Files.isRegularFile(jar)) {
            return out;
        }
        try (ZipFile z = new ZipFile(jar.toFile())) {
            z.stream()
                    .map(ZipEntry::getName)
                    .filter(n -> n.endsWith(".class") && !n.startsWith("META-INF/"))
                    .forEach(out::add);
        }
        return out;
    }
}
