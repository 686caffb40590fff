package ai.radiospark.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Remembers a checkpoint directory's SHA-256 so that a rerun does not read every weight byte again
 * (9.9 s for C-RADIOv4-H's 2.5 GB from disk, 3.8 s from the page cache, on every run before).
 *
 * <p>One small JSON file per directory (named by the SHA-256 of its real path) holds the hash and,
 * per file of the checkpoint, a stamp: size, modification time and change time in nanoseconds and
 * the file's identity (device and inode). The hash is reused only when every file's stamp is
 * unchanged; a file rewritten in place changes its change time, which no tool can set back. The
 * hash itself is the same as without the cache, so tables keep their checkpoint identity.
 *
 * <p>The folder is {@code -Dradio.cache.dir}, else {@code $RADIO_CACHE_DIR}, else {@code
 * $XDG_CACHE_HOME/radio-spark} or {@code ~/.cache/radio-spark}, subfolder {@code checkpoints}. A
 * folder that cannot be written only costs the rehash: the cache is never required.
 */
final class ChecksumCache {
    private static final Logger LOG = LoggerFactory.getLogger(ChecksumCache.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The system property naming the cache folder. */
    static final String DIR_PROPERTY = "radio.cache.dir";

    private ChecksumCache() {}

    /** The cache folder of checkpoint hashes, as the class comment says. */
    static Path folder() {
        String dir = System.getProperty(DIR_PROPERTY);
        if (dir == null || dir.isBlank()) {
            dir = System.getenv("RADIO_CACHE_DIR");
        }
        if (dir == null || dir.isBlank()) {
            String xdg = System.getenv("XDG_CACHE_HOME");
            Path base =
                    xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
            return base.resolve("radio-spark").resolve("checkpoints");
        }
        return Path.of(dir).resolve("checkpoints");
    }

    /** The hash recorded for {@code dir} if each of its {@code files} (name to path) is as when it was hashed. */
    static Optional<String> lookup(Path dir, Map<String, Path> files) {
        try {
            Path entry = entry(dir);
            if (!Files.isRegularFile(entry)) {
                return Optional.empty();
            }
            JsonNode stored = JSON.readTree(Files.readString(entry, StandardCharsets.UTF_8));
            if (!stored.path("files").equals(stamps(files))
                    || !stored.path("sha256").isTextual()) {
                return Optional.empty();
            }
            return Optional.of(stored.get("sha256").asText());
        } catch (IOException | RuntimeException e) {
            LOG.debug("No usable cached hash for {}: {}", dir, e.toString());
            return Optional.empty();
        }
    }

    /** Records {@code sha256} for {@code dir}, whose files had {@code stampsBefore} when hashing began and ended. */
    static void store(Path dir, JsonNode stampsBefore, String sha256) {
        try {
            Path entry = entry(dir);
            Files.createDirectories(entry.getParent());
            ObjectNode node = JSON.createObjectNode();
            node.put("dir", dir.toRealPath().toString());
            node.put("sha256", sha256);
            node.set("files", stampsBefore);
            Path tmp = entry.resolveSibling(entry.getFileName() + "." + UUID.randomUUID() + ".tmp");
            Files.writeString(tmp, JSON.writeValueAsString(node), StandardCharsets.UTF_8);
            try {
                Files.move(tmp, entry, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, entry, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException | RuntimeException e) {
            LOG.info(
                    "Could not cache the checkpoint hash of {} under {} ({}); the next run hashes it again.",
                    dir,
                    folder(),
                    e.toString());
        }
    }

    /** Each file's stamp: size, modification and change time in nanoseconds, and identity. */
    static JsonNode stamps(Map<String, Path> files) throws IOException {
        ObjectNode out = JSON.createObjectNode();
        for (Map.Entry<String, Path> f : files.entrySet()) {
            out.put(f.getKey(), stamp(f.getValue()));
        }
        return out;
    }

    private static String stamp(Path p) throws IOException {
        BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
        String ctime;
        try {
            Object c = Files.getAttribute(p, "unix:ctime");
            ctime = c instanceof java.nio.file.attribute.FileTime t
                    ? Long.toString(t.to(java.util.concurrent.TimeUnit.NANOSECONDS))
                    : "?";
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            ctime = "?"; // not a Unix file system: size, mtime and identity only
        }
        return a.size() + "/" + a.lastModifiedTime().to(java.util.concurrent.TimeUnit.NANOSECONDS) + "/" + ctime + "/"
                + a.fileKey();
    }

    private static Path entry(Path dir) throws IOException {
        try {
            byte[] key = MessageDigest.getInstance("SHA-256")
                    .digest(dir.toRealPath().toString().getBytes(StandardCharsets.UTF_8));
            return folder().resolve(HexFormat.of().formatHex(key) + ".json");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
