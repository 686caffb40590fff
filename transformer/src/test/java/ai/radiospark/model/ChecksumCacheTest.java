package ai.radiospark.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A checkpoint directory's SHA-256 is read from the cache on a rerun, counted by {@link
 * Checkpoint#HASHED} (how many times the bytes were read), not timed; any change to a file hashes
 * again; a cache folder that cannot be written costs only the rehash.
 */
class ChecksumCacheTest {
    @TempDir
    Path tmp;

    private String before;

    @BeforeEach
    void cacheInTmp() {
        before = System.getProperty(ChecksumCache.DIR_PROPERTY);
        System.setProperty(ChecksumCache.DIR_PROPERTY, tmp.resolve("cache").toString());
    }

    @AfterEach
    void restore() {
        if (before == null) {
            System.clearProperty(ChecksumCache.DIR_PROPERTY);
        } else {
            System.setProperty(ChecksumCache.DIR_PROPERTY, before);
        }
    }

    private Path checkpoint(int shards) throws Exception {
        Path dir = tmp.resolve("model-" + shards);
        RandomCheckpoint.write(RandomCheckpoint.shape("tiny"), dir, 7);
        if (shards > 1) {
            Path sharded = tmp.resolve("sharded");
            CheckpointWriter.rewrite(Checkpoint.open(dir), sharded, TensorType.F32, shards);
            return sharded;
        }
        return dir;
    }

    @Test
    void aRerunTakesTheHashFromTheCacheAndAnyChangeHashesAgain() throws Exception {
        Path dir = checkpoint(1);
        long n0 = Checkpoint.HASHED.get();
        String first = Checkpoint.open(dir).sha256();
        assertEquals(n0 + 1, Checkpoint.HASHED.get(), "the first run hashes the files");

        Checkpoint again = Checkpoint.open(dir);
        assertEquals(first, again.sha256());
        assertEquals(n0 + 1, Checkpoint.HASHED.get(), "a rerun of an unchanged checkpoint does not read its bytes");

        // Same bytes, new modification time: hashed again, same identity.
        Path weights = dir.resolve("model.safetensors");
        Files.setLastModifiedTime(
                weights, FileTime.fromMillis(Files.getLastModifiedTime(weights).toMillis() + 5000));
        assertEquals(first, Checkpoint.open(dir).sha256());
        assertEquals(n0 + 2, Checkpoint.HASHED.get(), "a touched file is hashed again");

        // Changed content: a new identity.
        Path config = dir.resolve("config.json");
        Files.writeString(config, Files.readString(config) + " ", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        String changed = Checkpoint.open(dir).sha256();
        assertNotEquals(first, changed);
        assertEquals(n0 + 3, Checkpoint.HASHED.get());
        assertEquals(changed, Checkpoint.open(dir).sha256());
        assertEquals(n0 + 3, Checkpoint.HASHED.get(), "the new hash is cached in turn");
    }

    @Test
    void theCachedHashEqualsTheHashWithoutCacheForShardedCheckpoints() throws Exception {
        Path dir = checkpoint(2);
        String hashed = Checkpoint.open(dir).sha256();
        String cached = Checkpoint.open(dir).sha256();
        assertEquals(hashed, cached);
        System.setProperty(
                ChecksumCache.DIR_PROPERTY, tmp.resolve("other-cache").toString());
        long n = Checkpoint.HASHED.get();
        assertEquals(hashed, Checkpoint.open(dir).sha256(), "the identity does not depend on the cache");
        assertEquals(n + 1, Checkpoint.HASHED.get());
    }

    @Test
    void anUnwritableCacheFolderOnlyCostsTheRehash() throws Exception {
        Path dir = checkpoint(1);
        Path file = tmp.resolve("not-a-folder");
        Files.writeString(file, "x");
        System.setProperty(ChecksumCache.DIR_PROPERTY, file.toString()); // checkpoints/ cannot be made below a file
        long n = Checkpoint.HASHED.get();
        String a = Checkpoint.open(dir).sha256();
        String b = Checkpoint.open(dir).sha256();
        assertEquals(a, b);
        assertEquals(n + 2, Checkpoint.HASHED.get());
        assertTrue(Files.isRegularFile(file));
    }
}
