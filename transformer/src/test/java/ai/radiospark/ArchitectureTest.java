package ai.radiospark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The pure core stays pure: the model, image and hub packages import nothing from Spark, so that
 * they can be used (and tested) without it; only {@code ai.radiospark.ml} adapts them to Spark.
 */
class ArchitectureTest {
  @Test
  void coreCodeImportsNothingFromSpark() throws IOException {
    Path root = Path.of("src/main/java/ai/radiospark");
    List<String> offenders;
    try (Stream<Path> files = Stream.of("model", "image", "hub", "bench").map(root::resolve).filter(Files::isDirectory)
        .flatMap(ArchitectureTest::walk)) {
      offenders = files.filter(p -> p.toString().endsWith(".java")).filter(ArchitectureTest::importsSpark)
          .map(Path::toString).sorted().toList();
    }
    assertEquals(List.of(), offenders, "core classes that import org.apache.spark or scala");
  }

  private static Stream<Path> walk(Path dir) {
    try {
      return Files.walk(dir);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static boolean importsSpark(Path file) {
    try {
      return Files.readAllLines(file).stream().map(String::trim)
          .anyMatch(l -> l.startsWith("import org.apache.spark") || l.startsWith("import scala."));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
