package ai.radiospark.jobs;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;

import ai.radiospark.Cosine;
import ai.radiospark.RadioException;
import ai.radiospark.image.ImagePreprocessor;
import ai.radiospark.ml.RadioEmbedder;
import ai.radiospark.runtime.EmbeddingSettings;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import scala.collection.Seq;

/**
 * {@code radio similar}: the images of a table nearest to a query image, by cosine similarity of
 * their summaries. A query file is embedded with the model and settings the table records.
 */
@Command(
        name = "similar",
        mixinStandardHelpOptions = true,
        description =
                "List the images of an embedding table nearest to a query (an image file, or a path in the table) "
                        + "by cosine similarity of their summary embeddings.")
public final class SimilarCommand implements Callable<Integer> {
    @Option(names = "--table", required = true, paramLabel = "PATH|TABLE", description = "The Delta table.")
    String table;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Query query;

    static final class Query {
        @Option(names = "--image", paramLabel = "FILE", description = "A query image file, embedded now.")
        Path image;

        @Option(names = "--path", paramLabel = "P", description = "The path of an image already in the table.")
        String path;
    }

    @Option(names = "--k", defaultValue = "10", description = "How many neighbours (default ${DEFAULT-VALUE}).")
    int k;

    @Option(names = "--master", description = "Spark master; default local[*] outside spark-submit.")
    String master;

    PrintStream out = System.out;

    @Override
    public Integer call() {
        OptionException.require(k > 0, "--k", k, "Use a positive number of neighbours, e.g. 10.");
        if (query.image != null) {
            checkQueryImage(query.image);
        }
        LocalPaths.checkTable("--table", table);
        SparkSession spark = JobSpark.session("radio similar", master);
        EmbeddingTable t = EmbeddingTable.of(spark, table);
        if (!t.exists()) {
            throw new RadioException(
                    "There is no Delta table at " + table + ". Run radio extract first, or check --table.");
        }
        float[] q = query.image != null ? embed(spark, t, query.image) : lookUp(t, query.path);
        // Only rows made as the table's properties say (a --reembed may be under way) are comparable.
        Map<String, String> target = TableSettings.targetSettings(t.properties());
        String targetRow = TableSettings.rowSettings(target);
        Dataset<Row> all = t.read().where(col("summary").isNotNull());
        Column settings = java.util.Arrays.asList(all.columns()).contains("settings")
                ? coalesce(col("settings"), lit(targetRow))
                : lit(targetRow);
        Column comparable = target.get("checkpoint_sha256") == null
                ? lit(true)
                : coalesce(
                        col("checkpoint_sha256")
                                .equalTo(lit(target.get("checkpoint_sha256")))
                                .and(settings.equalTo(lit(targetRow))),
                        lit(false));
        Dataset<Row> candidates = all.where(comparable);
        long skipped = all.where(not(comparable)).count();
        if (query.path != null) {
            candidates = candidates.where(col("path").notEqual(lit(query.path)));
        }
        UserDefinedFunction cosine = org.apache.spark.sql.functions.udf(
                (UDF1<Seq<Float>, Double>) s -> Cosine.similarity(q, toFloats(s)), DataTypes.DoubleType);
        List<Row> top = candidates
                .select(col("path"), cosine.apply(col("summary")).as("similarity"))
                .orderBy(col("similarity").desc(), col("path"))
                .limit(k)
                .collectAsList();
        out.printf("Nearest %d of %s to %s:%n", top.size(), table, query.image != null ? query.image : query.path);
        if (skipped > 0) {
            out.printf(
                    "(%,d rows made with another model or settings than the table's skipped: a --reembed is not "
                            + "finished; rerun it to include them)%n",
                    skipped);
        }
        int rank = 1;
        for (Row r : top) {
            out.printf("%3d  %.6f  %s%n", rank++, r.getDouble(1), r.getString(0));
        }
        out.flush();
        return 0;
    }

    static float[] toFloats(Seq<Float> s) {
        return toFloats(scala.jdk.javaapi.CollectionConverters.asJava(s));
    }

    private static float[] lookUp(EmbeddingTable t, String path) {
        List<Row> rows = t.read()
                .where(col("path").equalTo(lit(path)))
                .select("summary", "error")
                .collectAsList();
        if (rows.isEmpty()) {
            throw new RadioException("The table " + t.name() + " has no row with path " + path
                    + ". Give the path as the table stores it (radio show lists them), or query by --image.");
        }
        if (rows.get(0).isNullAt(0)) {
            throw new RadioException("The image " + path + " has no embedding in " + t.name() + ": "
                    + rows.get(0).getString(1));
        }
        return toFloats(rows.get(0).<Float>getList(0));
    }

    static float[] toFloats(List<Float> s) {
        float[] v = new float[s.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = s.get(i);
        }
        return v;
    }

    /** The query image must be a readable image: checked (decoded once) before Spark starts. */
    private static void checkQueryImage(Path image) {
        OptionException.require(Files.isRegularFile(image), "--image", image, "No such file. Give an image file.");
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(image);
        } catch (IOException e) {
            throw new RadioException(
                    "Cannot read the query image " + image + ": " + e.getMessage() + ". Check its " + "permissions.",
                    e);
        }
        try {
            ImagePreprocessor.builder().build().preprocess(bytes, image.toString());
        } catch (RadioException e) {
            throw new RadioException("The query image cannot be used: " + e.getMessage(), e);
        }
    }

    /** Embeds the query file with the model, size, resize mode and dtype the table was written with. */
    private static float[] embed(SparkSession spark, EmbeddingTable t, Path image) {
        Map<String, String> props = t.properties();
        String model = props.get("radio.model");
        if (model == null) {
            throw new RadioException(
                    "The table " + t.name() + " does not record its model (table property radio.model): "
                            + "query it by --path, or re-run radio extract to record it.");
        }
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(image);
        } catch (IOException e) {
            throw new RadioException("Cannot read the query image " + image + ": " + e.getMessage(), e);
        }
        StructType schema = new StructType().add("path", DataTypes.StringType).add("content", DataTypes.BinaryType);
        Dataset<Row> one = spark.createDataFrame(List.of(RowFactory.create(image.toString(), bytes)), schema);
        EmbeddingSettings made = EmbeddingSettings.fromTableProperties(props);
        RadioEmbedder embedder = new RadioEmbedder()
                .setInputCol("content")
                .setModel(model)
                .setImageSize(made.imageSize())
                .setResizeMode(made.resizeMode())
                .setDtype(made.dtype())
                .setFeaturesMode("none")
                .setFailOnError(true);
        return toFloats(embedder.transform(one).select("summary").head().<Float>getList(0));
    }
}
