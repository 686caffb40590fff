package ai.radiospark.hub;

import ai.radiospark.RadioException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a {@code --model} value into a local RADIO checkpoint directory (config.json plus
 * model.safetensors, or model.safetensors.index.json and its shards).
 *
 * <p>A value naming an existing directory is used as is. A Hugging Face id {@code
 * org/name[@revision]} is resolved through the cache shared with Python's {@code huggingface_hub}
 * ({@code <cache>/models--org--name/{refs,snapshots,blobs}}, see {@link HubSettings}), downloading
 * missing files like {@code hf_hub_download} does. This class decides what to fetch: the HEAD of
 * config.json at the revision gives the commit, and config.json, the weights (or the index and its
 * shards) are then all fetched at that commit. The parts, package-private:
 *
 * <ul>
 *   <li>{@code HubCache}: the cache layout, refs, snapshots, locks, and what a cached snapshot
 *       lacks;
 *   <li>{@code BlobDownload}: HEAD and GET of one file, with the read watchdog, {@code Range}
 *       resume and retries; {@code BlobCheck}: its size and hash verification;
 *   <li>{@code HubErrors}: the one-line messages for failures of the hub, the network and the disk.
 * </ul>
 *
 * <p>Every cache path built from a name the hub (or a cache it filled) gave goes through {@link
 * #inside}.
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

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HubSettings settings;
    private final HubCache cache;
    private final BlobDownload blobs;

    /** A resolver configured from the environment ({@link HubSettings#fromEnvironment()}). */
    public ModelResolver() {
        this(HubSettings.fromEnvironment());
    }

    public ModelResolver(HubSettings settings) {
        this.settings = Objects.requireNonNull(settings, "settings");
        HubErrors errors = new HubErrors(settings);
        this.cache = new HubCache(settings, errors);
        this.blobs = new BlobDownload(settings, errors, cache);
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
        return HubModelId.parse(model)
                .map(id -> HUB_PREFIX + id.repoId() + "@" + id.revision())
                .orElse(model);
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
            HubCache.CacheState state = cache.inspect(id);
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
            HubCache.CacheState state = cache.inspect(id);
            if (state.complete()) {
                LOG.debug("Commit {} of {} is cached at {}", id.revision(), id.repoId(), state.snapshot);
                return state.snapshot;
            }
        }
        try {
            return resolveOnline(id);
        } catch (HubErrors.HubUnavailable e) {
            HubCache.CacheState state = cache.inspect(id);
            if (state.complete()) {
                LOG.warn("{} Using the cached snapshot {} instead.", e.getMessage(), state.snapshot);
                return state.snapshot;
            }
            if (e.network) {
                throw new RadioException(
                        e.getMessage() + " The model is not completely cached in "
                                + settings.cacheDir() + " either (" + state.problem + "). Check the network, proxy "
                                + "and HF_ENDPOINT; if the model is already cached elsewhere, point HF_HOME or "
                                + "HF_HUB_CACHE there and set HF_HUB_OFFLINE=1.",
                        e.getCause());
            }
            throw new RadioException(e.getMessage(), e.getCause());
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Online

    private Path resolveOnline(HubModelId id) {
        Path repoDir = inside(settings.cacheDir(), id.cacheFolderName(), "repo folder of " + id);
        HubHttp.Metadata config = blobs.head(id, id.revision(), CONFIG, false);
        String commit = config.commitHash();
        if (commit == null || !HubCache.SAFE_NAME.matcher(commit).matches() || commit.startsWith(".")) {
            throw new HubErrors.HubUnavailable(
                    "The server at " + settings.endpoint() + " answered for "
                            + blobs.url(id, id.revision(), CONFIG) + " without a valid X-Repo-Commit header ("
                            + commit + "): it does not look like a Hugging Face hub (proxy or firewall in the way?) "
                            + "Check HF_ENDPOINT and proxy settings.",
                    null,
                    true);
        }
        if (!commit.equals(id.revision())) {
            cache.writeRef(repoDir, id.revision(), commit);
        }
        // All further files at the commit, so that a push during the download cannot mix revisions.
        Path snapshot = inside(repoDir.resolve("snapshots"), commit, "commit of " + id);
        cache.fetch(blobs, id, repoDir, commit, CONFIG, config);
        HubHttp.Metadata weights = blobs.head(id, commit, WEIGHTS, true);
        if (weights != null) {
            cache.fetch(blobs, id, repoDir, commit, WEIGHTS, weights);
            return snapshot;
        }
        HubHttp.Metadata index = blobs.head(id, commit, WEIGHTS_INDEX, true);
        if (index == null) {
            throw new RadioException("Hugging Face repo '" + id.repoId() + "' at revision "
                    + id.revision() + " (commit " + commit + ") has neither " + WEIGHTS + " nor "
                    + WEIGHTS_INDEX + ": it is not a RADIO checkpoint in safetensors format. Use a repo "
                    + "or revision with safetensors weights (see " + settings.endpoint() + "/"
                    + id.repoId() + "/tree/" + id.revision() + ").");
        }
        cache.fetch(blobs, id, repoDir, commit, WEIGHTS_INDEX, index);
        for (String shard : shardsOf(snapshot.resolve(WEIGHTS_INDEX), id)) {
            HubHttp.Metadata m = blobs.head(id, commit, shard, true);
            if (m == null) {
                throw new RadioException("Hugging Face repo '" + id.repoId() + "' (commit " + commit
                        + "): " + WEIGHTS_INDEX + " lists the shard '" + shard + "', but the repo has no such "
                        + "file. The checkpoint upload is incomplete; report it to the repo owner or use "
                        + "another revision.");
            }
            cache.fetch(blobs, id, repoDir, commit, shard, m);
        }
        return snapshot;
    }

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
                if (relative.isAbsolute()
                        || relative.getRoot() != null
                        || !p.startsWith(root.normalize())
                        || p.equals(root.normalize())) {
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

    /**
     * The shard file names that {@code model.safetensors.index.json} maps tensors to, sorted, each
     * checked by {@link #inside}.
     */
    static List<String> shardsOf(Path index, HubModelId id) {
        JsonNode map;
        try {
            map = JSON.readTree(index.toFile()).get("weight_map");
        } catch (IOException e) {
            throw new RadioException(
                    "Cannot read " + WEIGHTS_INDEX + " of " + id + " at " + index + ": " + e.getMessage()
                            + ". Delete it from the cache to download it again.",
                    e);
        }
        if (map == null || !map.isObject() || map.isEmpty()) {
            throw new RadioException(WEIGHTS_INDEX + " of " + id + " at " + index + " has no "
                    + "\"weight_map\" object (tensor name -> shard file): it is not a safetensors index.");
        }
        TreeSet<String> shards = new TreeSet<>();
        for (Map.Entry<String, JsonNode> entry : map.properties()) {
            JsonNode v = entry.getValue();
            if (!v.isTextual() || v.asText().isBlank()) {
                throw new RadioException(
                        WEIGHTS_INDEX + " of " + id + " maps a tensor to " + v + ", not to a shard file name.");
            }
            // refused here, before any request or cache path is made from it
            inside(index.getParent(), v.asText(), "shard name in " + WEIGHTS_INDEX + " of " + id);
            shards.add(v.asText());
        }
        return new ArrayList<>(shards);
    }
}
