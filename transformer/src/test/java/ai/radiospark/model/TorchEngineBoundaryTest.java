package ai.radiospark.model;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * DJL's PyTorch internals ({@code JniUtils}, {@code IValue}, {@code Pt*}) are called from one class,
 * {@link TorchEngine}: no other class of the model, bench, image, hub, runtime or ml packages reaches
 * {@code ai.djl.pytorch} directly. Checked with ArchUnit on the compiled main classes.
 */
class TorchEngineBoundaryTest {
    static final JavaClasses MAIN = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
            .importPackages("ai.radiospark");

    @Test
    void onlyTorchEngineCallsDjlPytorch() {
        noClasses()
                .that()
                .resideInAnyPackage(
                        "ai.radiospark.model..",
                        "ai.radiospark.bench..",
                        "ai.radiospark.image..",
                        "ai.radiospark.hub..",
                        "ai.radiospark.runtime..",
                        "ai.radiospark.ml..")
                .and()
                .doNotBelongToAnyOf(TorchEngine.class)
                .should()
                .dependOnClassesThat()
                .resideInAPackage("ai.djl.pytorch..")
                .because("engine calls live in ai.radiospark.model.TorchEngine")
                .check(MAIN);
    }

    /** The rule sees what it guards: TorchEngine's own calls into ai.djl.pytorch are visible. */
    @Test
    void importSeesTheEngineCalls() {
        assertTrue(MAIN.get(TorchEngine.class).getDirectDependenciesFromSelf().stream()
                .anyMatch(d -> d.getTargetClass().getPackageName().startsWith("ai.djl.pytorch")));
        assertTrue(MAIN.contain("ai.radiospark.bench.RadioBenchmark"));
        assertTrue(MAIN.contain("ai.radiospark.model.RadioModel"));
    }
}
