package ai.radiospark.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A local Delta table's current version and table properties read from its {@code _delta_log}
 * files, without Spark: what {@code radio similar} needs to tell whether an index is current
 * before deciding to start Spark. Only the plain layout is read (commit files {@code
 * 00000000000000000007.json}, checkpoints {@code 00000000000000000010.checkpoint.parquet}); for
 * anything else (coordinated commits, a properties change older than the retained commit files)
 * the answer is null and the caller asks Delta through Spark.
 */
final class DeltaLogFiles {
    private static final Pattern COMMIT = Pattern.compile("(\\d{20})\\.json");
    private static final Pattern CHECKPOINT = Pattern.compile("(\\d{20})\\.checkpoint(\\..+)?\\.parquet");

    /** The table's latest version and its properties ({@code metaData.configuration}) at it. */
    record State(long version, Map<String, String> properties) {}

    private DeltaLogFiles() {}

    /** The state of the table at {@code table} (a local folder), or null when it cannot tell. */
    static State read(Path table) {
        Path log = table.resolve("_delta_log");
        if (!Files.isDirectory(log) || Files.exists(log.resolve("_commits"))) {
            return null;
        }
        TreeSet<Long> commits = new TreeSet<>();
        long latest = -1;
        try (Stream<Path> files = Files.list(log)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                String name = f.getFileName().toString();
                Matcher c = COMMIT.matcher(name);
                Matcher k = CHECKPOINT.matcher(name);
                if (c.matches()) {
                    long v = Long.parseLong(c.group(1));
                    commits.add(v);
                    latest = Math.max(latest, v);
                } else if (k.matches()) {
                    latest = Math.max(latest, Long.parseLong(k.group(1)));
                }
            }
            // The properties: the newest metaData action, searched back through consecutive commit files.
            for (long v = latest; v >= 0 && commits.contains(v); v--) {
                Map<String, String> props = metaData(log.resolve(String.format("%020d.json", v)));
                if (props != null) {
                    return new State(latest, props);
                }
            }
        } catch (IOException | RuntimeException e) {
            return null; // a table being written, or a file Delta would read differently: let Delta read it
        }
        return null;
    }

    /** The configuration of the commit file's metaData action, or null when it has none. */
    private static Map<String, String> metaData(Path commit) throws IOException {
        ObjectMapper json = new ObjectMapper();
        try (BufferedReader r = Files.newBufferedReader(commit, StandardCharsets.UTF_8)) {
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                if (!line.startsWith("{\"metaData\"")) {
                    continue;
                }
                JsonNode conf = json.readTree(line).path("metaData").path("configuration");
                Map<String, String> props = new LinkedHashMap<>();
                for (Map.Entry<String, JsonNode> e : conf.properties()) {
                    props.put(e.getKey(), e.getValue().asText());
                }
                return props;
            }
        }
        return null;
    }
}
