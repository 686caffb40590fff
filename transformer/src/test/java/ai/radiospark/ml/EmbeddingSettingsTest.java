package ai.radiospark.ml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.radiospark.InvalidValueException;
import ai.radiospark.runtime.EmbeddingSettings;
import ai.radiospark.runtime.EmbeddingSettings.Setting;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.param.Param;
import org.junit.jupiter.api.Test;

/**
 * The embedding settings: defaults, checks, what a table records and reads back, and the stage's
 * params made from the same descriptors.
 */
class EmbeddingSettingsTest {

    @Test
    void defaults() {
        EmbeddingSettings d = EmbeddingSettings.DEFAULTS;
        assertEquals(
                new EmbeddingSettings(null, "224x224", "fixed", 16, "auto", "auto", "none", "float32", 0, 100_000_000L),
                d);
        // auto is resolved on the driver before anything is recorded (RadioEmbedderTest); float32 on a CPU
        assertEquals(
                "size=224x224;resize_mode=fixed;dtype=float32;features=none;features_type=float32",
                d.with(Setting.DTYPE, "float32").rowSettings());
    }

    @Test
    void valuesAreCheckedAndStoredTrimmedWithChoicesInLowerCase() {
        EmbeddingSettings s = EmbeddingSettings.of(Map.of(
                Setting.MODEL,
                " /m ",
                Setting.SIZE,
                " 512 ",
                Setting.RESIZE_MODE,
                "Native",
                Setting.DTYPE,
                "BFLOAT16",
                Setting.FEATURES_MODE,
                "Pooled:2x2",
                Setting.TORCH_THREADS,
                "4"));
        assertEquals(
                new EmbeddingSettings(
                        "/m", "512", "native", 16, "auto", "bfloat16", "pooled:2x2", "float32", 4, 100_000_000L),
                s);
        assertEquals(s, EmbeddingSettings.of(s.asMap()));
    }

    @Test
    void aBadValueNamesItsParamAndSaysWhatWorks() {
        Object[][] cases = {
            {
                Setting.SIZE,
                "0x0",
                "Invalid imageSize \"0x0\". Use \"HxW\" such as \"224x224\" or \"512x384\", or a single "
                        + "size \"S\" for SxS, with sides between 1 and 16384."
            },
            {
                Setting.RESIZE_MODE,
                "squash",
                "Invalid resizeMode \"squash\". Use fixed, shortest-edge, native or native-buckets."
            },
            {
                Setting.BATCH_SIZE,
                "0",
                "Invalid batchSize \"0\". Use a positive number of images per forward pass, e.g. " + "16."
            },
            {Setting.DEVICE, "tpu", "Invalid device \"tpu\". Use auto, cpu or gpu."},
            {Setting.DTYPE, "float64", "Invalid dtype \"float64\". Use auto, float32, bfloat16 or float16."},
            {
                Setting.FEATURES_MODE,
                "pooled:0x3",
                "Invalid featuresMode \"pooled:0x3\". Use none, full, or pooled:RxC "
                        + "with R and C positive (e.g. pooled:2x2 averages the patch grid into 2x2 cells)."
            },
            {Setting.FEATURES_TYPE, "float8", "Invalid featuresType \"float8\". Use float32 or float16."},
            {
                Setting.TORCH_THREADS,
                "-1",
                "Invalid torchThreads \"-1\". Use 0 (the default) or a positive number of "
                        + "threads per forward pass, e.g. 4."
            },
            {Setting.MAX_PIXELS, "0", "Invalid maxPixels \"0\". Use a positive number of pixels, e.g. 100000000."},
            {
                Setting.MODEL,
                " ",
                "Invalid model \" \". Give a RADIO checkpoint directory or a hub id such as " + "nvidia/C-RADIOv4-H."
            }
        };
        for (Object[] c : cases) {
            Setting s = (Setting) c[0];
            InvalidValueException e =
                    assertThrows(InvalidValueException.class, () -> EmbeddingSettings.of(Map.of(s, (String) c[1])));
            assertEquals(c[2], e.getMessage());
            assertEquals(s.param(), e.param());
            assertEquals(c[1], e.value());
        }
    }

    @Test
    void tablePropertiesRecordTheSettingsThatChangeEmbeddingsAndReadBack() {
        EmbeddingSettings s = EmbeddingSettings.of(Map.of(
                Setting.MODEL,
                "nvidia/C-RADIOv4-H@abc",
                Setting.SIZE,
                "512",
                Setting.RESIZE_MODE,
                "native",
                Setting.FEATURES_MODE,
                "full",
                Setting.FEATURES_TYPE,
                "float16",
                Setting.DTYPE,
                "float32",
                Setting.DEVICE,
                "cpu",
                Setting.BATCH_SIZE,
                "8",
                Setting.TORCH_THREADS,
                "2"));
        Map<String, String> expected = new LinkedHashMap<>();
        expected.put("radio.model", "nvidia/C-RADIOv4-H@abc");
        expected.put("radio.checkpoint_sha256", "f00d");
        expected.put("radio.resolution", "512");
        expected.put("radio.resize_mode", "native");
        expected.put("radio.dtype", "float32");
        expected.put("radio.features", "full");
        expected.put("radio.features_type", "float16");
        Map<String, String> props = s.tableProperties("f00d");
        assertEquals(expected, props);
        assertEquals(List.copyOf(expected.keySet()), props.keySet().stream().toList(), "in order");
        assertEquals(
                List.of(
                        "model",
                        "checkpoint_sha256",
                        "resolution",
                        "resize_mode",
                        "dtype",
                        "features",
                        "features_type"),
                EmbeddingSettings.recordedKeys());
        // What the table does not record (device, batch size, threads, pixel limit) reads back as the default.
        assertEquals(
                EmbeddingSettings.of(Map.of(
                        Setting.MODEL,
                        "nvidia/C-RADIOv4-H@abc",
                        Setting.SIZE,
                        "512",
                        Setting.RESIZE_MODE,
                        "native",
                        Setting.FEATURES_MODE,
                        "full",
                        Setting.FEATURES_TYPE,
                        "float16",
                        Setting.DTYPE,
                        "float32")),
                EmbeddingSettings.fromTableProperties(props));
        assertEquals("size=512;resize_mode=native;dtype=float32;features=full;features_type=float16", s.rowSettings());
        assertNull(EmbeddingSettings.fromTableProperties(Map.of()).model());
    }

    @Test
    void theStageParamsAreMadeFromTheDescriptors() {
        RadioEmbedder stage = new RadioEmbedder();
        for (Setting s : Setting.values()) {
            Param<?> p = stage.getParam(s.param());
            assertEquals(s.doc(), p.doc(), s.param());
            if (s.defaultValue() == null) {
                assertFalse(stage.hasDefault(p), s.param());
            } else {
                assertEquals(
                        s.defaultValue(), String.valueOf(stage.getDefault(p).get()), s.param());
            }
        }
        assertEquals(EmbeddingSettings.DEFAULTS, stage.getSettings());
        EmbeddingSettings s = EmbeddingSettings.of(Map.of(
                Setting.MODEL,
                "/m",
                Setting.TORCH_THREADS,
                "3",
                Setting.DTYPE,
                "bfloat16",
                Setting.MAX_PIXELS,
                "1000"));
        stage.setSettings(s);
        assertEquals(s, stage.getSettings());
        assertEquals(3, stage.getTorchThreads());
        assertEquals(1000L, stage.getMaxPixels());
        assertEquals("/m", stage.getModel());
    }

    @Test
    void theStageRefusesWhatTheDescriptorsRefuse() {
        RadioEmbedder stage = new RadioEmbedder();
        assertThrows(IllegalArgumentException.class, () -> stage.setTorchThreads(-1));
        assertThrows(IllegalArgumentException.class, () -> stage.setBatchSize(0));
        assertThrows(IllegalArgumentException.class, () -> stage.setDevice("CPU"), "choices as stored, as before");
        assertThrows(IllegalArgumentException.class, () -> stage.setImageSize("0x0"));
        assertThrows(IllegalArgumentException.class, () -> stage.setMaxPixels(0));
        InvalidValueException e =
                assertThrows(InvalidValueException.class, () -> stage.set(Setting.FEATURES_MODE, "pooled"));
        assertEquals("featuresMode", e.param());
        stage.setImageSize(" 300 ").setFeaturesMode("FULL"); // parsed where used, as before
        assertTrue(stage.isSet(stage.imageSize()));
    }
}
