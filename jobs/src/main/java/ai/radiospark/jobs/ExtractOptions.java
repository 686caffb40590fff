package ai.radiospark.jobs;

import ai.radiospark.runtime.EmbeddingSettings;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The job's options; see {@link ExtractCommand} for what each means. {@code embedding} has the model. */
record ExtractOptions(
        String input,
        String output,
        EmbeddingSettings embedding,
        List<String> partitionBy,
        ExtractJob.WriteMode mode,
        long limit,
        boolean dryRun,
        boolean reembed,
        List<String> extensions,
        String pathColumn,
        String contentColumn,
        int commitEvery,
        double maxFailedFraction,
        String quarantine,
        int progressSeconds,
        boolean retryErrors,
        boolean changeDataFeed) {
    String model() {
        return embedding.model();
    }

    /** These options with other embedding settings (the same otherwise). */
    ExtractOptions withEmbedding(EmbeddingSettings e) {
        return new ExtractOptions(
                input,
                output,
                e,
                partitionBy,
                mode,
                limit,
                dryRun,
                reembed,
                extensions,
                pathColumn,
                contentColumn,
                commitEvery,
                maxFailedFraction,
                quarantine,
                progressSeconds,
                retryErrors,
                changeDataFeed);
    }

    /** Options named one by one: no two of the same type can swap places unnoticed. */
    static Builder builder() {
        return new Builder();
    }

    /**
     * Builds {@link ExtractOptions}, each option set by name; all must be set ({@code contentColumn} and
     * {@code quarantine} may be null). The defaults are {@link ExtractCommand}'s.
     */
    static final class Builder {
        private String input;
        private String output;
        private EmbeddingSettings embedding;
        private List<String> partitionBy;
        private ExtractJob.WriteMode mode;
        private Long limit;
        private Boolean dryRun;
        private Boolean reembed;
        private List<String> extensions;
        private String pathColumn;
        private String contentColumn;
        private Integer commitEvery;
        private Double maxFailedFraction;
        private String quarantine;
        private Integer progressSeconds;
        private Boolean retryErrors;
        private Boolean changeDataFeed;

        Builder input(String v) {
            input = v;
            return this;
        }

        Builder output(String v) {
            output = v;
            return this;
        }

        Builder embedding(EmbeddingSettings v) {
            embedding = v;
            return this;
        }

        Builder partitionBy(List<String> v) {
            partitionBy = v;
            return this;
        }

        Builder mode(ExtractJob.WriteMode v) {
            mode = v;
            return this;
        }

        Builder limit(long v) {
            limit = v;
            return this;
        }

        Builder dryRun(boolean v) {
            dryRun = v;
            return this;
        }

        Builder reembed(boolean v) {
            reembed = v;
            return this;
        }

        Builder extensions(List<String> v) {
            extensions = v;
            return this;
        }

        Builder pathColumn(String v) {
            pathColumn = v;
            return this;
        }

        Builder contentColumn(String v) {
            contentColumn = v;
            return this;
        }

        Builder commitEvery(int v) {
            commitEvery = v;
            return this;
        }

        Builder maxFailedFraction(double v) {
            maxFailedFraction = v;
            return this;
        }

        Builder quarantine(String v) {
            quarantine = v;
            return this;
        }

        Builder progressSeconds(int v) {
            progressSeconds = v;
            return this;
        }

        Builder retryErrors(boolean v) {
            retryErrors = v;
            return this;
        }

        Builder changeDataFeed(boolean v) {
            changeDataFeed = v;
            return this;
        }

        ExtractOptions build() {
            return new ExtractOptions(
                    set(input, "input"),
                    set(output, "output"),
                    set(embedding, "embedding"),
                    set(partitionBy, "partitionBy"),
                    set(mode, "mode"),
                    set(limit, "limit"),
                    set(dryRun, "dryRun"),
                    set(reembed, "reembed"),
                    set(extensions, "extensions"),
                    set(pathColumn, "pathColumn"),
                    contentColumn,
                    set(commitEvery, "commitEvery"),
                    set(maxFailedFraction, "maxFailedFraction"),
                    quarantine,
                    set(progressSeconds, "progressSeconds"),
                    set(retryErrors, "retryErrors"),
                    set(changeDataFeed, "changeDataFeed"));
        }

        private static <T> T set(T value, String option) {
            return java.util.Objects.requireNonNull(value, () -> "ExtractOptions: " + option + " not set");
        }
    }

    /**
     * The properties a table this run creates gets: the settings', plus Delta Change Data Feed
     * unless {@code --no-change-data-feed}.
     */
    Map<String, String> newTableProperties(TableSettings settings) {
        Map<String, String> props = new LinkedHashMap<>(settings.tableProperties());
        if (changeDataFeed) {
            props.put(ExtractJob.CHANGE_DATA_FEED, "true");
        }
        return props;
    }
}
