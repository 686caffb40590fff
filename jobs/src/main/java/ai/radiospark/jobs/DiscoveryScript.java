package ai.radiospark.jobs;

import ai.radiospark.RadioException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a Spark GPU discovery script ({@code spark.executor.resource.gpu.discoveryScript}) as Spark
 * would, for {@code radio doctor}: the addresses of its JSON {@code {"name":"gpu","addresses":[...]}}.
 */
final class DiscoveryScript {
    private DiscoveryScript() {}

    /** The addresses a Spark GPU discovery script prints, within 60 s. */
    static List<String> addresses(Path script) {
        String name = "The discovery script " + script;
        Process p;
        try {
            p = new ProcessBuilder(script.toAbsolutePath().toString())
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
        } catch (IOException e) {
            throw new RadioException(name + " cannot be run (" + e.getMessage() + "): make it executable.");
        }
        try (InputStream in = p.getInputStream()) {
            String out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new RadioException(name + " did not finish within 60 s.");
            }
            if (p.exitValue() != 0) {
                throw new RadioException(name + " exited with code " + p.exitValue() + ".");
            }
            JsonNode json;
            try {
                json = new ObjectMapper().readTree(out);
            } catch (IOException e) {
                json = null;
            }
            if (json == null
                    || !"gpu".equals(json.path("name").asText())
                    || !json.path("addresses").isArray()) {
                throw new RadioException(name + " printed " + RadioCli.oneLine(out) + ", not Spark's "
                        + "{\"name\":\"gpu\",\"addresses\":[...]}.");
            }
            List<String> addresses = new ArrayList<>();
            json.path("addresses").forEach(a -> addresses.add(a.asText()));
            return addresses;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new RadioException(name + " was interrupted.");
        }
    }
}
