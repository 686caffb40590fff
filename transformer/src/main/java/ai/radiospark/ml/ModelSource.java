package ai.radiospark.ml;

import ai.radiospark.RadioException;
import ai.radiospark.model.Checkpoint;
import ai.radiospark.model.RadioWeights;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The one place where {@link RadioEmbedder}'s {@code model} parameter is turned into weights, on
 * the driver. Today: a local checkpoint directory. A hub-id resolver plugs in here (download or
 * find in cache, then {@link Checkpoint#open}); nothing else in the stage reads the model path.
 */
final class ModelSource {
  private ModelSource() {}

  /** Loads the weights named by {@code model}; executors receive them by broadcast. */
  static RadioWeights load(String model) {
    if (model == null || model.isBlank()) {
      throw new RadioException("RadioEmbedder has no model. Call setModel(\"/path/to/checkpoint\") with a RADIO "
          + "checkpoint directory (config.json plus model.safetensors).");
    }
    Path dir = toPath(model);
    if (dir != null && Files.isDirectory(dir)) {
      return Checkpoint.open(dir).weights();
    }
    throw new RadioException("Cannot load model \"" + model + "\": it is not a directory the driver can read. "
        + "Set model to a local RADIO checkpoint directory (config.json plus model.safetensors) on the driver; "
        + "executors get the weights by broadcast and never read it. RadioEmbedder does not resolve hub ids "
        + "(such as nvidia/C-RADIOv4-H) yet: download the checkpoint and pass its directory.");
  }

  private static Path toPath(String model) {
    try {
      if (model.startsWith("file:")) {
        return Path.of(URI.create(model));
      }
      return Path.of(model);
    } catch (RuntimeException e) {
      return null;
    }
  }
}
