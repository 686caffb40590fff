package ai.radiospark;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import org.junit.jupiter.api.Test;

/**
 * The pure core stays pure: every package of this module except {@code ai.radiospark.ml} (model, image, hub,
 * runtime, bench, the root package, and any package added later) reaches nothing of Spark or Scala, by any route,
 * so that it can be used (and tested) without them; only {@code ai.radiospark.ml} adapts the core to Spark. Checked on
 * the compiled main classes with ArchUnit: a fully qualified name or a call through an {@code ml} class counts
 * as much as an import.
 */
class ArchitectureTest {
    /** The Spark adapters of this module; everything else under ai.radiospark is core. */
    static final String SPARK_SIDE = "ai.radiospark.ml..";

    static final JavaClasses MAIN = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
            .importPackages("ai.radiospark");

    @Test
    void coreReachesNothingOfSparkOrScala() {
        ArchRule rule = noClasses()
                .that()
                .resideInAPackage("ai.radiospark..")
                .and()
                .resideOutsideOfPackage(SPARK_SIDE)
                .should()
                .transitivelyDependOnClassesThat()
                .resideInAnyPackage("org.apache.spark..", "scala..")
                .because("the core (model, image, hub, runtime, bench) must run without Spark; only " + SPARK_SIDE
                        + " adapts it to Spark");
        rule.check(MAIN);
    }

    /** The rule above sees the classes it guards (an empty import would pass any rule). */
    @Test
    void importSeesTheCoreAndTheSparkSide() {
        for (String name : new String[] {
            "ai.radiospark.model.RadioModel",
            "ai.radiospark.image.ImageDecoder",
            "ai.radiospark.hub.ModelResolver",
            "ai.radiospark.bench.RadioBenchmark",
            "ai.radiospark.Cosine",
            "ai.radiospark.runtime.DecodeAhead",
            "ai.radiospark.runtime.ExecutorModelCache",
            "ai.radiospark.runtime.ForwardThreads",
            "ai.radiospark.runtime.FeaturesMode",
            "ai.radiospark.runtime.Half",
            "ai.radiospark.runtime.PixelSource",
            "ai.radiospark.runtime.DefaultPixelSource",
            "ai.radiospark.runtime.ModelSource",
            "ai.radiospark.ml.RadioEmbedder"
        }) {
            assertTrue(MAIN.contain(name), name + " not imported");
        }
        assertTrue(
                MAIN.get("ai.radiospark.ml.RadioEmbedder").getDirectDependenciesFromSelf().stream()
                        .anyMatch(d -> d.getTargetClass().getPackageName().startsWith("org.apache.spark")),
                "the Spark side's dependencies on Spark are visible");
    }
}
