package ai.radiospark.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.radiospark.RadioException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HubModelIdTest {
    @Test
    void parsesOrgNameAndRevision() {
        assertEquals(new HubModelId("nvidia/RADIO-B", "main"), HubModelId.of("nvidia/RADIO-B"));
        assertEquals(new HubModelId("nvidia/C-RADIOv3-B", "v1.0"), HubModelId.of("nvidia/C-RADIOv3-B@v1.0"));
        assertEquals("refs/pr/1", HubModelId.of("a_b/c.d@refs/pr/1").revision());
        HubModelId c = HubModelId.of("nvidia/RADIO-B@0123456789abcdef0123456789abcdef01234567");
        assertTrue(c.isCommitHash());
        assertFalse(HubModelId.of("nvidia/RADIO-B@main").isCommitHash());
        assertEquals("models--nvidia--RADIO-B", c.cacheFolderName());
    }

    @Test
    void rejectsBadIds() {
        for (String bad : new String[] {
            "",
            "RADIO-B",
            "/abs/path",
            "./rel/dir",
            "a/b/c",
            "a/b@",
            "a--x/b",
            "a/b..c",
            "a/-b",
            "a/b@x y",
            "a/b@../../etc",
            "a/b@/x",
            "a/b@x@y",
            "a/b.git"
        }) {
            assertTrue(HubModelId.parse(bad).isEmpty(), bad);
        }
        RadioException e = assertThrows(RadioException.class, () -> HubModelId.of("a/b/c"));
        assertTrue(
                e.getMessage().startsWith("'a/b/c' is not a hub id of the form " + "org/name[@revision]"),
                e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new HubModelId("x", "main"));
    }

    @Test
    void settingsFromEnvironmentFollowHuggingfaceHub() {
        HubSettings s = HubSettings.fromEnvironment(Map.of("HF_HOME", "/data/hf"));
        assertEquals(Path.of("/data/hf/hub"), s.cacheDir());
        assertEquals("https://huggingface.co", s.endpoint());
        assertFalse(s.offline());
        assertTrue(s.token().isEmpty());

        s = HubSettings.fromEnvironment(Map.of(
                "HF_HOME",
                "/data/hf",
                "HF_HUB_CACHE",
                "/fast/hub",
                "HF_ENDPOINT",
                "https://mirror.example/",
                "HF_TOKEN",
                "hf_abc",
                "HF_HUB_OFFLINE",
                "true"));
        assertEquals(Path.of("/fast/hub"), s.cacheDir());
        assertEquals("https://mirror.example", s.endpoint());
        assertEquals("hf_abc", s.token().orElseThrow());
        assertTrue(s.offline());

        s = HubSettings.fromEnvironment(Map.of("XDG_CACHE_HOME", "/xdg", "HF_HUB_OFFLINE", "0"));
        assertEquals(Path.of("/xdg/huggingface/hub"), s.cacheDir());
        assertFalse(s.offline());
        assertFalse(s.toString().contains("hf_abc"));

        RadioException e = assertThrows(
                RadioException.class, () -> HubSettings.fromEnvironment(Map.of("HF_HUB_ETAG_TIMEOUT", "soon")));
        assertTrue(e.getMessage().contains("HF_HUB_ETAG_TIMEOUT='soon'"), e.getMessage());
    }
}
