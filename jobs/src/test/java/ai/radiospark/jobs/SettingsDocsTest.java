package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.radiospark.runtime.EmbeddingSettings.Setting;
import ai.radiospark.sql.RadioFunctions;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The documentation of the embedding settings says what their descriptors ({@link Setting}) say:
 * the README's option table of {@code radio extract}, its list of RadioEmbedder's parameters and
 * of the SQL options, {@code radio extract --help}, and conf/radio-defaults.properties.
 */
class SettingsDocsTest {
    private static final Path ROOT = ReadmeSnippetsTest.ROOT;

    private static String readme() throws Exception {
        return Files.readString(ROOT.resolve("README.md"));
    }

    /** The README's table of extract options: each setting's row, with its default (or "required"). */
    @Test
    void readmeExtractTableHasEveryOptionWithItsDefault() throws Exception {
        String readme = readme();
        for (Setting s : Setting.values()) {
            Matcher row = Pattern.compile(
                            "(?m)^\\| `" + Pattern.quote(s.option()) + "[ `][^|]*(?:\\\\\\|[^|]*)*\\| ([^|]*) \\|")
                    .matcher(readme);
            assertTrue(row.find(), "README.md has no row for " + s.option() + " in the extract options table");
            assertEquals(
                    s.defaultValue() == null ? "required" : s.defaultValue(),
                    row.group(1).trim(),
                    s.option());
        }
    }

    /** The README's list of RadioEmbedder's parameters: each setting's param, with its default. */
    @Test
    void readmeParamListHasEveryParamWithItsDefault() throws Exception {
        String list = section(readme(), "RadioEmbedder's parameters:", "### SQL");
        for (Setting s : Setting.values()) {
            assertTrue(list.contains("`" + s.param() + "`"), "README.md's parameter list lacks " + s.param());
            if (s.defaultValue() != null) {
                Matcher m = Pattern.compile("`" + s.param() + "` \\(([^);:]+)").matcher(list);
                assertTrue(m.find(), "README.md's parameter list gives no default for " + s.param());
                assertEquals(s.defaultValue(), m.group(1).replace(",", ""), s.param());
            }
        }
    }

    /** The README's SQL options: every setting the SQL functions take, and no other. */
    @Test
    void readmeSqlOptionsAreTheSqlSettings() throws Exception {
        String sentence =
                section(readme(), "Options are\nnamed like RadioEmbedder's parameters:", "The model is loaded");
        for (Setting s : Setting.values()) {
            assertEquals(s.sql(), sentence.contains("`" + s.param() + "`"), s.param());
            assertEquals(s.sql(), RadioFunctions.OPTIONS.contains(s.param()), s.param());
        }
    }

    /** {@code radio extract --help}: each setting's option, its doc and its default. */
    @Test
    void extractHelpHasEveryOptionWithItsDocAndDefault() {
        // picocli wraps lines at spaces and after punctuation: compared without white space.
        String help = new CommandLine(new ExtractCommand())
                .getUsageMessage(CommandLine.Help.Ansi.OFF)
                .replaceAll("\\s+", "");
        for (Setting s : Setting.values()) {
            String expected = s.option() + "=" + s.label()
                    + ExtractCommand.SettingOptions.help(s)
                            .replace("${DEFAULT-VALUE}", String.valueOf(s.defaultValue()));
            assertTrue(help.contains(expected.replaceAll("\\s+", "")), expected + " in " + help);
        }
    }

    /** conf/radio-defaults.properties, which shows the built-in defaults, shows the descriptors'. */
    @Test
    void defaultsFileShowsTheBuiltInDefaults() throws Exception {
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(ROOT.resolve("conf/radio-defaults.properties"))) {
            p.load(in);
        }
        int shown = 0;
        for (Setting s : Setting.values()) {
            String v = p.getProperty("radio." + s.option().substring(2));
            if (v != null) {
                assertEquals(s.defaultValue(), v.trim(), s.option());
                shown++;
            }
        }
        assertEquals(
                7,
                shown,
                "size, resize-mode, batch-size, device, dtype, features, features-type: "
                        + p.stringPropertyNames().stream().sorted().collect(Collectors.joining(", ")));
    }

    private static String section(String text, String from, String to) {
        int i = text.indexOf(from);
        assertTrue(i >= 0, "README.md has no \"" + from + "\"");
        int j = text.indexOf(to, i);
        assertTrue(j > i, "README.md has no \"" + to + "\" after \"" + from + "\"");
        return text.substring(i, j).replaceAll("\\s+", " ");
    }
}
