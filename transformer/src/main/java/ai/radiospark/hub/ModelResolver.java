package ai.radiospark.hub;

import ai.radiospark.RadioException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.UnknownHostException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a {@code --model} value into a local RADIO checkpoint directory (config.json plus
 * model.safetensors, or model.safetensors.index.json and its shards).
 *
 * <p>A value naming an existing directory is used as is. A Hugging Face id {@code
 * org/name[@revision]} is resolved through the cache shared with Python's {@code huggingface_hub}
 * ({@code <cache>/models--org--name/{refs,snapshots,blobs}}, see {@link HubSettings}), downloading
 * missing files like {@code hf_hub_download} does: HEAD {@code {endpoint}/{repo}/resolve/{rev}/{file}}
 * for commit, etag and size; GET into {@code blobs/<etag>.incomplete} under a lock in {@code
 * .locks/}, resuming with {@code Range}; verify size and hash; atomic rename to {@code
 * blobs/<etag>}; relative symlink {@code snapshots/<commit>/<file> -> ../../blobs/<etag>} (a copy
 * where symlinks are not supported); {@code refs/<branch>} holds the commit.
 *
 * <p>Offline ({@code HF_HUB_OFFLINE=1}) the network is never used. When the hub is unreachable (or
 * refuses the repo) but the snapshot is completely cached, the cache is used, as huggingface_hub
 * does.
 *
 * <p>Thread-safe; several threads or JVMs may resolve the same model concurrently.
 */
public final class ModelResolver {
  private static final Logger LOG = LoggerFactory.getLogger(ModelResolver.class);

  public static final String CONFIG = "config.json";
  public static final String WEIGHTS = "model.safetensors";
  public static final String WEIGHTS_INDEX = "model.safetensors.index.json";

  private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
  private static final Pattern SHA1 = Pattern.compile("[0-9a-f]{40}");
  private static final Pattern SAFE_NAME = Pattern.compile("[A-Za-z0-9._-]+");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ConcurrentHashMap<Path, ReentrantLock> JVM_LOCKS = new ConcurrentHashMap<>();
  private static final java.util.Set<Path> SYMLINK_WARNED = ConcurrentHashMap.newKeySet();
  private static final ScheduledExecutorService WATCHDOG =
      Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "radio-spark-hub-download-watchdog");
        t.setDaemon(true);
        return t;
      });

  private final HubSettings settings;
  private volatile HubHttp http;

  /** A resolver configured from the environment ({@link HubSettings#fromEnvironment()}). */
  public ModelResolver() {
    this(HubSettings.fromEnvironment());
  }

  public ModelResolver(HubSettings settings) {
    this.settings = Objects.requireNonNull(settings, "settings");
  }

  public HubSettings settings() {
    return settings;
  }

  /**
   * A model's location as a table records it, the same from any folder and on any machine: an
   * existing local directory as {@code file:} and its absolute, normalised path; a hub id as
   * {@code hub:org/name@revision}, the revision made explicit; a value already qualified, or
   * neither, as given. {@link #resolve(String)} takes every form.
   *
   * <pre>
   * qualified("samples/model-tiny-random") = "file:/home/me/radio-spark/samples/model-tiny-random"
   * qualified("nvidia/C-RADIOv4-H")        = "hub:nvidia/C-RADIOv4-H@main"
   * </pre>
   */
  public static String qualified(String model) {
    if (model.startsWith(FILE_PREFIX) || model.startsWith(HUB_PREFIX)) {
      return model;
    }
    try {
      Path p = Path.of(model);
      if (Files.exists(p)) {
        return FILE_PREFIX + p.toAbsolutePath().normalize();
      }
    } catch (InvalidPathException e) {
      // not a usable path; may still be a hub id
    }
    return HubModelId.parse(model).map(id -> HUB_PREFIX + id.repoId() + "@" + id.revision()).orElse(model);
  }

  /** A {@link #qualified} value without its prefix: a directory path or {@code org/name@revision}. */
  public static String unqualified(String model) {
    if (model.startsWith(HUB_PREFIX)) {
      return model.substring(HUB_PREFIX.length());
    }
    if (model.startsWith(FILE_PREFIX)) {
      return model.substring(FILE_PREFIX.length()).replaceFirst("^/+", "/");
    }
    return model;
  }

  private static final String FILE_PREFIX = "file:";
  private static final String HUB_PREFIX = "hub:";

  /**
   * Resolves a local checkpoint directory or a hub id {@code org/name[@revision]}, either of them
   * possibly {@link #qualified} ({@code file:/dir}, {@code hub:org/name@revision}), to a directory
   * holding config.json and the safetensors weights.
   *
   * @throws RadioException saying what is wrong and how to fix it
   */
  public Path resolve(String given) {
    String model = given == null ? null : unqualified(given);
    if (model == null || model.isBlank()) {
      throw new RadioException("No model given: pass a local RADIO checkpoint directory or a "
          + "Hugging Face hub id of the form org/name[@revision] (e.g. nvidia/RADIO-B).");
    }
    Path local = null;
    try {
      local = Path.of(model).toAbsolutePath();
    } catch (InvalidPathException e) {
      // not a usable path; may still be a hub id
    }
    if (local != null && Files.isDirectory(local)) {
      if (!Files.isRegularFile(local.resolve(CONFIG))) {
        throw new RadioException("Model directory " + local + " has no " + CONFIG
            + ": it is not a RADIO checkpoint. Point the model at a directory holding "
            + CONFIG + " and " + WEIGHTS + " (or " + WEIGHTS_INDEX + " and its shards), "
            + "or at a hub id org/name[@revision].");
      }
      LOG.debug("Model '{}' is the local directory {}", model, local);
      return local;
    }
    if (local != null && Files.exists(local)) {
      throw new RadioException("Model '" + model + "' is the file " + local + ", not a checkpoint "
          + "directory. Pass the directory that holds " + CONFIG + ", or a hub id org/name.");
    }
    Optional<HubModelId> id = HubModelId.parse(model);
    if (id.isEmpty()) {
      throw new RadioException("Model '" + model + "': no such directory"
          + (local != null ? " (" + local + ")" : "")
          + ", and not a hub id of the form org/name[@revision]. Pass an existing RADIO "
          + "checkpoint directory, or a Hugging Face id such as nvidia/RADIO-B or "
          + "nvidia/RADIO-B@<branch|tag|commit>.");
    }
    return resolve(id.get());
  }

  /** Resolves a hub id through the cache (and the hub unless offline). */
  public Path resolve(HubModelId id) {
    if (settings.offline()) {
      CacheState state = inspectCache(id);
      if (state.complete()) {
        LOG.debug("HF_HUB_OFFLINE: using cached {} at {}", id, state.snapshot);
        return state.snapshot;
      }
      throw new RadioException("HF_HUB_OFFLINE is set, so the hub is not contacted, and model '"
          + id + "' is not completely in the Hugging Face cache " + settings.cacheDir() + ": "
          + state.problem + ". Download it once with network access (unset HF_HUB_OFFLINE), or "
          + "run `huggingface-cli download " + id.repoId() + " --revision " + id.revision()
          + "` with the same HF_HOME/HF_HUB_CACHE, or pass a local checkpoint directory.");
    }
    if (id.isCommitHash() && !settings.verify()) {
      CacheState state = inspectCache(id);
      if (state.complete()) {
        LOG.debug("Commit {} of {} is cached at {}", id.revision(), id.repoId(), state.snapshot);
        return state.snapshot;
      }
    }
    try {
      return resolveOnline(id);
    } catch (HubUnavailable e) {
      CacheState state = inspectCache(id);
      if (state.complete()) {
        LOG.warn("{} Using the cached snapshot {} instead.", e.getMessage(), state.snapshot);
        return state.snapshot;
      }
      if (e.network) {
        throw new RadioException(e.getMessage() + " The model is not completely cached in "
            + settings.cacheDir() + " either (" + state.problem + "). Check the network, proxy "
            + "and HF_ENDPOINT; if the model is already cached elsewhere, point HF_HOME or "
            + "HF_HUB_CACHE there and set HF_HUB_OFFLINE=1.", e.getCause());
      }
      throw new RadioException(e.getMessage(), e.getCause());
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Online

  private Path resolveOnline(HubModelId id) {
    Path repoDir = inside(settings.cacheDir(), id.cacheFolderName(), "repo folder of " + id);
    HubHttp.Metadata config = head(id, id.revision(), CONFIG, false);
    String commit = config.commitHash();
    if (commit == null || !SAFE_NAME.matcher(commit).matches() || commit.startsWith(".")) {
      throw new HubUnavailable("The server at " + settings.endpoint() + " answered for "
          + url(id, id.revision(), CONFIG) + " without a valid X-Repo-Commit header ("
          + commit + "): it does not look like a Hugging Face hub (proxy or firewall in the way?) "
          + "Check HF_ENDPOINT and proxy settings.", null, true);
    }
    if (!commit.equals(id.revision())) {
      writeRef(repoDir, id.revision(), commit);
    }
    // All further files at the commit, so that a push during the download cannot mix revisions.
    Path snapshot = inside(repoDir.resolve("snapshots"), commit, "commit of " + id);
    fetch(id, repoDir, commit, CONFIG, config);
    HubHttp.Metadata weights = head(id, commit, WEIGHTS, true);
    if (weights != null) {
      fetch(id, repoDir, commit, WEIGHTS, weights);
      return snapshot;
    }
    HubHttp.Metadata index = head(id, commit, WEIGHTS_INDEX, true);
    if (index == null) {
      throw new RadioException("Hugging Face repo '" + id.repoId() + "' at revision "
          + id.revision() + " (commit " + commit + ") has neither " + WEIGHTS + " nor "
          + WEIGHTS_INDEX + ": it is not a RADIO checkpoint in safetensors format. Use a repo "
          + "or revision with safetensors weights (see " + settings.endpoint() + "/"
          + id.repoId() + "/tree/" + id.revision() + ").");
    }
    fetch(id, repoDir, commit, WEIGHTS_INDEX, index);
    for (String shard : shardsOf(snapshot.resolve(WEIGHTS_INDEX), id)) {
      HubHttp.Metadata m = head(id, commit, shard, true);
      if (m == null) {
        throw new RadioException("Hugging Face repo '" + id.repoId() + "' (commit " + commit
            + "): " + WEIGHTS_INDEX + " lists the shard '" + shard + "', but the repo has no such "
            + "file. The checkpoint upload is incomplete; report it to the repo owner or use "
            + "another revision.");
      }
      fetch(id, repoDir, commit, shard, m);
    }
    return snapshot;
  }

  /**
   * HEAD for a file. Returns null on EntryNotFound when {@code missingOk} (and records it in
   * {@code .no_exist/} like huggingface_hub); errors that make the cache a valid fallback are
   * thrown as {@link HubUnavailable}.
   */
  private HubHttp.Metadata head(HubModelId id, String revision, String file, boolean missingOk) {
    URI url = url(id, revision, file);
    HubHttp.Metadata m;
    try {
      m = http().head(url);
    } catch (HubHttp.StatusException e) {
      if ("EntryNotFound".equals(e.errorCode) && missingOk) {
        recordMissing(id, e.repoCommit != null ? e.repoCommit : revision, file);
        return null;
      }
      throw httpError(e, id, file);
    } catch (IOException e) {
      throw unreachable(e, url);
    }
    if (m.etag() == null || m.size() == null) {
      throw new HubUnavailable("The server at " + settings.endpoint() + " answered for " + url
          + " without " + (m.etag() == null ? "an ETag/X-Linked-Etag" : "a size")
          + " header, so the download cannot be verified: it does not look like a Hugging Face "
          + "hub (proxy or firewall in the way?). Check HF_ENDPOINT and proxy settings.",
          null, true);
    }
    if (!SAFE_NAME.matcher(m.etag()).matches() || m.etag().startsWith(".")) {
      throw new RadioException("The hub answered for " + url + " with the unusable etag '"
          + m.etag() + "'. Check HF_ENDPOINT points at a Hugging Face hub.");
    }
    return m;
  }

  private void fetch(HubModelId id, Path repoDir, String commit, String file, HubHttp.Metadata m) {
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
    Path lockFile = inside(inside(settings.cacheDir().resolve(".locks"), id.cacheFolderName(),
        "repo folder of " + id), m.etag() + ".lock", "etag of " + file + " of " + id);
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
          LOG.warn("Cached blob {} for {} of {} is damaged ({}); downloading it again.", blob,
              file, id, problem);
        }
        Files.delete(blob);
      }
      Files.deleteIfExists(pointer); // a dangling symlink
      download(id, file, m, blob);
      link(blob, pointer, true);
    });
  }

  private void download(HubModelId id, String file, HubHttp.Metadata m, Path blob)
      throws IOException {
    long size = m.size();
    Files.createDirectories(blob.getParent());
    Path incomplete = blob.resolveSibling(blob.getFileName() + ".incomplete");
    long have = Files.exists(incomplete) ? Files.size(incomplete) : 0;
    if (have > size) {
      Files.delete(incomplete);
      have = 0;
    }
    checkSpace(id, file, blob.getParent(), size - have);
    LOG.info("Downloading {} of {} ({}) from {}{}", file, id, human(size), m.location(),
        have > 0 ? " (resuming at byte " + have + ")" : "");
    MessageDigest digest = digestFor(m.etag(), size);
    if (digest != null && have > 0) {
      try (InputStream in = Files.newInputStream(incomplete)) {
        update(digest, in, Long.MAX_VALUE, null);
      }
    }
    int attempts = settings.downloadAttempts();
    for (int attempt = 1; ; attempt++) {
      if (have == size) {
        break;
      }
      try (HubHttp.Body body = http().get(m.location(), have)) {
        if (body.status() == 416) { // our partial file does not fit the server's: start over
          have = restart(incomplete, digest, m.etag(), size);
          throw new IOException("server rejected Range bytes=" + have + "- (HTTP 416)");
        }
        if (have > 0 && (body.status() == 200 || !startsAt(body.contentRange(), have))) {
          LOG.warn("Server ignored the Range request for {}; downloading {} from the start", file,
              id);
          have = restart(incomplete, digest, m.etag(), size);
        }
        try (OutputStream out = Files.newOutputStream(incomplete, StandardOpenOption.CREATE,
            StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
          final long[] counter = {have};
          AtomicLong lastProgress = new AtomicLong(System.nanoTime());
          AtomicBoolean stalled = new AtomicBoolean();
          long limit = settings.downloadTimeout().toNanos();
          long period = Math.max(50, settings.downloadTimeout().toMillis() / 4);
          // Read timeout, as huggingface_hub's HF_HUB_DOWNLOAD_TIMEOUT: HttpClient has none for
          // bodies, so a watchdog closes a stream that delivered nothing for that long.
          var stream = body; // closed by the watchdog too, from its thread
          ScheduledFuture<?> dog = WATCHDOG.scheduleWithFixedDelay(() -> {
            if (System.nanoTime() - lastProgress.get() > limit && !stalled.getAndSet(true)) {
              try {
                stream.close();
              } catch (IOException | RuntimeException ignored) {
                // the reader fails either way
              }
            }
          }, period, period, TimeUnit.MILLISECONDS);
          try {
            update(digest, body.stream(), size - have + 1, bytes -> {
              out.write(bytes.buf, 0, bytes.len);
              counter[0] += bytes.len;
              lastProgress.set(System.nanoTime());
            });
          } catch (IOException e) {
            if (stalled.get()) {
              throw new IOException("no data received for " + settings.downloadTimeout()
                  .toSeconds() + " s (HF_HUB_DOWNLOAD_TIMEOUT)", e);
            }
            throw e;
          } finally {
            dog.cancel(false);
            have = counter[0];
          }
          if (stalled.get() && counter[0] < size) {
            throw new IOException("no data received for " + settings.downloadTimeout()
                .toSeconds() + " s (HF_HUB_DOWNLOAD_TIMEOUT)");
          }
        }
        if (have < size) {
          throw new IOException("connection closed after " + have + " of " + size + " bytes");
        }
        if (have > size) {
          Files.deleteIfExists(incomplete);
          throw corrupted(id, file, m, "the server sent more than the announced " + size
              + " bytes");
        }
      } catch (HubHttp.StatusException e) {
        boolean retriable = e.status >= 500 || e.status == 429 || e.status == 408;
        if (!retriable || attempt >= attempts) {
          RuntimeException mapped = httpError(e, id, file);
          throw mapped instanceof HubUnavailable ? new RadioException(mapped.getMessage(), e)
              : mapped;
        }
        backoff(attempt, file, id, have, size, e);
      } catch (IOException e) {
        if (isNoSpace(e)) {
          throw noSpace(id, file, blob.getParent(), size - have, e);
        }
        if (attempt >= attempts) {
          throw new RadioException("Download of " + file + " of " + id + " from " + m.location()
              + " failed after " + attempts + " attempts (" + e + "); " + have + " of " + size
              + " bytes are kept in " + incomplete + " and the next run resumes from there. "
              + "Check the network and run again.", e);
        }
        backoff(attempt, file, id, have, size, e);
      }
    }
    if (digest != null) {
      String actual = HexFormat.of().formatHex(digest.digest());
      if (!actual.equals(m.etag())) {
        if (SHA256.matcher(m.etag()).matches()) {
          Files.deleteIfExists(incomplete);
          throw corrupted(id, file, m, "its SHA-256 is " + actual);
        }
        // Non-LFS etags are the git blob sha1 on huggingface.co; other servers may differ: warn.
        LOG.warn("Downloaded {} of {}: git blob sha1 {} differs from the etag {}; keeping it "
            + "(size matches).", file, id, actual, m.etag());
      }
    }
    moveAtomically(incomplete, blob);
    LOG.info("Downloaded {} of {} ({}) into {}", file, id, human(size), blob);
  }

  // ---------------------------------------------------------------------------------------------
  // Offline / cache inspection

  /** What the cache holds for an id: the snapshot directory, and why it is incomplete if it is. */
  private static final class CacheState {
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

  private CacheState inspectCache(HubModelId id) {
    Path repoDir = inside(settings.cacheDir(), id.cacheFolderName(), "repo folder of " + id);
    if (!Files.isDirectory(repoDir)) {
      return new CacheState(null, "no folder " + repoDir);
    }
    String commit = id.revision();
    if (!id.isCommitHash()) {
      Path ref = inside(repoDir.resolve("refs"), id.revision(), "revision of " + id);
      try {
        commit = Files.isRegularFile(ref) ? Files.readString(ref, StandardCharsets.UTF_8).trim()
            : null;
      } catch (IOException e) {
        commit = null;
      }
      if (commit == null || commit.isEmpty() || !SAFE_NAME.matcher(commit).matches()) {
        return new CacheState(null, "no readable ref file " + ref + " for revision '"
            + id.revision() + "'");
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
          return new CacheState(null, "cached " + f + " is corrupted (" + problem + "); delete "
              + p + " and the blob it links to, then download again");
        }
      }
    }
    if (!missing.isEmpty()) {
      return new CacheState(null, "snapshot " + snapshot + " lacks " + String.join(", ", missing));
    }
    return new CacheState(snapshot, null);
  }

  // ---------------------------------------------------------------------------------------------
  // Cache writing helpers

  /**
   * {@code root/name} for a relative name that the hub, or a cache it filled, gave: a file or shard
   * name, a revision, a commit, an etag. Every cache path built from such a name goes through here,
   * so that none can reach outside {@code root}. Refused: empty, absolute, with a backslash, NUL, or
   * an empty, {@code .} or {@code ..} segment.
   *
   * @param what the kind of name and whose, for the message ("shard name of org/name@main")
   */
  static Path inside(Path root, String name, String what) {
    String why = null;
    if (name == null || name.isEmpty()) {
      why = "it is empty";
    } else if (name.indexOf('\\') >= 0 || name.indexOf('\0') >= 0) {
      why = "it contains a backslash or NUL";
    } else if (name.startsWith("/")) {
      why = "it is an absolute path";
    } else {
      for (String segment : name.split("/", -1)) {
        if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
          why = "it has the path segment '" + segment + "'";
          break;
        }
      }
    }
    Path p = null;
    if (why == null) {
      try {
        Path relative = root.getFileSystem().getPath(name);
        p = root.resolve(relative).normalize();
        if (relative.isAbsolute() || relative.getRoot() != null
            || !p.startsWith(root.normalize()) || p.equals(root.normalize())) {
          why = "it leads outside " + root;
        }
      } catch (InvalidPathException e) {
        why = "it is not a valid file name here (" + e.getReason() + ")";
      }
    }
    if (why != null) {
      throw new RadioException("Refusing the " + what + " '" + name + "' from the Hugging Face hub: "
          + why + ", and the cache keeps every file inside " + root + ". The repo's files are "
          + "malformed or HF_ENDPOINT is not a trustworthy hub: use another revision or repo, or "
          + "check HF_ENDPOINT.");
    }
    return p;
  }

  private void writeRef(Path repoDir, String revision, String commit) {
    Path ref = inside(repoDir.resolve("refs"), revision, "revision");
    try {
      if (Files.isRegularFile(ref)
          && commit.equals(Files.readString(ref, StandardCharsets.UTF_8).trim())) {
        return;
      }
      Files.createDirectories(ref.getParent());
      Path tmp = ref.resolveSibling(ref.getFileName() + "." + UUID.randomUUID().toString()
          .substring(0, 8) + ".tmp");
      Files.writeString(tmp, commit, StandardCharsets.UTF_8);
      moveAtomically(tmp, ref);
    } catch (IOException e) {
      throw cacheWriteError(ref, e);
    }
  }

  private void recordMissing(HubModelId id, String commit, String file) {
    if (!SAFE_NAME.matcher(commit).matches()) {
      return;
    }
    Path repoDir = inside(settings.cacheDir(), id.cacheFolderName(), "repo folder of " + id);
    Path marker = inside(inside(repoDir.resolve(".no_exist"), commit, "commit of " + id), file,
        "file name of " + id);
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
          LOG.warn("Cannot create symlinks in the Hugging Face cache {} ({}); storing real files "
              + "in snapshots/ instead, as huggingface_hub does (uses more disk space when "
              + "several revisions share a file).", settings.cacheDir(), e.toString());
        }
      }
    }
    if (newBlob) {
      moveAtomically(blob, pointer);
    } else {
      Path tmp = pointer.resolveSibling(pointer.getFileName() + "." + UUID.randomUUID()
          .toString().substring(0, 8) + ".tmp");
      Files.copy(blob, tmp, StandardCopyOption.REPLACE_EXISTING);
      moveAtomically(tmp, pointer);
    }
  }

  private static void moveAtomically(Path from, Path to) throws IOException {
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
      try (FileChannel channel = FileChannel.open(key, StandardOpenOption.CREATE,
          StandardOpenOption.WRITE)) {
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
      if (isNoSpace(e)) {
        throw new RadioException("No space left on the device of the Hugging Face cache "
            + settings.cacheDir() + " (" + e.getMessage() + "). Free disk space, or point "
            + "HF_HOME or HF_HUB_CACHE at a larger disk.", e);
      }
      throw cacheWriteError(lockFile, e);
    } finally {
      jvmLock.unlock();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Verification

  /** Null when {@code file} has the expected size and (if {@code rehash}) its sha256 etag. */
  private static String blobProblem(Path file, Long size, String etag, boolean rehash) {
    try {
      long actual = Files.size(file);
      if (size != null && actual != size) {
        return "it has " + actual + " bytes, the hub says " + size;
      }
      if (rehash && etag != null && SHA256.matcher(etag).matches()) {
        MessageDigest d = sha256();
        try (InputStream in = Files.newInputStream(file)) {
          update(d, in, Long.MAX_VALUE, null);
        }
        String hex = HexFormat.of().formatHex(d.digest());
        if (!hex.equals(etag)) {
          return "its SHA-256 is " + hex + ", expected " + etag;
        }
      }
      return null;
    } catch (IOException e) {
      return "unreadable: " + e.getMessage();
    }
  }

  private static String blobName(Path pointer) {
    try {
      return pointer.toRealPath().getFileName().toString();
    } catch (IOException e) {
      return null;
    }
  }

  /** sha256 for LFS etags, git blob sha1 for 40-hex etags, none otherwise. */
  private static MessageDigest digestFor(String etag, long size) {
    if (SHA256.matcher(etag).matches()) {
      return sha256();
    }
    if (SHA1.matcher(etag).matches()) {
      try {
        MessageDigest d = MessageDigest.getInstance("SHA-1");
        d.update(("blob " + size + "\0").getBytes(StandardCharsets.US_ASCII));
        return d;
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }
    return null;
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static final class Chunk {
    final byte[] buf = new byte[1 << 16];
    int len;
  }

  private interface ChunkSink {
    void accept(Chunk c) throws IOException;
  }

  /** Copies up to {@code limit} bytes from {@code in} into the digest and the sink. */
  private static void update(MessageDigest d, InputStream in, long limit, ChunkSink sink)
      throws IOException {
    Chunk c = new Chunk();
    long left = limit;
    while (left > 0) {
      int n = in.read(c.buf, 0, (int) Math.min(c.buf.length, left));
      if (n < 0) {
        return;
      }
      c.len = n;
      left -= n;
      if (d != null) {
        d.update(c.buf, 0, n);
      }
      if (sink != null) {
        sink.accept(c);
      }
    }
  }

  private static long restart(Path incomplete, MessageDigest digest, String etag, long size)
      throws IOException {
    Files.deleteIfExists(incomplete);
    if (digest != null) {
      digest.reset();
      if (SHA1.matcher(etag).matches()) {
        digest.update(("blob " + size + "\0").getBytes(StandardCharsets.US_ASCII));
      }
    }
    return 0;
  }

  private static boolean startsAt(String contentRange, long offset) {
    // "bytes 100-199/200"
    return contentRange != null
        && contentRange.trim().toLowerCase(Locale.ROOT).startsWith("bytes " + offset + "-");
  }

  // ---------------------------------------------------------------------------------------------
  // Index

  private static List<String> shardsOf(Path index, HubModelId id) {
    JsonNode map;
    try {
      map = JSON.readTree(index.toFile()).get("weight_map");
    } catch (IOException e) {
      throw new RadioException("Cannot read " + WEIGHTS_INDEX + " of " + id + " at " + index
          + ": " + e.getMessage() + ". Delete it from the cache to download it again.", e);
    }
    if (map == null || !map.isObject() || map.isEmpty()) {
      throw new RadioException(WEIGHTS_INDEX + " of " + id + " at " + index + " has no "
          + "\"weight_map\" object (tensor name -> shard file): it is not a safetensors index.");
    }
    TreeSet<String> shards = new TreeSet<>();
    for (Map.Entry<String, JsonNode> entry : map.properties()) {
      JsonNode v = entry.getValue();
      if (!v.isTextual() || v.asText().isBlank()) {
        throw new RadioException(WEIGHTS_INDEX + " of " + id + " maps a tensor to " + v
            + ", not to a shard file name.");
      }
      // refused here, before any request or cache path is made from it
      inside(index.getParent(), v.asText(), "shard name in " + WEIGHTS_INDEX + " of " + id);
      shards.add(v.asText());
    }
    return new ArrayList<>(shards);
  }

  // ---------------------------------------------------------------------------------------------
  // Errors

  /** The hub could not be used; the cache is an acceptable fallback (as in huggingface_hub). */
  private static final class HubUnavailable extends RadioException {
    private static final long serialVersionUID = 1L;
    final boolean network;

    HubUnavailable(String message, Throwable cause, boolean network) {
      super(message, cause);
      this.network = network;
    }
  }

  private HubUnavailable unreachable(IOException e, URI url) {
    String why = e instanceof ConnectException ? "connection refused"
        : e instanceof UnknownHostException ? "unknown host"
        : e instanceof HttpConnectTimeoutException ? "connect timeout after "
            + settings.connectTimeout().toSeconds() + " s"
        : e instanceof HttpTimeoutException ? "no answer within "
            + settings.metadataTimeout().toSeconds() + " s (HF_HUB_ETAG_TIMEOUT)"
        : e.toString();
    return new HubUnavailable("Cannot reach " + settings.endpoint() + " (" + why + ") to "
        + "resolve " + url + ".", e, true);
  }

  private RuntimeException httpError(HubHttp.StatusException e, HubModelId id, String file) {
    String repoPage = settings.endpoint() + "/" + id.repoId();
    String code = e.errorCode;
    if ("RevisionNotFound".equals(code)) {
      return new RadioException("Revision '" + id.revision() + "' does not exist in Hugging Face "
          + "repo '" + id.repoId() + "' (HTTP " + e.status + " for " + e.url + "). Use an existing "
          + "branch, tag or full 40-hex commit hash (see " + repoPage + "/tree/main), e.g. "
          + id.repoId() + "@main.", e);
    }
    if ("EntryNotFound".equals(code)) {
      return new RadioException("Hugging Face repo '" + id.repoId() + "' has no file '" + file
          + "' at revision " + id.revision() + " (HTTP " + e.status + " for " + e.url + "): it is "
          + "not a RADIO checkpoint in Hugging Face format (" + CONFIG + " + safetensors). Check "
          + "the id and revision.", e);
    }
    if ("GatedRepo".equals(code)) {
      return new HubUnavailable("Hugging Face repo '" + id.repoId() + "' is gated (HTTP "
          + e.status + " for " + e.url + "): "
          + (settings.token().isPresent()
              ? "the token in HF_TOKEN belongs to an account that has not been granted access. "
              : "no token was sent. ")
          + "Accept the license on the hub page " + repoPage + " and set HF_TOKEN to a token "
          + "(https://huggingface.co/settings/tokens) of the account that accepted it.", e, false);
    }
    if (e.status == 401 && "Invalid credentials in Authorization header".equals(e.errorMessage)) {
      return new HubUnavailable("The hub " + settings.endpoint() + " rejected the token in "
          + "HF_TOKEN (HTTP 401, invalid credentials) while resolving '" + id.repoId() + "'. "
          + "Set HF_TOKEN to a valid token from https://huggingface.co/settings/tokens, or unset "
          + "it for public repos.", e, false);
    }
    if ("RepoNotFound".equals(code) || e.status == 401) {
      return new HubUnavailable("Hugging Face repo '" + id.repoId() + "' does not exist, or is "
          + "private/gated (HTTP " + e.status + " for " + e.url + "). Check the id (" + repoPage
          + "); if it is private or gated, "
          + (settings.token().isPresent()
              ? "make sure the token in HF_TOKEN has read access to it."
              : "set HF_TOKEN to a token with read access (https://huggingface.co/settings/tokens).")
          , e, false);
    }
    if (e.status == 403) {
      return new HubUnavailable("Access to Hugging Face repo '" + id.repoId() + "' is forbidden "
          + "(HTTP 403 for " + e.url + (e.errorMessage != null ? ": " + e.errorMessage : "")
          + "). Make sure HF_TOKEN is set to a token with read access to " + repoPage + ".", e,
          false);
    }
    return new HubUnavailable("The hub " + settings.endpoint() + " answered HTTP " + e.status
        + (e.errorMessage != null ? " (" + e.errorMessage + ")" : "") + " for " + e.url
        + " while resolving '" + id + "'. Try again later; if the model is already cached, set "
        + "HF_HUB_OFFLINE=1.", e, e.status >= 500 || e.status == 429);
  }

  private RadioException corrupted(HubModelId id, String file, HubHttp.Metadata m, String why) {
    return new RadioException("Corrupted download of " + file + " of " + id + " from "
        + m.location() + ": " + why + ", but the hub announced " + m.etag() + " (" + m.size()
        + " bytes). The partial file was deleted and nothing was cached; run again, and if it "
        + "persists check proxies between you and " + settings.endpoint() + ".");
  }

  private void checkSpace(HubModelId id, String file, Path dir, long needed) {
    try {
      long usable = Files.getFileStore(dir).getUsableSpace();
      if (usable < needed) {
        throw new RadioException("Not enough disk space to download " + file + " of " + id
            + " into the Hugging Face cache " + settings.cacheDir() + ": needs " + needed
            + " bytes (" + human(needed) + "), only " + usable + " bytes (" + human(usable)
            + ") free. Free disk space, or point HF_HOME or HF_HUB_CACHE at a larger disk.");
      }
    } catch (IOException e) {
      LOG.debug("Cannot check free space in {}: {}", dir, e.toString());
    }
  }

  private RadioException noSpace(HubModelId id, String file, Path dir, long needed,
      IOException e) {
    return new RadioException("No space left on the device while downloading " + file + " of "
        + id + " into the Hugging Face cache " + settings.cacheDir() + " (" + dir + "): still "
        + needed + " bytes (" + human(needed) + ") needed. Free disk space, or point HF_HOME or "
        + "HF_HUB_CACHE at a larger disk; the partial download is kept and resumed next time.", e);
  }

  private RadioException cacheWriteError(Path path, IOException e) {
    return new RadioException("Cannot write to the Hugging Face cache at " + path + " (" + e
        + "). Make the cache writable, or point HF_HOME or HF_HUB_CACHE at a writable "
        + "directory.", e);
  }

  private static boolean isNoSpace(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t.getMessage() != null && t.getMessage().contains("No space left")) {
        return true;
      }
    }
    return false;
  }

  // ---------------------------------------------------------------------------------------------

  private void backoff(int attempt, String file, HubModelId id, long have, long size,
      Exception e) {
    long millis = Math.min(8000L, 250L << Math.min(attempt - 1, 5));
    LOG.warn("Download of {} of {} interrupted at {} of {} bytes ({}); retrying in {} ms from "
        + "there.", file, id, have, size, e.toString(), millis);
    try {
      Thread.sleep(millis);
    } catch (InterruptedException ie) {
      Thread.currentThread().interrupt();
      throw new RadioException("Interrupted while downloading " + file + " of " + id + ".", ie);
    }
  }

  private HubHttp http() {
    if (settings.offline()) {
      throw new IllegalStateException("network use in offline mode");
    }
    HubHttp h = http;
    if (h == null) {
      synchronized (this) {
        h = http;
        if (h == null) {
          h = new HubHttp(settings);
          http = h;
        }
      }
    }
    return h;
  }

  private URI url(HubModelId id, String revision, String file) {
    StringBuilder sb = new StringBuilder(settings.endpoint()).append('/').append(id.repoId())
        .append("/resolve/").append(encode(revision));
    for (String part : file.split("/")) {
      sb.append('/').append(encode(part));
    }
    return URI.create(sb.toString());
  }

  private static String encode(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  static String human(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    double v = bytes;
    String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    int u = -1;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }
}
