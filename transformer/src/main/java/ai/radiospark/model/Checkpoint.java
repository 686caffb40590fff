package ai.radiospark.model;

import ai.radiospark.RadioException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A RADIO checkpoint as Hugging Face stores it: {@code config.json} plus {@code model.safetensors},
 * or shards listed in {@code model.safetensors.index.json}. Tensors are read lazily (memory-mapped
 * from files, or sliced from bytes held in memory); {@link #weights()} resolves them into the
 * tensors the forward pass uses, whichever of the two layouts the checkpoint has.
 *
 * <pre>{@code
 * Checkpoint checkpoint = Checkpoint.open(Path.of("/models/C-RADIOv4-H"));
 * try (RadioModel model = RadioModel.load(checkpoint.weights(), RadioModel.Options.defaults())) { ... }
 * }</pre>
 */
public final class Checkpoint {
    static final String CONFIG = "config.json";
    static final String SINGLE = "model.safetensors";
    static final String INDEX = "model.safetensors.index.json";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Logger LOG = LoggerFactory.getLogger(Checkpoint.class);

    private final String source;
    private final RadioConfig config;
    /** tensor name → the file that holds it. */
    private final Map<String, SafetensorsFile> tensors;

    private final FileDigest digest;
    /** The directory and its files (name to path) when the checkpoint is files; else null. */
    private final Path dir;

    private final Map<String, Path> files;
    private volatile String sha256;

    /** Checkpoints whose bytes were hashed in this JVM (not taken from {@link ChecksumCache}). */
    static final AtomicLong HASHED = new AtomicLong();

    /** How many times this JVM read a checkpoint's bytes to hash them (diagnostics and tests). */
    public static long hashesComputed() {
        return HASHED.get();
    }

    /** Checkpoint directories opened in this JVM (configuration and tensor headers read). */
    static final AtomicLong OPENED = new AtomicLong();

    /** How many times this JVM opened a checkpoint directory ({@link #open}; diagnostics and tests). */
    public static long opened() {
        return OPENED.get();
    }

    private Checkpoint(
            String source,
            RadioConfig config,
            Map<String, SafetensorsFile> tensors,
            FileDigest digest,
            Path dir,
            Map<String, Path> files) {
        this.source = source;
        this.config = config;
        this.tensors = tensors;
        this.digest = digest;
        this.dir = dir;
        this.files = files;
    }

    /** Hashes the checkpoint's files in a fixed order; called once, lazily. */
    private interface FileDigest {
        void update(MessageDigest md) throws IOException;
    }

    /** Opens a checkpoint directory. */
    public static Checkpoint open(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new RadioException("Cannot load model at " + dir + ": no such directory. "
                    + "Point the model at a RADIO checkpoint directory (config.json plus model.safetensors) or a hub id "
                    + "such as nvidia/C-RADIOv4-H.");
        }
        Path configFile = dir.resolve(CONFIG);
        if (!Files.isRegularFile(configFile)) {
            throw new RadioException(
                    "Cannot load model at " + dir + ": it has no config.json. "
                            + "Point the model at a RADIO checkpoint directory (config.json plus model.safetensors) or a hub id.");
        }
        RadioConfig config = RadioConfig.fromJson(readString(configFile), configFile.toString());
        Map<String, SafetensorsFile> tensors = new LinkedHashMap<>();
        Map<String, Path> files = new TreeMap<>();
        files.put(CONFIG, configFile);
        Path single = dir.resolve(SINGLE);
        Path index = dir.resolve(INDEX);
        if (Files.isRegularFile(single)) {
            SafetensorsFile f = SafetensorsFile.open(single);
            f.tensors().keySet().forEach(n -> tensors.put(n, f));
            files.put(SINGLE, single);
        } else if (Files.isRegularFile(index)) {
            files.put(INDEX, index);
            Map<String, String> weightMap = weightMap(readString(index), index.toString());
            Map<String, SafetensorsFile> shards = new TreeMap<>();
            for (Map.Entry<String, String> e : weightMap.entrySet()) {
                SafetensorsFile shard = shards.get(e.getValue());
                if (shard == null) {
                    Path p = dir.resolve(e.getValue());
                    if (!Files.isRegularFile(p)) {
                        throw new RadioException("Cannot load model at " + dir + ": shard " + e.getValue()
                                + ", listed in model.safetensors.index.json for tensor '" + e.getKey()
                                + "', is missing. Re-download the checkpoint (all shards).");
                    }
                    shard = SafetensorsFile.open(p);
                    shards.put(e.getValue(), shard);
                    files.put(e.getValue(), p);
                }
                if (!shard.tensors().containsKey(e.getKey())) {
                    throw new RadioException(
                            "Cannot load model at " + dir + ": model.safetensors.index.json puts tensor '"
                                    + e.getKey() + "' in " + e.getValue() + ", but that shard does not have it. "
                                    + "Re-download the checkpoint.");
                }
                tensors.put(e.getKey(), shard);
            }
        } else {
            throw new RadioException("Cannot load model at " + dir + ": it has neither model.safetensors nor "
                    + "model.safetensors.index.json. Point the model at a RADIO checkpoint saved with safetensors "
                    + "(save_pretrained writes it), or a hub id.");
        }
        FileDigest digest = md -> {
            for (Map.Entry<String, Path> e : files.entrySet()) {
                md.update(e.getKey().getBytes(StandardCharsets.UTF_8));
                try (InputStream in = Files.newInputStream(e.getValue())) {
                    byte[] buf = new byte[1 << 20];
                    for (int n; (n = in.read(buf)) > 0; ) {
                        md.update(buf, 0, n);
                    }
                }
            }
        };
        OPENED.incrementAndGet();
        return new Checkpoint(dir.toString(), config, tensors, digest, dir, files);
    }

    /**
     * Builds a checkpoint from files held in memory, keyed by file name: {@code config.json} and
     * {@code model.safetensors}, or the index and its shards.
     */
    public static Checkpoint fromBytes(String source, Map<String, byte[]> files) {
        byte[] cfg = files.get(CONFIG);
        if (cfg == null) {
            throw new RadioException(
                    "Cannot load model " + source + ": config.json is missing from its files " + files.keySet() + ".");
        }
        RadioConfig config = RadioConfig.fromJson(new String(cfg, StandardCharsets.UTF_8), source + "/" + CONFIG);
        Map<String, SafetensorsFile> tensors = new LinkedHashMap<>();
        if (files.containsKey(SINGLE)) {
            SafetensorsFile f = SafetensorsFile.of(source + "/" + SINGLE, ByteBuffer.wrap(files.get(SINGLE)));
            f.tensors().keySet().forEach(n -> tensors.put(n, f));
        } else if (files.containsKey(INDEX)) {
            Map<String, String> weightMap =
                    weightMap(new String(files.get(INDEX), StandardCharsets.UTF_8), source + "/" + INDEX);
            Map<String, SafetensorsFile> shards = new TreeMap<>();
            for (Map.Entry<String, String> e : weightMap.entrySet()) {
                SafetensorsFile shard = shards.computeIfAbsent(e.getValue(), name -> {
                    byte[] b = files.get(name);
                    if (b == null) {
                        throw new RadioException("Cannot load model " + source + ": shard " + name
                                + ", listed in model.safetensors.index.json for tensor '" + e.getKey()
                                + "', is missing.");
                    }
                    return SafetensorsFile.of(source + "/" + name, ByteBuffer.wrap(b));
                });
                if (!shard.tensors().containsKey(e.getKey())) {
                    throw new RadioException("Cannot load model " + source + ": the index puts tensor '" + e.getKey()
                            + "' in " + e.getValue() + ", but that shard does not have it.");
                }
                tensors.put(e.getKey(), shard);
            }
        } else {
            throw new RadioException("Cannot load model " + source + ": neither model.safetensors nor "
                    + "model.safetensors.index.json is among its files " + files.keySet() + ".");
        }
        FileDigest digest = md -> {
            for (Map.Entry<String, byte[]> e : new TreeMap<>(files).entrySet()) {
                md.update(e.getKey().getBytes(StandardCharsets.UTF_8));
                md.update(e.getValue());
            }
        };
        return new Checkpoint(source, config, tensors, digest, null, null);
    }

    private static Map<String, String> weightMap(String json, String source) {
        JsonNode map;
        try {
            map = JSON.readTree(json).get("weight_map");
        } catch (IOException e) {
            throw new RadioException(
                    "Cannot read " + source + ": it is not valid JSON (" + e.getMessage()
                            + "). Re-download the checkpoint.",
                    e);
        }
        if (map == null || !map.isObject() || map.isEmpty()) {
            throw new RadioException("Cannot read " + source + ": it has no \"weight_map\" of tensor names to shard "
                    + "files. Re-download the checkpoint.");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            String file = e.getValue().asText();
            if (file.contains("/") || file.contains("\\") || file.startsWith(".")) {
                throw new RadioException("Cannot read " + source + ": shard name \"" + file
                        + "\" is not a plain file name. Re-download the checkpoint.");
            }
            out.put(e.getKey(), file);
        }
        return out;
    }

    private static String readString(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new RadioException("Cannot read " + p + ": " + e.getMessage(), e);
        }
    }

    /** Where the checkpoint came from, for messages and logs. */
    public String source() {
        return source;
    }

    public RadioConfig config() {
        return config;
    }

    /** Every tensor of the checkpoint, used or not. */
    public Map<String, TensorInfo> tensorInfos() {
        Map<String, TensorInfo> out = new LinkedHashMap<>();
        tensors.forEach((name, file) -> out.put(name, file.info(name)));
        return out;
    }

    boolean has(String name) {
        return tensors.containsKey(name);
    }

    /** The file that holds a tensor, for messages. */
    String fileOf(String name) {
        SafetensorsFile f = tensors.get(name);
        return f == null ? source : f.source();
    }

    Tensor tensor(String name) {
        SafetensorsFile f = tensors.get(name);
        if (f == null) {
            throw new RadioException("Checkpoint " + source + " has no tensor '" + name + "'.");
        }
        return Tensor.ofFile(f, name);
    }

    /**
     * SHA-256 over the checkpoint's files (names and contents, in name order): the identity that
     * embedding tables record and that executors cache models by. Computed once per instance; for a
     * directory, taken from {@link ChecksumCache} when no file changed since it was last hashed.
     */
    public String sha256() {
        String h = sha256;
        if (h == null) {
            h = dir == null ? hash() : cachedOrHashed();
            sha256 = h;
        }
        return h;
    }

    private String cachedOrHashed() {
        Optional<String> cached = ChecksumCache.lookup(dir, files);
        if (cached.isPresent()) {
            LOG.debug("Checkpoint {}: SHA-256 from the cache ({})", source, ChecksumCache.folder());
            return cached.get();
        }
        try {
            JsonNode before = ChecksumCache.stamps(files);
            long t0 = System.nanoTime();
            String h = hash();
            LOG.info("Hashed checkpoint {} in {} s", source, String.format("%.1f", (System.nanoTime() - t0) / 1e9));
            if (before.equals(ChecksumCache.stamps(files))) { // not changed while it was read
                ChecksumCache.store(dir, before, h);
            }
            return h;
        } catch (IOException e) {
            throw new RadioException("Cannot hash checkpoint " + source + ": " + e.getMessage(), e);
        }
    }

    private String hash() {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            digest.update(md);
            HASHED.incrementAndGet();
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw new RadioException("Cannot hash checkpoint " + source + ": " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Resolves the tensors the forward pass uses, checking names and shapes. */
    public RadioWeights weights() {
        return RadioWeights.resolve(this);
    }

    @Override
    public String toString() {
        return "Checkpoint(" + source + ", " + config + ")";
    }
}
