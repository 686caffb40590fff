package ai.radiospark.jobs;

import ai.radiospark.RadioException;
import ai.radiospark.hub.HubModelId;
import ai.radiospark.hub.ModelResolver;
import ai.radiospark.model.Checkpoint;
import ai.radiospark.model.RadioConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Turns a {@code --model} value (a checkpoint directory or a hub id, possibly {@link
 * ModelResolver#qualified}) into a checkpoint or its configuration, and into the identity a table
 * records: where the model is, independent of the folder a command runs in.
 */
final class ModelOption {
    private ModelOption() {}

    static Checkpoint open(String model) {
        return Checkpoint.open(new ModelResolver().resolve(forResolver(model)));
    }

    /** {@link ModelResolver#qualified}: where the model is, as a table records it. */
    static String qualified(String model) {
        return ModelResolver.qualified(model);
    }

    /** {@link ModelResolver#unqualified}: a qualified value as a path or {@code org/name@revision}. */
    static String forResolver(String model) {
        return ModelResolver.unqualified(model);
    }

    /**
     * The model's configuration, read from its config.json alone (no weights, no network, no
     * Spark), so that commands check {@code --model} and the options that depend on it (the size
     * against the patch size) before they start: a local directory, or a hub id whose snapshot is
     * in the Hugging Face cache. Null for a hub id not cached yet (the download comes later).
     *
     * @throws OptionException naming {@code --model}: no such directory, no config.json, a bad one
     */
    static RadioConfig config(String model) {
        RadioConfig[] config = new RadioConfig[1];
        OptionException.check("--model", model, () -> config[0] = readConfig(model));
        return config[0];
    }

    private static RadioConfig readConfig(String given) {
        String model = forResolver(given);
        Path dir = localOrNull(model);
        Optional<HubModelId> hub = HubModelId.parse(model);
        if (dir == null && hub.isPresent()) {
            dir = cachedSnapshot(hub.get());
            if (dir == null) {
                return null;
            }
        } else {
            dir = new ModelResolver().resolve(model); // local: checks the directory and its config.json
        }
        Path file = dir.resolve(ModelResolver.CONFIG);
        try {
            return RadioConfig.fromJson(Files.readString(file), file.toString());
        } catch (IOException e) {
            throw new RadioException("Cannot read " + file + ": " + e + ". Check the file's permissions.", e);
        }
    }

    /** The value as an existing local path, else null. */
    private static Path localOrNull(String model) {
        try {
            Path p = Path.of(model);
            return Files.exists(p) ? p : null;
        } catch (InvalidPathException e) {
            return null;
        }
    }

    /** The cached snapshot directory of a hub id (huggingface_hub's layout), or null. */
    private static Path cachedSnapshot(HubModelId id) {
        Path repo = new ModelResolver().settings().cacheDir().resolve(id.cacheFolderName());
        String commit = id.revision();
        if (!id.isCommitHash()) {
            try {
                commit = Files.readString(repo.resolve("refs").resolve(id.revision()))
                        .trim();
            } catch (IOException | InvalidPathException e) {
                return null;
            }
        }
        Path snapshot = repo.resolve("snapshots").resolve(commit);
        return Files.isRegularFile(snapshot.resolve(ModelResolver.CONFIG)) ? snapshot : null;
    }
}
