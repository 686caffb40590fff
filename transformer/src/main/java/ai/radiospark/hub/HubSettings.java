package ai.radiospark.hub;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Where and how {@link ModelResolver} talks to the Hugging Face hub and its local cache.
 *
 * <p>{@link #fromEnvironment()} reads the same environment variables as Python's {@code
 * huggingface_hub} ({@code constants.py}), so both share one cache:
 *
 * <ul>
 *   <li>{@code HF_HUB_CACHE} (else legacy {@code HUGGINGFACE_HUB_CACHE}, else {@code
 *       $HF_HOME/hub}; {@code HF_HOME} defaults to {@code $XDG_CACHE_HOME/huggingface}, then
 *       {@code ~/.cache/huggingface});
 *   <li>{@code HF_ENDPOINT} (default {@code https://huggingface.co}, trailing slash removed);
 *   <li>{@code HF_TOKEN}, else the token file {@code HF_TOKEN_PATH} (default {@code
 *       $HF_HOME/token}) written by {@code huggingface-cli login};
 *   <li>{@code HF_HUB_OFFLINE} (or {@code TRANSFORMERS_OFFLINE}) = 1/ON/YES/TRUE: never use the
 *       network;
 *   <li>{@code HF_HUB_DISABLE_SYMLINKS} = 1: real files instead of symlinks in snapshots/;
 *   <li>{@code HF_HUB_ETAG_TIMEOUT}, {@code HF_HUB_DOWNLOAD_TIMEOUT} in seconds (default 10).
 * </ul>
 *
 * <p>Instances are immutable; tests build them with {@link #fromEnvironment(Map)} or the {@code
 * with*} methods.
 */
public final class HubSettings {
    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";
    private static final Set<String> TRUE_VALUES = Set.of("1", "ON", "YES", "TRUE");

    private final Path cacheDir;
    private final String endpoint;
    private final String token;
    private final boolean offline;
    private final Duration connectTimeout;
    private final Duration metadataTimeout;
    private final Duration downloadTimeout;
    private final int downloadAttempts;
    private final boolean verify;
    private final boolean symlinks;

    /** The values of a settings object being made: {@link #fromEnvironment} fills one, a wither changes a copy. */
    private static final class Values {
        Path cacheDir;
        String endpoint;
        String token;
        boolean offline;
        Duration connectTimeout;
        Duration metadataTimeout;
        Duration downloadTimeout;
        int downloadAttempts;
        boolean verify;
        boolean symlinks;

        Values() {}

        Values(HubSettings s) {
            cacheDir = s.cacheDir;
            endpoint = s.endpoint;
            token = s.token;
            offline = s.offline;
            connectTimeout = s.connectTimeout;
            metadataTimeout = s.metadataTimeout;
            downloadTimeout = s.downloadTimeout;
            downloadAttempts = s.downloadAttempts;
            verify = s.verify;
            symlinks = s.symlinks;
        }
    }

    private HubSettings(Values v) {
        this.cacheDir = Objects.requireNonNull(v.cacheDir, "cacheDir").toAbsolutePath();
        this.endpoint = stripSlash(Objects.requireNonNull(v.endpoint, "endpoint"));
        this.token = v.token == null || v.token.isBlank() ? null : v.token.trim();
        this.offline = v.offline;
        this.connectTimeout = positive(v.connectTimeout, "connectTimeout");
        this.metadataTimeout = positive(v.metadataTimeout, "metadataTimeout");
        this.downloadTimeout = positive(v.downloadTimeout, "downloadTimeout");
        if (v.downloadAttempts < 1) {
            throw new IllegalArgumentException("downloadAttempts must be >= 1, got " + v.downloadAttempts);
        }
        this.downloadAttempts = v.downloadAttempts;
        this.verify = v.verify;
        this.symlinks = v.symlinks;
    }

    /** A copy with {@code change} applied, checked as the constructor checks. */
    private HubSettings with(Consumer<Values> change) {
        Values v = new Values(this);
        change.accept(v);
        return new HubSettings(v);
    }

    /** Settings from the process environment, as huggingface_hub reads them. */
    public static HubSettings fromEnvironment() {
        return fromEnvironment(System.getenv());
    }

    /** Settings from the given environment map (tests pass their own; missing keys → defaults). */
    public static HubSettings fromEnvironment(Map<String, String> env) {
        String home = nonEmpty(env.get("HF_HOME"));
        Path hfHome;
        if (home != null) {
            hfHome = expandUser(home);
        } else {
            String xdg = nonEmpty(env.get("XDG_CACHE_HOME"));
            Path base = xdg != null ? expandUser(xdg) : Path.of(System.getProperty("user.home"), ".cache");
            hfHome = base.resolve("huggingface");
        }
        String hubCache = nonEmpty(env.get("HF_HUB_CACHE"));
        if (hubCache == null) {
            hubCache = nonEmpty(env.get("HUGGINGFACE_HUB_CACHE"));
        }
        Path cache = hubCache != null ? expandUser(hubCache) : hfHome.resolve("hub");

        String endpoint = nonEmpty(env.get("HF_ENDPOINT"));
        String token = nonEmpty(env.get("HF_TOKEN"));
        if (token == null) {
            String tokenPath = nonEmpty(env.get("HF_TOKEN_PATH"));
            Path tokenFile = tokenPath != null ? expandUser(tokenPath) : hfHome.resolve("token");
            token = readTokenFile(tokenFile);
        }
        boolean offline = isTrue(env.get("HF_HUB_OFFLINE"))
                || (nonEmpty(env.get("HF_HUB_OFFLINE")) == null && isTrue(env.get("TRANSFORMERS_OFFLINE")));
        Values v = new Values();
        v.cacheDir = cache;
        v.endpoint = endpoint != null ? endpoint : DEFAULT_ENDPOINT;
        v.token = token;
        v.offline = offline;
        v.connectTimeout = Duration.ofSeconds(10);
        v.metadataTimeout = seconds(env, "HF_HUB_ETAG_TIMEOUT", 10);
        v.downloadTimeout = seconds(env, "HF_HUB_DOWNLOAD_TIMEOUT", 10);
        v.downloadAttempts = 5;
        v.verify = false;
        v.symlinks = !isTrue(env.get("HF_HUB_DISABLE_SYMLINKS"));
        return new HubSettings(v);
    }

    /** The hub cache directory ({@code .../huggingface/hub}) holding {@code models--org--name}. */
    public Path cacheDir() {
        return cacheDir;
    }

    /** Hub base URL without trailing slash, e.g. {@code https://huggingface.co}. */
    public String endpoint() {
        return endpoint;
    }

    /** Bearer token, if any. */
    public Optional<String> token() {
        return Optional.ofNullable(token);
    }

    /** True when the network must never be used (HF_HUB_OFFLINE=1). */
    public boolean offline() {
        return offline;
    }

    public Duration connectTimeout() {
        return connectTimeout;
    }

    /** Timeout of the metadata (HEAD) request. */
    public Duration metadataTimeout() {
        return metadataTimeout;
    }

    /** Timeout until a download (GET) responds with headers. */
    public Duration downloadTimeout() {
        return downloadTimeout;
    }

    /** How many times one file download is attempted (resuming with a Range request) before failing. */
    public int downloadAttempts() {
        return downloadAttempts;
    }

    /** When true, cached blobs named by a sha256 are re-hashed on every resolve. */
    public boolean verify() {
        return verify;
    }

    public HubSettings withCacheDir(Path dir) {
        return with(v -> v.cacheDir = dir);
    }

    public HubSettings withEndpoint(String url) {
        return with(v -> v.endpoint = url);
    }

    public HubSettings withToken(String bearer) {
        return with(v -> v.token = bearer);
    }

    public HubSettings withOffline(boolean value) {
        return with(v -> v.offline = value);
    }

    public HubSettings withTimeouts(Duration connect, Duration metadata, Duration download) {
        return with(v -> {
            v.connectTimeout = connect;
            v.metadataTimeout = metadata;
            v.downloadTimeout = download;
        });
    }

    public HubSettings withDownloadAttempts(int attempts) {
        return with(v -> v.downloadAttempts = attempts);
    }

    /**
     * When false ({@code HF_HUB_DISABLE_SYMLINKS=1}), snapshot files are real files: a new blob is
     * moved there, an existing one copied, as huggingface_hub does without symlink support.
     */
    public boolean symlinks() {
        return symlinks;
    }

    public HubSettings withSymlinks(boolean value) {
        return with(v -> v.symlinks = value);
    }

    public HubSettings withVerify(boolean value) {
        return with(v -> v.verify = value);
    }

    @Override
    public String toString() {
        return "HubSettings{cacheDir=" + cacheDir + ", endpoint=" + endpoint + ", token="
                + (token == null ? "none" : "set") + ", offline=" + offline + ", verify=" + verify + "}";
    }

    private static boolean isTrue(String v) {
        return v != null && TRUE_VALUES.contains(v.trim().toUpperCase(Locale.ROOT));
    }

    private static String nonEmpty(String v) {
        return v == null || v.isBlank() ? null : v.trim();
    }

    private static Path expandUser(String p) {
        if (p.equals("~") || p.startsWith("~/")) {
            return Path.of(System.getProperty("user.home") + p.substring(1));
        }
        return Path.of(p);
    }

    private static String stripSlash(String s) {
        String r = s.trim();
        while (r.endsWith("/")) {
            r = r.substring(0, r.length() - 1);
        }
        return r;
    }

    private static Duration seconds(Map<String, String> env, String name, long dflt) {
        String v = nonEmpty(env.get(name));
        if (v == null) {
            return Duration.ofSeconds(dflt);
        }
        try {
            long s = Long.parseLong(v);
            if (s > 0) {
                return Duration.ofSeconds(s);
            }
        } catch (NumberFormatException e) {
            // fall through
        }
        throw new ai.radiospark.RadioException(
                "Environment variable " + name + "='" + v + "' is not a positive number of seconds. "
                        + "Set it to e.g. 30, or unset it to use the default of " + dflt + " s.");
    }

    private static Duration positive(Duration d, String name) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + " must be a positive duration, got " + d);
        }
        return d;
    }

    private static String readTokenFile(Path file) {
        try {
            if (Files.isRegularFile(file)) {
                return nonEmpty(Files.readString(file, StandardCharsets.UTF_8));
            }
        } catch (IOException | SecurityException e) {
            // unreadable token file: behave as if not logged in
        }
        return null;
    }
}
