package ai.radiospark.jobs;

import static org.apache.spark.sql.functions.col;

import ai.radiospark.runtime.Half;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code radio show}: prints rows of an embedding table, as text or as one JSON object per line; a
 * table without embeddings (a {@code radio dedup} result) is printed column by column.
 */
@Command(
        name = "show",
        mixinStandardHelpOptions = true,
        description = "Print rows of an embedding table. --json: one JSON object per line with path, error, the full "
                + "summary and the feature grid (rows, cols, dim and the values, flattened row-major; float16 features as "
                + "floats).")
public final class ShowCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--table", required = true, paramLabel = "PATH|TABLE", description = "The Delta table.")
    String table;

    @Option(names = "--limit", defaultValue = "20", description = "Rows to print (default ${DEFAULT-VALUE}).")
    int limit;

    @Option(names = "--json", description = "One JSON object per line.")
    boolean json;

    @Option(names = "--master", description = "Spark master; default local[*] outside spark-submit.")
    String master;

    PrintStream out = System.out;

    @Override
    public Integer call() {
        OptionException.require(limit >= 0, "--limit", limit, "Use 0 or a positive number of rows.");
        LocalPaths.checkTable("--table", table);
        SparkSession spark = JobSpark.session("radio show", master);
        EmbeddingTable t = EmbeddingTable.of(spark, table);
        if (!t.exists()) {
            throw new ai.radiospark.RadioException(
                    "There is no Delta table at " + table + ". Run radio extract first, " + "or check --table.");
        }
        Dataset<Row> rows = t.read().orderBy(col("path")).limit(limit);
        List<String> names = Arrays.asList(rows.columns());
        if (!names.contains("summary")) {
            // Not an embedding table (a radio dedup result, say): every column as it is.
            for (Row r : rows.collectAsList()) {
                out.println(json ? asJson(r, names) : asText(r, names));
            }
            out.flush();
            return 0;
        }
        for (Row r : rows.collectAsList()) {
            String path = r.getAs("path");
            String error = r.getAs("error");
            List<Float> summary = r.isNullAt(r.fieldIndex("summary")) ? null : r.getList(r.fieldIndex("summary"));
            Row features = names.contains("features") && !r.isNullAt(r.fieldIndex("features"))
                    ? r.getStruct(r.fieldIndex("features"))
                    : null;
            if (json) {
                ObjectNode o = JSON.createObjectNode();
                o.put("path", path);
                o.put("error", error);
                if (summary == null) {
                    o.putNull("summary");
                } else {
                    ArrayNode a = o.putArray("summary");
                    summary.forEach(a::add);
                }
                if (features == null) {
                    o.putNull("features");
                } else {
                    ObjectNode f = o.putObject("features");
                    f.put("rows", features.getInt(0));
                    f.put("cols", features.getInt(1));
                    f.put("dim", features.getInt(2));
                    ArrayNode values = f.putArray("values"); // (rows, cols, dim) row-major
                    Object v = features.get(3);
                    if (v instanceof byte[] half) {
                        for (float x : Half.decode(half)) {
                            values.add(x);
                        }
                    } else {
                        features.<Float>getList(3).forEach(values::add);
                    }
                }
                for (String c :
                        List.of("width", "height", "resolution", "model", "checkpoint_sha256", "content_sha256")) {
                    if (names.contains(c) && !r.isNullAt(r.fieldIndex(c))) {
                        o.putPOJO(c, r.getAs(c));
                    }
                }
                out.println(o);
            } else {
                String head = summary == null
                        ? "-"
                        : summary.subList(0, Math.min(4, summary.size()))
                                .toString()
                                .replace("]", ", ...] (" + summary.size() + " floats)");
                String grid = features == null
                        ? ""
                        : "  features " + features.getInt(0) + "x" + features.getInt(1) + "x" + features.getInt(2);
                out.println(path + "  " + (error != null ? "ERROR " + error : "summary " + head + grid));
            }
        }
        out.flush();
        return 0;
    }

    /** A row of a table without embeddings as one JSON object, its columns in order. */
    private static String asJson(Row r, List<String> names) {
        ObjectNode o = JSON.createObjectNode();
        for (int i = 0; i < names.size(); i++) {
            if (r.isNullAt(i)) {
                o.putNull(names.get(i));
            } else {
                o.putPOJO(names.get(i), r.get(i));
            }
        }
        return o.toString();
    }

    /** A row of a table without embeddings as {@code path  column=value ...}. */
    private static String asText(Row r, List<String> names) {
        StringBuilder b = new StringBuilder(String.valueOf(r.<Object>getAs("path")));
        for (int i = 0; i < names.size(); i++) {
            if (!names.get(i).equals("path")) {
                b.append("  ").append(names.get(i)).append('=').append(r.isNullAt(i) ? "null" : r.get(i));
            }
        }
        return b.toString();
    }
}
