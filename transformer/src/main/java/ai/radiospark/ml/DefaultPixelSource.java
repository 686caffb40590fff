package ai.radiospark.ml;

/** The production image decoder of {@link RadioEmbedder}. */
final class DefaultPixelSource {
  private DefaultPixelSource() {}

  static final PixelSource.Factory FACTORY = spec -> {
    throw new UnsupportedOperationException("image preprocessing (ai.radiospark.image) is not wired in yet");
  };
}
