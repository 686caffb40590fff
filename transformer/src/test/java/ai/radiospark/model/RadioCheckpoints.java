package ai.radiospark.model;

/** Test access to the golden models' configurations. */
final class RadioCheckpoints {
    private RadioCheckpoints() {}

    static RadioConfig tinyVitConfig() {
        return Checkpoint.open(Golden.checkpoint("tiny-vit")).config();
    }
}
