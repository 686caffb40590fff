package ai.radiospark.hub;

import static ai.radiospark.hub.BlobCheck.blobName;
import static ai.radiospark.hub.BlobCheck.blobProblem;
import static ai.radiospark.hub.ModelResolver.CONFIG;
import static ai.radiospark.hub.ModelResolver.WEIGHTS;
import static ai.radiospark.hub.ModelResolver.WEIGHTS_INDEX;
import static ai.radiospark.hub.ModelResolver.inside;
import static ai.radiospark.hub.ModelResolver.shardsOf;

import ai.radiospark.RadioException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Hugging Face cache as Python's {@code huggingface_hub} lays it out, for {@link ModelResolver}:
 * {@code <cache>/models--org--name/} holds {@code refs/<branch>} (the commit a branch or tag
 * pointed at), {@code snapshots/<commit>/<file>} (a relative symlink to {@code
 * ../../blobs/<etag>}, or a copy where symlinks are not supported), {@code blobs/<etag>} and
 * {@code .no_exist/<commit>/<file>} (files the hub said are absent). A download holds the lock
 * {@code <cache>/.locks/models--org--name/<etag>.lock}, in this JVM and across processes, and is
 * done by {@link BlobDownload}.
 *
 * <p>{@link #inspect} says whether a snapshot is completely cached, for offline use and as the
 * fallback when the hub cannot be used. Logs under {@link ModelResolver}'s name.
 */
final class HubCache {
    private static final Logger LOG = LoggerFactory.getLogger(ModelResolver.class);

    static final Pattern SAFE_NAME = Pattern.compile("[A-Za-z0-9._-]+");
    private static final ConcurrentHashMap<Path, ReentrantLock> JVM_LOCKS = new ConcurrentHashMap<>();
    private static final java.util.Set<Path> SYMLINK_WARNED = ConcurrentHashMap.newKeySet();

    private final HubSettings settings;
    private final HubErrors errors;

    HubCache(HubSettings settings, HubErrors errors) {
        this.settings = settings;
        this.errors = errors;
    }

    /**
     * Makes {@code snapshots/<commit>/<file>} hold the blob {@code m} announces: a cache hit when
     * it is there and intact, else linked to the cached blob, else downloaded by {@code blobs}.
     */
    void fetch(BlobDownload blobs, HubModelId id, Path repoDir, String commit, String file, HubHttp.Metadata m) {
        Path snapshot = inside(repoDir.resolve("snapshots"), commit, "commit of " + id);
        Path pointer = inside(snapshot, file, "file name of " + id);
        Path blob = inside(repoDir.resolve("blobs"), m.etag(), "etag of " + file + " of " + id);
        boolean damaged = false;
        if (Files.exists(pointer)) {
            String problem = blobProblem(pointer, m.size(), m.etag(), settings.verify());
            if (problem == null) {
                LOG.debug("Cache hit: {} {} -> {}", id, file, pointer);
                return;
            }
            LOG.warn("Cached {} of {} is damaged ({}); downloading it again.", file, id, problem);
            damaged = true;
        }
        boolean replacePointer = damaged;
        Path lockFile = inside(
                inside(settings.cacheDir().resolve(".locks"), id.cacheFolderName(), "repo folder of " + id),
                m.etag() + ".lock",
                "etag of " + file + " of " + id);
        withLock(lockFile, () -> {
            if (Files.exists(pointer)) {
                if (blobProblem(pointer, m.size(), m.etag(), settings.verify()) == null) {
                    return; // completed by another thread or process while we waited for the lock
                }
                // a symlink is just re-created; a real file (no symlink support) must go as well
                Files.delete(pointer);
            }
            if (Files.exists(blob)) {
                String problem = blobProblem(blob, m.size(), m.etag(), settings.verify());
                if (problem == null) {
                    LOG.debug("Blob {} already cached for {} {}", blob.getFileName(), id, file);
                    link(blob, pointer, false);
                    return;
                }
                if (!replacePointer) { // else already reported
                    LOG.warn(
                            "Cached blob {} for {} of {} is damaged ({}); downloading it again.",
                            blob,
                            file,
                            id,
                            problem);
                }
                Files.delete(blob);
            }
            Files.deleteIfExists(pointer); // a dangling symlink
            blobs.download(id, file, m, blob);
            link(blob, pointer, true);
        });
    }

    /** What the cache holds for an id: the snapshot directory, and why it is incomplete if it is. */
    static final class CacheState {
        final Path snapshot;
        final String problem;

        CacheState(Path snapshot, String problem) {
            this.snapshot = snapshot;
            this.problem = problem;
        }

        boolean complete() {
            return problem == null;
        }
    }

    CacheState inspect(HubModelId id) {
        Path repoDir = inside(settings.cacheDir(), id.cacheFolderName(), "repo folder of " + id);
        if (!Files.isDirectory(repoDir)) {
            return new CacheState(null, "no folder " + repoDir);
        }
        String commit = id.revision();
        if (!id.isCommitHash()) {
            Path ref = inside(repoDir.resolve("refs"), id.revision(), "revision of " + id);
            try {
                commit = Files.isRegularFile(ref)
                        ? Files.readString(ref, StandardCharsets.UTF_8).trim()
                        : null;
            } catch (IOException e) {
                commit = null;
            }
            if (commit == null || commit.isEmpty() || !SAFE_NAME.matcher(commit).matches()) {
                return new CacheState(null, "no readable ref file " + ref + " for revision '" + id.revision() + "'");
            }
        }
        Path snapshot = inside(repoDir.resolve("snapshots"), commit, "commit of " + id);
        if (!Files.isDirectory(snapshot)) {
            return new CacheState(null, "no snapshot folder " + snapshot);
        }
        List<String> missing = new ArrayList<>();
        List<String> needed = new ArrayList<>();
        needed.add(CONFIG);
        if (Files.isRegularFile(snapshot.resolve(WEIGHTS))) {
            needed.add(WEIGHTS);
        } else if (Files.isRegularFile(snapshot.resolve(WEIGHTS_INDEX))) {
            needed.add(WEIGHTS_INDEX);
            try {
                needed.addAll(shardsOf(snapshot.resolve(WEIGHTS_INDEX), id));
            } catch (RadioException e) {
                return new CacheState(null, e.getMessage());
            }
        } else {
            missing.add(WEIGHTS + " (or " + WEIGHTS_INDEX + ")");
        }
        for (String f : needed) {
            Path p = inside(snapshot, f, "file name of " + id);
            if (!Files.isRegularFile(p)) {
                missing.add(f);
            } else if (settings.verify()) {
                String problem = blobProblem(p, null, blobName(p), true);
                if (problem != null) {
                    return new CacheState(
                            null,
                            "cached " + f + " is corrupted (" + problem + "); delete " + p
                                    + " and the blob it links to, then download again");
                }
            }
        }
        if (!missing.isEmpty()) {
            return new CacheState(null, "snapshot " + snapshot + " lacks " + String.join(", ", missing));
        }
        return new CacheState(snapshot, null);
    }

    void writeRef(Path repoDir, String revision, String commit) {
        Path ref = inside(repoDir.resolve("refs"), revision, "revision");
        try {
            if (Files.isRegularFile(ref)
                    && commit.equals(
                            Files.readString(ref, StandardCharsets.UTF_8).trim())) {
                return;
            }
            Files.createDirectories(ref.getParent());
            Path tmp = ref.resolveSibling(
                    ref.getFileName() + "." + UUID.randomUUID().toString().substring(0, 8) + ".tmp");
            Files.writeString(tmp, commit, StandardCharsets.UTF_8);
            moveAtomically(tmp, ref);
        } catch (IOException e) {
            throw errors.cacheWriteError(ref, e);
        }
    }

    void recordMissing(HubModelId id, String commit, String file) {
        if (!SAFE_NAME.matcher(commit).matches()) {
            return;
        }
        Path repoDir = inside(settings.cacheDir(), id.cacheFolderName(), "repo folder of " + id);
        Path marker =
                inside(inside(repoDir.resolve(".no_exist"), commit, "commit of " + id), file, "file name of " + id);
        try {
            Files.createDirectories(marker.getParent());
            if (!Files.exists(marker)) {
                Files.createFile(marker);
            }
        } catch (IOException e) {
            LOG.debug("Could not record the absence of {} in {}: {}", file, marker, e.toString());
        }
    }

    /**
     * Relative symlink pointer -> blob, as huggingface_hub's {@code _create_symlink}. Without symlink
     * support (or HF_HUB_DISABLE_SYMLINKS) a new blob is moved to the pointer, an existing one copied.
     */
    private void link(Path blob, Path pointer, boolean newBlob) throws IOException {
        Files.createDirectories(pointer.getParent());
        if (Files.exists(pointer, LinkOption.NOFOLLOW_LINKS)) {
            if (Files.exists(pointer)) {
                return; // created concurrently
            }
            Files.delete(pointer); // dangling symlink
        }
        Path relative = pointer.getParent().relativize(blob);
        if (settings.symlinks()) {
            try {
                Files.createSymbolicLink(pointer, relative);
                return;
            } catch (FileAlreadyExistsException e) {
                return; // another process linked it meanwhile
            } catch (UnsupportedOperationException | IOException | SecurityException e) {
                if (SYMLINK_WARNED.add(settings.cacheDir())) {
                    LOG.warn(
                            "Cannot create symlinks in the Hugging Face cache {} ({}); storing real files "
                                    + "in snapshots/ instead, as huggingface_hub does (uses more disk space when "
                                    + "several revisions share a file).",
                            settings.cacheDir(),
                            e.toString());
                }
            }
        }
        if (newBlob) {
            moveAtomically(blob, pointer);
        } else {
            Path tmp = pointer.resolveSibling(
                    pointer.getFileName() + "." + UUID.randomUUID().toString().substring(0, 8) + ".tmp");
            Files.copy(blob, tmp, StandardCopyOption.REPLACE_EXISTING);
            moveAtomically(tmp, pointer);
        }
    }

    static void moveAtomically(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private interface IoAction {
        void run() throws IOException;
    }

    /** In-JVM lock plus a FileChannel lock on {@code .locks/models--org--name/<etag>.lock}. */
    private void withLock(Path lockFile, IoAction action) {
        Path key = lockFile.toAbsolutePath().normalize();
        ReentrantLock jvmLock = JVM_LOCKS.computeIfAbsent(key, k -> new ReentrantLock());
        jvmLock.lock();
        try {
            Files.createDirectories(key.getParent());
            try (FileChannel channel = FileChannel.open(key, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                FileLock lock = null;
                try {
                    lock = channel.lock();
                } catch (IOException | OverlappingFileLockException e) {
                    LOG.warn("Cannot lock {} ({}); continuing without a cross-process lock.", key, e);
                }
                try {
                    action.run();
                } finally {
                    if (lock != null && lock.isValid()) {
                        lock.release();
                    }
                }
            }
        } catch (IOException e) {
            if (HubErrors.isNoSpace(e)) {
                throw new RadioException(
                        "No space left on the device of the Hugging Face cache "
                                + settings.cacheDir() + " (" + e.getMessage() + "). Free disk space, or point "
                                + "HF_HOME or HF_HUB_CACHE at a larger disk.",
                        e);
            }
            throw errors.cacheWriteError(lockFile, e);
        } finally {
            jvmLock.unlock();
        }
    }
}
