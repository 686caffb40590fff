package ai.radiospark.runtime;

import ai.radiospark.hub.ModelResolver;
import ai.radiospark.model.Checkpoint;
import ai.radiospark.model.RadioWeights;
import java.net.URI;
import java.nio.file.Path;

/**
 * The one place where {@code ai.radiospark.ml.RadioEmbedder}'s {@code model} parameter becomes weights, on the
 * driver only: a local checkpoint directory (also as a {@code file:} URI) or a Hugging Face hub id
 * {@code org/name[@revision]}, resolved by {@link ModelResolver} (the local HF cache, downloading
 * when online). Executors never read the model: they receive the weights by broadcast.
 */
public final class ModelSource {
    private ModelSource() {}

    /** The weights of {@code model}: a checkpoint directory, a {@code file:} URI or a hub id. */
    public static RadioWeights load(String model) {
        return checkpoint(model).weights();
    }

    /**
     * The checkpoint of {@code model}, opened (its configuration and tensor headers read, nothing
     * else): enough for its SHA-256 ({@link Checkpoint#sha256()}, from the cache when no file
     * changed) without reading the weights.
     */
    public static Checkpoint checkpoint(String model) {
        String m = model;
        if (m != null && m.startsWith("file:")) {
            try {
                m = Path.of(URI.create(m)).toString();
            } catch (RuntimeException e) {
                // leave it to the resolver's message
            }
        }
        return Checkpoint.open(new ModelResolver().resolve(m));
    }
}
