package ai.radiospark.jobs;

import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.broadcast;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.collect_list;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.explode;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.min;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.sequence;
import static org.apache.spark.sql.functions.size;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import ai.radiospark.RadioException;
import dev.ludovic.netlib.blas.BLAS;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.clustering.KMeans;
import org.apache.spark.ml.clustering.KMeansModel;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;

/**
 * Semantic deduplication of an embedding table (SemDeDup's scheme): the summaries, L2-normalised,
 * are clustered with Spark ML's k-means; within each cluster the rows are ordered by distance to
 * the centroid, and each row gets its most similar earlier row and that cosine. The cosines are
 * computed on the executors, block against block ({@code blockSize} rows a block, one matrix
 * product per pair of blocks), so no cluster is ever held whole: a task holds two blocks.
 *
 * <p>A row is a duplicate at {@code eps} when its cosine is at least {@code 1 - eps}; the written
 * table has {@code path, cluster, duplicate_of, cosine, keep}, and {@code keep} is the
 * de-duplicated set.
 */
final class DedupJob {
    /** The thresholds of the sweep: eps 0.01 to 0.10. */
    static final int SWEEP_STEPS = 10;

    /** Cap on the number of clusters chosen from the row count. */
    static final int MAX_AUTO_CLUSTERS = 1000;

    /** The written table's columns, in order. */
    static final List<String> COLUMNS = List.of("path", "cluster", "duplicate_of", "cosine", "keep");

    /** The job's options; see {@link DedupCommand}. {@code clusters} 0: chosen from the row count. */
    record Options(
            String table, String output, double eps, int clusters, int clustersPerImage, int blockSize, long seed) {}

    /** What a run did; {@code removed[i]} is the count at eps {@code (i + 1) / 100}. */
    record Summary(
            long rows,
            long vectors,
            long noSummary,
            long unusable,
            int clusters,
            long duplicates,
            long[] removed,
            long tableVersion,
            long pairsCompared,
            int largestBlock) {

        /** All pairs of the vectors: what a brute-force pass would compare. */
        long pairsAll() {
            return vectors * (vectors - 1) / 2;
        }
    }

    private final SparkSession spark;
    private final Options o;

    DedupJob(SparkSession spark, Options options) {
        this.spark = spark;
        this.o = options;
    }

    /** The number of clusters for {@code n} vectors: about sqrt(n / 2), at most {@value #MAX_AUTO_CLUSTERS}. */
    static int autoClusters(long n) {
        return (int) Math.max(1, Math.min(MAX_AUTO_CLUSTERS, Math.round(Math.sqrt(n / 2.0))));
    }

    Summary run() {
        EmbeddingTable in = EmbeddingTable.of(spark, o.table());
        if (!in.exists()) {
            throw new RadioException(
                    "There is no Delta table at " + o.table() + ". Run radio extract first, or check --table.");
        }
        Dataset<Row> source = in.read();
        checkColumns(source);
        EmbeddingTable out = EmbeddingTable.of(spark, o.output());
        if (out.name().equals(in.name())) {
            throw new RadioException("--output " + o.output() + " is the --table itself: the embeddings would be "
                    + "replaced. Choose another --output.");
        }
        if (out.exists() && out.hasColumn("summary")) {
            throw new RadioException("--output " + o.output() + " is an embedding table, not a dedup result: it would "
                    + "be replaced. Choose another --output.");
        }
        UserDefinedFunction normalize = org.apache.spark.sql.functions.udf(
                (UDF1<scala.collection.Seq<Object>, Vector>) DedupJob::normalized, SQLDataTypes.VectorType());
        Column usable = col("summary").isNotNull();
        if (Arrays.asList(source.columns()).contains("error")) {
            usable = usable.and(col("error").isNull());
        }
        Row counts = source.agg(
                        count(lit(1)),
                        sum(when(usable, 0).otherwise(1)),
                        min(when(usable, size(col("summary")))),
                        max(when(usable, size(col("summary")))))
                .head();
        long rows = counts.getLong(0);
        long noSummary = counts.isNullAt(1) ? 0 : counts.getLong(1);
        if (!counts.isNullAt(2) && counts.getInt(2) != counts.getInt(3)) {
            throw new RadioException("The summaries of " + o.table() + " have different lengths (" + counts.getInt(2)
                    + " and " + counts.getInt(3) + " floats): embeddings of different models or settings cannot be "
                    + "compared. Deduplicate a table of one model (radio extract --reembed makes one).");
        }
        Dataset<Row> vectors = source.where(usable)
                .select(col("path"), normalize.apply(col("summary")).as("v"))
                .where(col("v").isNotNull())
                .persist(StorageLevel.MEMORY_AND_DISK());
        try {
            long n = vectors.count();
            if (n == 0) {
                throw new RadioException("No row of " + o.table() + " has a usable summary (" + noSummary
                        + " error or null rows, " + (rows - noSummary) + " all-zero or non-finite): nothing to "
                        + "deduplicate. Check --table.");
            }
            int k = (int) Math.min(n, o.clusters() > 0 ? o.clusters() : autoClusters(n));
            Dataset<Row> clustered = cluster(vectors, k);
            Dataset<Row> best = mostSimilarEarlier(clustered).persist(StorageLevel.MEMORY_AND_DISK());
            try {
                return write(out, best, rows, n, noSummary, k);
            } finally {
                best.unpersist();
            }
        } finally {
            vectors.unpersist();
        }
    }

    /** The table must have a path and a numeric-array summary column. */
    private void checkColumns(Dataset<Row> source) {
        StructType schema = source.schema();
        List<String> names = Arrays.asList(schema.fieldNames());
        if (!names.contains("summary")) {
            throw new RadioException("The table " + o.table() + " has no summary column: it is not an embedding table "
                    + "(its columns: " + String.join(", ", names) + "). Point --table at a table radio extract wrote.");
        }
        if (!(schema.apply("summary").dataType() instanceof ArrayType a && a.elementType() instanceof NumericType)) {
            throw new RadioException("The summary column of " + o.table() + " is "
                    + schema.apply("summary").dataType().sql() + ", not an array of floats. Point --table at a "
                    + "table radio extract wrote.");
        }
        if (!names.contains("path")) {
            throw new RadioException("The table " + o.table() + " has no path column to name its images. Point "
                    + "--table at a table radio extract wrote.");
        }
    }

    /** The summary as a unit vector, or null when it is all zeros, not finite or holds a null. */
    static Vector normalized(scala.collection.Seq<Object> s) {
        double[] v = new double[s.size()];
        double norm = 0;
        for (int i = 0; i < v.length; i++) {
            Object x = s.apply(i);
            if (x == null) {
                return null;
            }
            v[i] = ((Number) x).doubleValue();
            norm += v[i] * v[i];
        }
        norm = Math.sqrt(norm);
        if (norm == 0 || !Double.isFinite(norm)) {
            return null;
        }
        for (int i = 0; i < v.length; i++) {
            v[i] /= norm;
        }
        return Vectors.dense(v);
    }

    /**
     * One row per image and cluster it is compared in: {@code home} (its nearest centroid's cluster),
     * {@code cluster} (the home and the next nearest, {@code clustersPerImage} in all), {@code clusters}
     * (all of them, for {@link BlockPair} to compare a pair only in the lowest cluster both are in), {@code rank}
     * (1, 2, ... within the cluster by the distance to the home centroid, then path: one order for
     * every cluster, so that "earlier" never contradicts itself) and {@code block}
     * ({@code (rank - 1) / blockSize}).
     */
    private Dataset<Row> cluster(Dataset<Row> vectors, int k) {
        Dataset<Row> withCluster;
        if (k == 1) {
            withCluster = vectors.withColumn("home", lit(0))
                    .withColumn("distance", lit(0.0))
                    .withColumn("cluster", lit(0))
                    .withColumn("clusters", array(lit(0)));
        } else {
            KMeansModel model = new KMeans()
                    .setK(k)
                    .setSeed(o.seed())
                    .setFeaturesCol("v")
                    .setPredictionCol("cluster")
                    .fit(vectors);
            Broadcast<Vector[]> centers =
                    JavaSparkContext.fromSparkContext(spark.sparkContext()).broadcast(model.clusterCenters());
            int m = Math.min(k, o.clustersPerImage());
            UserDefinedFunction nearest = org.apache.spark.sql.functions.udf(
                    (UDF1<Vector, Row[]>) v -> nearest(v, centers.value(), m), NEAREST);
            withCluster = vectors.withColumn("near", nearest.apply(col("v")))
                    .withColumn("home", col("near").getItem(0).getField("cluster"))
                    .withColumn("distance", col("near").getItem(0).getField("distance"))
                    .withColumn("clusters", col("near").getField("cluster"))
                    .withColumn("cluster", explode(col("clusters")))
                    .drop("near");
        }
        return withCluster
                .withColumn(
                        "rank", row_number().over(Window.partitionBy("cluster").orderBy(col("distance"), col("path"))))
                .withColumn("block", col("rank").minus(1).divide(o.blockSize()).cast("int"));
    }

    /** The type of {@link #nearest}: the clusters nearest first, with the distances to their centroids. */
    static final ArrayType NEAREST = DataTypes.createArrayType(
            new StructType().add("cluster", DataTypes.IntegerType, false).add("distance", DataTypes.DoubleType, false));

    /** The {@code m} centroids nearest {@code v}, nearest first (ties: the lower cluster), with their distances. */
    static Row[] nearest(Vector v, Vector[] centers, int m) {
        int[] best = new int[m];
        double[] dist = new double[m];
        Arrays.fill(dist, Double.POSITIVE_INFINITY);
        for (int c = 0; c < centers.length; c++) {
            double d = Vectors.sqdist(v, centers[c]);
            if (d < dist[m - 1]) {
                int i = m - 1;
                for (; i > 0 && d < dist[i - 1]; i--) {
                    dist[i] = dist[i - 1];
                    best[i] = best[i - 1];
                }
                dist[i] = d;
                best[i] = c;
            }
        }
        Row[] out = new Row[m];
        for (int i = 0; i < m; i++) {
            out[i] = RowFactory.create(best[i], Math.sqrt(dist[i]));
        }
        return out;
    }

    /**
     * Each row's most similar earlier row of the clusters it is in: every pair of blocks (i, j ≤ i)
     * of a cluster meets in one task, which multiplies them and keeps, for each row of block i, the
     * best row of block j ranked before it; the best over the blocks j and the clusters is the
     * row's. Two rows that share several clusters are compared in the lowest of them only (the
     * ranks have one order in every cluster, so the others would find the same). Also per row: how
     * many earlier rows it was compared with ({@code compared}: each pair once), and the most rows a
     * task held for it ({@code held}).
     */
    private Dataset<Row> mostSimilarEarlier(Dataset<Row> clustered) {
        Dataset<Row> blocks = clustered
                .groupBy("cluster", "block")
                .agg(collect_list(struct(col("rank"), col("path"), col("v"), col("home"), col("clusters")))
                        .as("rows"));
        Dataset<Row> last = clustered.groupBy("cluster").agg(max("block").as("last"));
        // Block i meets the blocks j = 0..i; block j meets the blocks i = j..last: one row per pair on each side.
        Dataset<Row> left = blocks.withColumn("j", explode(sequence(lit(0), col("block"))))
                .select(
                        col("cluster"),
                        col("block").as("i"),
                        col("j"),
                        col("rows").as("a"));
        Dataset<Row> right = blocks.join(broadcast(last), "cluster")
                .withColumn("i", explode(sequence(col("block"), col("last"))))
                .select(
                        col("cluster"),
                        col("i"),
                        col("block").as("j"),
                        col("rows").as("b"));
        Dataset<Row> pairs =
                left.join(right, new String[] {"cluster", "i", "j"}).select("cluster", "a", "b");
        StructType schema = new StructType(new StructField[] {
            DataTypes.createStructField("home", DataTypes.IntegerType, false),
            DataTypes.createStructField("path", DataTypes.StringType, false),
            DataTypes.createStructField("duplicate_of", DataTypes.StringType, true),
            DataTypes.createStructField("cosine", DataTypes.DoubleType, true),
            DataTypes.createStructField("compared", DataTypes.LongType, false),
            DataTypes.createStructField("held", DataTypes.IntegerType, false)
        });
        JavaRDD<Row> found = pairs.javaRDD().flatMap(new BlockPair());
        return spark.createDataFrame(found, schema)
                .groupBy("path", "home")
                .agg(
                        max(struct(col("cosine"), col("duplicate_of"))).as("best"),
                        sum("compared").as("compared"),
                        max("held").as("held"))
                .select(
                        col("path"),
                        col("home").as("cluster"),
                        col("best.duplicate_of").as("duplicate_of"),
                        col("best.cosine").as("cosine"),
                        col("compared"),
                        col("held"));
    }

    /**
     * One pair of blocks of a cluster: for each row of the first, its most similar row of the second
     * ranked before it, among the rows whose lowest cluster shared with it is this one.
     */
    static final class BlockPair implements FlatMapFunction<Row, Row> {
        private static final long serialVersionUID = 1L;

        @Override
        public Iterator<Row> call(Row pair) {
            int cluster = pair.getInt(0);
            List<Row> a = pair.getList(1);
            List<Row> b = pair.getList(2);
            int d = ((Vector) a.get(0).get(2)).size();
            double[] x = pack(a, d);
            double[] y = pack(b, d);
            // gram[i + j * na] = a_i . b_j: column-major (d x na)^T (d x nb).
            double[] gram = new double[a.size() * b.size()];
            BLAS.getInstance().dgemm("T", "N", a.size(), b.size(), d, 1.0, x, d, y, d, 0.0, gram, a.size());
            int held = Math.max(a.size(), b.size());
            List<Row> out = new ArrayList<>(a.size());
            for (int i = 0; i < a.size(); i++) {
                int rank = a.get(i).getInt(0);
                List<Integer> mine = a.get(i).getList(4);
                double best = Double.NEGATIVE_INFINITY;
                String bestPath = null;
                long compared = 0;
                for (int j = 0; j < b.size(); j++) {
                    Row other = b.get(j);
                    if (other.getInt(0) >= rank || lowestShared(mine, other.getList(4)) != cluster) {
                        continue;
                    }
                    compared++;
                    double c = gram[i + j * a.size()];
                    if (c > best || (c == best && other.getString(1).compareTo(bestPath) < 0)) {
                        best = c;
                        bestPath = other.getString(1);
                    }
                }
                out.add(RowFactory.create(
                        a.get(i).getInt(3),
                        a.get(i).getString(1),
                        bestPath,
                        bestPath == null ? null : Math.min(1.0, best),
                        compared,
                        held));
            }
            return out.iterator();
        }

        /** The lowest cluster in both lists (each holds the cluster being compared); -1 if none. */
        static int lowestShared(List<Integer> a, List<Integer> b) {
            int lowest = -1;
            for (int c : a) {
                if ((lowest < 0 || c < lowest) && b.contains(c)) {
                    lowest = c;
                }
            }
            return lowest;
        }

        private static double[] pack(List<Row> rows, int d) {
            double[] m = new double[rows.size() * d];
            for (int i = 0; i < rows.size(); i++) {
                double[] v = ((Vector) rows.get(i).get(2)).toArray();
                System.arraycopy(v, 0, m, i * d, d);
            }
            return m;
        }
    }

    /** Adds {@code keep}, writes the table (replacing an earlier result) and counts the sweep. */
    private Summary write(EmbeddingTable out, Dataset<Row> best, long rows, long n, long noSummary, int k) {
        Column[] sweep = new Column[SWEEP_STEPS + 1];
        for (int i = 0; i < SWEEP_STEPS; i++) {
            sweep[i] =
                    sum(when(col("cosine").geq(threshold((i + 1) / 100.0)), 1L).otherwise(0L));
        }
        sweep[SWEEP_STEPS] = sum(when(col("cosine").geq(threshold(o.eps())), 1L).otherwise(0L));
        Column[] more = Arrays.copyOf(Arrays.copyOfRange(sweep, 1, sweep.length), SWEEP_STEPS + 2);
        more[SWEEP_STEPS] = sum("compared");
        more[SWEEP_STEPS + 1] = max("held");
        Row counts = best.agg(sweep[0], more).head();
        long[] removed = new long[SWEEP_STEPS];
        for (int i = 0; i < SWEEP_STEPS; i++) {
            removed[i] = counts.getLong(i);
        }
        Dataset<Row> result = best.withColumn(
                        "keep", col("cosine").isNull().or(col("cosine").lt(threshold(o.eps()))))
                .select(COLUMNS.stream().map(c -> col(c)).toArray(Column[]::new));
        Map<String, String> props = new LinkedHashMap<>();
        props.put("radio.dedup.source", o.table());
        props.put("radio.dedup.eps", String.valueOf(o.eps()));
        props.put("radio.dedup.clusters", String.valueOf(k));
        props.put("radio.dedup.clusters_per_image", String.valueOf(Math.min(k, o.clustersPerImage())));
        props.put("radio.dedup.block_size", String.valueOf(o.blockSize()));
        out.replaceWith(result, List.of(), props);
        return new Summary(
                rows,
                n,
                noSummary,
                rows - noSummary - n,
                k,
                counts.getLong(SWEEP_STEPS),
                removed,
                out.version(),
                counts.getLong(SWEEP_STEPS + 1),
                counts.getInt(SWEEP_STEPS + 2));
    }

    /** The cosine at and above which a row is a duplicate at {@code eps}. */
    static double threshold(double eps) {
        return 1 - eps;
    }
}
