package ai.radiospark.model;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The golden folder of transformer's test resources, found on the test classpath: the module's own
 * target/test-classes, or the transformer test-jar that udf and jobs depend on (test scope). In a jar it is
 * copied once per JVM to a temporary folder (deleted at exit), since the tests open its files by path.
 * {@code -Dradio.golden.dir=FOLDER} still wins.
 */
public final class GoldenResources {
    private static final String MARKER = "golden/README.md";
    private static Path dir;

    private GoldenResources() {}

    /** The golden folder (absolute), as a directory on the file system. */
    public static synchronized Path dir() {
        if (dir == null) {
            String prop = System.getProperty("radio.golden.dir");
            dir = prop != null ? Path.of(prop).toAbsolutePath().normalize() : fromClasspath();
            if (!Files.isDirectory(dir)) {
                throw new IllegalStateException("golden data not found at " + dir);
            }
        }
        return dir;
    }

    private static Path fromClasspath() {
        URL url = GoldenResources.class.getClassLoader().getResource(MARKER);
        if (url == null) {
            throw new IllegalStateException(MARKER + " is not on the test classpath: add the dependency "
                    + "ai.radiospark:radio-spark-transformer with <type>test-jar</type> and <scope>test</scope>");
        }
        try {
            if ("file".equals(url.getProtocol())) {
                return Path.of(url.toURI()).getParent();
            }
            if (!"jar".equals(url.getProtocol())) {
                throw new IllegalStateException("golden data in an unsupported location: " + url);
            }
            Path jar = Path.of(
                    ((JarURLConnection) url.openConnection()).getJarFileURL().toURI());
            Path out = Files.createTempDirectory("radio-golden");
            try (FileSystem fs = FileSystems.newFileSystem(jar)) {
                Path root = fs.getPath("/golden");
                try (Stream<Path> files = Files.walk(root)) {
                    for (Path p : (Iterable<Path>) files::iterator) {
                        Path target = out.resolve(root.relativize(p).toString());
                        if (Files.isDirectory(p)) {
                            Files.createDirectories(target);
                        } else {
                            Files.copy(p, target);
                        }
                    }
                }
            }
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(out)));
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> files = Files.walk(root)) {
            List<Path> all = files.sorted(Comparator.reverseOrder()).toList();
            for (Path p : all) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // A temporary folder: left for the system to clean.
        }
    }
}
