package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** A model is recorded by where it is, so that a table's model resolves the same from any folder. */
class ModelOptionTest {
    static final Path TINY =
            Path.of("../samples/model-tiny-random").toAbsolutePath().normalize();

    @Test
    void aRelativeDirectoryIsQualifiedAbsoluteAndAHubIdGetsItsRevision() {
        assertEquals("file:" + TINY, ModelOption.qualified("../samples/model-tiny-random"));
        assertEquals("file:" + TINY, ModelOption.qualified("../samples/../samples/model-tiny-random/"));
        assertEquals("hub:nvidia/C-RADIOv4-H@main", ModelOption.qualified("nvidia/C-RADIOv4-H"));
        assertEquals("hub:nvidia/C-RADIOv4-H@v1.0", ModelOption.qualified("nvidia/C-RADIOv4-H@v1.0"));
        assertEquals("hub:nvidia/C-RADIOv4-H@main", ModelOption.qualified("hub:nvidia/C-RADIOv4-H@main"));
    }

    @Test
    void qualifiedValuesGoBackToWhatTheResolverTakes() {
        assertEquals(TINY.toString(), ModelOption.forResolver(ModelOption.qualified("../samples/model-tiny-random")));
        assertEquals(TINY.toString(), ModelOption.forResolver("file://" + TINY));
        assertEquals("nvidia/C-RADIOv4-H@main", ModelOption.forResolver("hub:nvidia/C-RADIOv4-H@main"));
        assertEquals("nvidia/C-RADIOv4-H", ModelOption.forResolver("nvidia/C-RADIOv4-H"));
    }

    @Test
    void extractRecordsARelativeModelAsItsQualifiedDirectory() {
        ExtractCommand cmd = new ExtractCommand();
        new CommandLine(cmd)
                .parseArgs(
                        "--input",
                        "../samples/images",
                        "--output",
                        "/tmp/radio-model-option-test",
                        "--model",
                        "../samples/model-tiny-random");
        assertEquals("file:" + TINY, cmd.options().model());
    }
}
