package ai.radiospark.jobs;

/**
 * The spark-submit main class of the extraction job; it takes the options of {@code radio extract}.
 *
 * <pre>
 * spark-submit --class ai.radiospark.jobs.ExtractEmbeddings radio-spark-jobs-0.1.0-SNAPSHOT-spark.jar \
 *   --input s3a://bucket/images/ --output s3a://bucket/tables/embeddings --model nvidia/C-RADIOv4-H
 * </pre>
 */
public final class ExtractEmbeddings {
    private ExtractEmbeddings() {}

    public static void main(String[] args) {
        String[] withCommand = new String[args.length + 1];
        withCommand[0] = "extract";
        System.arraycopy(args, 0, withCommand, 1, args.length);
        System.exit(RadioCli.run(withCommand));
    }
}
