package ai.radiospark.jobs;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Option defaults from a properties file, so a scheduled job's settings live in one reviewed file
 * ({@code conf/radio-defaults.properties}): key {@code radio.<option>}, for example
 * {@code radio.batch-size = 32} for {@code --batch-size}. The file is the one named by
 * {@code -Dradio.conf} or {@code $RADIO_CONF}, else {@code conf/radio-defaults.properties} in the
 * working directory when it exists. Command-line options win over the file; the file wins over
 * the built-in defaults.
 */
public final class RadioDefaults implements IDefaultValueProvider {
    private final Properties props = load();

    static Properties load() {
        Properties p = new Properties();
        String name = System.getProperty("radio.conf", System.getenv("RADIO_CONF"));
        Path file = name != null ? Path.of(name) : Path.of("conf", "radio-defaults.properties");
        if (name != null && !Files.isRegularFile(file)) {
            throw new ai.radiospark.RadioException(
                    "The defaults file " + file + " (from radio.conf / RADIO_CONF) does not "
                            + "exist. Point it at a properties file such as conf/radio-defaults.properties, or unset it.");
        }
        if (Files.isRegularFile(file)) {
            try (InputStream in = Files.newInputStream(file)) {
                p.load(in);
            } catch (IOException e) {
                throw new ai.radiospark.RadioException(
                        "Cannot read the defaults file " + file + ": " + e.getMessage(), e);
            }
        }
        return p;
    }

    @Override
    public String defaultValue(ArgSpec arg) {
        if (arg instanceof OptionSpec option) {
            String key = "radio." + option.longestName().replaceFirst("^-+", "");
            String v = props.getProperty(key);
            return v == null ? null : v.trim();
        }
        return null;
    }
}
