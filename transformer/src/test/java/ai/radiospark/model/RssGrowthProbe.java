package ai.radiospark.model;

/** Not a test: RSS every 200 forward passes (tiny-vit, batch 4, 224²), to tell a leak from allocator warm-up. */
public final class RssGrowthProbe {
  public static void main(String[] args) throws Exception {
    int steps = args.length > 0 ? Integer.parseInt(args[0]) : 6;
    java.util.EnumSet<RadioModel.Output> outs = java.util.EnumSet.noneOf(RadioModel.Output.class);
    for (int i = 1; i < args.length; i++) {
      outs.add(RadioModel.Output.valueOf(args[i]));
    }
    try (RadioModel model = RadioModel.builder().build(Checkpoint.open(Golden.checkpoint("tiny-vit")).weights())) {
      float[] pixels = new float[4 * 3 * 224 * 224];
      java.util.Arrays.fill(pixels, 0.5f);
      RadioModelInputTest.touchYoungGeneration();
      for (int s = 0; s < steps; s++) {
        for (int i = 0; i < 200; i++) {
          model.forward(pixels, 4, 224, 224, outs);
        }
        System.out.printf("after %d passes: RSS %d MB%n", (s + 1) * 200, RadioModelInputTest.rssKb() / 1024);
      }
    }
  }
}
