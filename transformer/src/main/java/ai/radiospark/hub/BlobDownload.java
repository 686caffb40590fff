package ai.radiospark.hub;

import static ai.radiospark.hub.BlobCheck.SHA1;
import static ai.radiospark.hub.BlobCheck.SHA256;
import static ai.radiospark.hub.BlobCheck.digestFor;
import static ai.radiospark.hub.BlobCheck.update;
import static ai.radiospark.hub.HubCache.SAFE_NAME;
import static ai.radiospark.hub.HubCache.moveAtomically;
import static ai.radiospark.hub.HubErrors.human;
import static ai.radiospark.hub.HubErrors.isNoSpace;

import ai.radiospark.RadioException;
import ai.radiospark.hub.HubErrors.HubUnavailable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One file from the hub into the {@link HubCache}, as {@code hf_hub_download} does it. {@link #head}
 * asks {@code {endpoint}/{repo}/resolve/{rev}/{file}} for the commit, etag and size. {@link
 * #download} GETs the file into {@code blobs/<etag>.incomplete} (the caller holds the lock),
 * resuming a partial file with {@code Range}, retrying with backoff, and closing a body that
 * delivers nothing for {@code HF_HUB_DOWNLOAD_TIMEOUT} (a watchdog: HttpClient has no read timeout
 * for bodies). It then checks size and hash ({@link BlobCheck}) and renames the file atomically to
 * {@code blobs/<etag>}. Logs under {@link ModelResolver}'s name.
 */
final class BlobDownload {
    private static final Logger LOG = LoggerFactory.getLogger(ModelResolver.class);

    private static final ScheduledExecutorService WATCHDOG = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "radio-spark-hub-download-watchdog");
        t.setDaemon(true);
        return t;
    });

    private final HubSettings settings;
    private final HubErrors errors;
    private final HubCache cache;
    private volatile HubHttp http;

    BlobDownload(HubSettings settings, HubErrors errors, HubCache cache) {
        this.settings = settings;
        this.errors = errors;
        this.cache = cache;
    }

    /**
     * HEAD for a file. Returns null on EntryNotFound when {@code missingOk} (and records it in
     * {@code .no_exist/} like huggingface_hub); errors that make the cache a valid fallback are
     * thrown as {@link HubUnavailable}.
     */
    HubHttp.Metadata head(HubModelId id, String revision, String file, boolean missingOk) {
        URI url = url(id, revision, file);
        HubHttp.Metadata m;
        try {
            m = http().head(url);
        } catch (HubHttp.StatusException e) {
            if ("EntryNotFound".equals(e.errorCode) && missingOk) {
                cache.recordMissing(id, e.repoCommit != null ? e.repoCommit : revision, file);
                return null;
            }
            throw errors.httpError(e, id, file);
        } catch (IOException e) {
            throw errors.unreachable(e, url);
        }
        if (m.etag() == null || m.size() == null) {
            throw new HubUnavailable(
                    "The server at " + settings.endpoint() + " answered for " + url
                            + " without " + (m.etag() == null ? "an ETag/X-Linked-Etag" : "a size")
                            + " header, so the download cannot be verified: it does not look like a Hugging Face "
                            + "hub (proxy or firewall in the way?). Check HF_ENDPOINT and proxy settings.",
                    null,
                    true);
        }
        if (!SAFE_NAME.matcher(m.etag()).matches() || m.etag().startsWith(".")) {
            throw new RadioException("The hub answered for " + url + " with the unusable etag '" + m.etag()
                    + "'. Check HF_ENDPOINT points at a Hugging Face hub.");
        }
        return m;
    }

    void download(HubModelId id, String file, HubHttp.Metadata m, Path blob) throws IOException {
        long size = m.size();
        Files.createDirectories(blob.getParent());
        Path incomplete = blob.resolveSibling(blob.getFileName() + ".incomplete");
        long have = Files.exists(incomplete) ? Files.size(incomplete) : 0;
        if (have > size) {
            Files.delete(incomplete);
            have = 0;
        }
        errors.checkSpace(id, file, blob.getParent(), size - have);
        LOG.info(
                "Downloading {} of {} ({}) from {}{}",
                file,
                id,
                human(size),
                m.location(),
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
                    LOG.warn("Server ignored the Range request for {}; downloading {} from the start", file, id);
                    have = restart(incomplete, digest, m.etag(), size);
                }
                try (OutputStream out = Files.newOutputStream(
                        incomplete, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
                    final long[] counter = {have};
                    AtomicLong lastProgress = new AtomicLong(System.nanoTime());
                    AtomicBoolean stalled = new AtomicBoolean();
                    long limit = settings.downloadTimeout().toNanos();
                    long period = Math.max(50, settings.downloadTimeout().toMillis() / 4);
                    // Read timeout, as huggingface_hub's HF_HUB_DOWNLOAD_TIMEOUT: HttpClient has none for
                    // bodies, so a watchdog closes a stream that delivered nothing for that long.
                    var stream = body; // closed by the watchdog too, from its thread
                    ScheduledFuture<?> dog = WATCHDOG.scheduleWithFixedDelay(
                            () -> {
                                if (System.nanoTime() - lastProgress.get() > limit && !stalled.getAndSet(true)) {
                                    try {
                                        stream.close();
                                    } catch (IOException | RuntimeException ignored) {
                                        // the reader fails either way
                                    }
                                }
                            },
                            period,
                            period,
                            TimeUnit.MILLISECONDS);
                    try {
                        update(digest, body.stream(), size - have + 1, bytes -> {
                            out.write(bytes.buf, 0, bytes.len);
                            counter[0] += bytes.len;
                            lastProgress.set(System.nanoTime());
                        });
                    } catch (IOException e) {
                        if (stalled.get()) {
                            throw new IOException(
                                    "no data received for "
                                            + settings.downloadTimeout().toSeconds() + " s (HF_HUB_DOWNLOAD_TIMEOUT)",
                                    e);
                        }
                        throw e;
                    } finally {
                        dog.cancel(false);
                        have = counter[0];
                    }
                    if (stalled.get() && counter[0] < size) {
                        throw new IOException("no data received for "
                                + settings.downloadTimeout().toSeconds() + " s (HF_HUB_DOWNLOAD_TIMEOUT)");
                    }
                }
                if (have < size) {
                    throw new IOException("connection closed after " + have + " of " + size + " bytes");
                }
                if (have > size) {
                    Files.deleteIfExists(incomplete);
                    throw errors.corrupted(id, file, m, "the server sent more than the announced " + size + " bytes");
                }
            } catch (HubHttp.StatusException e) {
                boolean retriable = e.status >= 500 || e.status == 429 || e.status == 408;
                if (!retriable || attempt >= attempts) {
                    RuntimeException mapped = errors.httpError(e, id, file);
                    throw mapped instanceof HubUnavailable ? new RadioException(mapped.getMessage(), e) : mapped;
                }
                backoff(attempt, file, id, have, size, e);
            } catch (IOException e) {
                if (isNoSpace(e)) {
                    throw errors.noSpace(id, file, blob.getParent(), size - have, e);
                }
                if (attempt >= attempts) {
                    throw new RadioException(
                            "Download of " + file + " of " + id + " from " + m.location()
                                    + " failed after " + attempts + " attempts (" + e + "); " + have + " of " + size
                                    + " bytes are kept in " + incomplete + " and the next run resumes from there. "
                                    + "Check the network and run again.",
                            e);
                }
                backoff(attempt, file, id, have, size, e);
            }
        }
        if (digest != null) {
            String actual = HexFormat.of().formatHex(digest.digest());
            if (!actual.equals(m.etag())) {
                if (SHA256.matcher(m.etag()).matches()) {
                    Files.deleteIfExists(incomplete);
                    throw errors.corrupted(id, file, m, "its SHA-256 is " + actual);
                }
                // Non-LFS etags are the git blob sha1 on huggingface.co; other servers may differ: warn.
                LOG.warn(
                        "Downloaded {} of {}: git blob sha1 {} differs from the etag {}; keeping it "
                                + "(size matches).",
                        file,
                        id,
                        actual,
                        m.etag());
            }
        }
        moveAtomically(incomplete, blob);
        LOG.info("Downloaded {} of {} ({}) into {}", file, id, human(size), blob);
    }

    private static long restart(Path incomplete, MessageDigest digest, String etag, long size) throws IOException {
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

    private void backoff(int attempt, String file, HubModelId id, long have, long size, Exception e) {
        long millis = Math.min(8000L, 250L << Math.min(attempt - 1, 5));
        LOG.warn(
                "Download of {} of {} interrupted at {} of {} bytes ({}); retrying in {} ms from " + "there.",
                file,
                id,
                have,
                size,
                e.toString(),
                millis);
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

    URI url(HubModelId id, String revision, String file) {
        StringBuilder sb = new StringBuilder(settings.endpoint())
                .append('/')
                .append(id.repoId())
                .append("/resolve/")
                .append(encode(revision));
        for (String part : file.split("/")) {
            sb.append('/').append(encode(part));
        }
        return URI.create(sb.toString());
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
