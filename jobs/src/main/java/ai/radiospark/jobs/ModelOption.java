package ai.radiospark.jobs;

import ai.radiospark.hub.ModelResolver;
import ai.radiospark.model.Checkpoint;

/** Turns a {@code --model} value (a checkpoint directory or a hub id) into a checkpoint. */
final class ModelOption {
  private ModelOption() {}

  static Checkpoint open(String model) {
    return Checkpoint.open(new ModelResolver().resolve(model));
  }
}
