package ai.radiospark.hub;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * The HTTP side of the hub protocol, mirroring huggingface_hub's {@code get_hf_file_metadata} and
 * {@code http_get}. Package-private: {@link ModelResolver} is the API. Created only when the network
 * may be used (never with HF_HUB_OFFLINE=1).
 */
final class HubHttp {
    static final String X_REPO_COMMIT = "X-Repo-Commit";
    static final String X_LINKED_ETAG = "X-Linked-Etag";
    static final String X_LINKED_SIZE = "X-Linked-Size";
    static final String X_ERROR_CODE = "X-Error-Code";
    static final String X_ERROR_MESSAGE = "X-Error-Message";
    private static final int MAX_REDIRECTS = 10;

    /** File metadata from the HEAD call: commit, normalised etag, size, where to GET the bytes. */
    record Metadata(String commitHash, String etag, Long size, URI location) {}

    /** An HTTP error status from the hub, with its X-Error-Code / X-Error-Message headers. */
    static final class StatusException extends IOException {
        private static final long serialVersionUID = 1L;
        final int status;
        final String errorCode;
        final String errorMessage;
        final URI url;
        final String repoCommit;

        StatusException(int status, HttpHeaders headers, URI url) {
            super("HTTP " + status + " for " + url
                    + headers.firstValue(X_ERROR_CODE).map(c -> " (" + c + ")").orElse(""));
            this.status = status;
            this.errorCode = headers.firstValue(X_ERROR_CODE).orElse(null);
            this.errorMessage = headers.firstValue(X_ERROR_MESSAGE).orElse(null);
            this.url = url;
            this.repoCommit = headers.firstValue(X_REPO_COMMIT).orElse(null);
        }
    }

    /** An open GET response body. */
    record Body(int status, InputStream stream, String contentRange, OptionalLong contentLength)
            implements AutoCloseable {
        @Override
        public void close() throws IOException {
            stream.close();
        }
    }

    private final HubSettings settings;
    private final HttpClient client;
    private final String endpointHost;

    HubHttp(HubSettings settings) {
        this.settings = settings;
        this.client = HttpClient.newBuilder()
                .connectTimeout(settings.connectTimeout())
                .followRedirects(HttpClient.Redirect.NEVER)
                .version(HttpClient.Version.HTTP_1_1)
                .build();
        this.endpointHost = authority(URI.create(settings.endpoint()));
    }

    /**
     * HEAD {@code url}, following only relative redirects (renamed repos), not redirects to a CDN,
     * exactly like huggingface_hub.
     */
    Metadata head(URI url) throws IOException {
        URI current = url;
        for (int i = 0; i <= MAX_REDIRECTS; i++) {
            HttpRequest req = request(current, true)
                    .timeout(settings.metadataTimeout())
                    .method("HEAD", HttpRequest.BodyPublishers.noBody())
                    .build();
            HttpResponse<Void> resp = send(req, HttpResponse.BodyHandlers.discarding());
            int status = resp.statusCode();
            HttpHeaders h = resp.headers();
            if (status >= 400) {
                throw new StatusException(status, h, current);
            }
            boolean redirect = status >= 300 && status <= 399;
            String location = h.firstValue("Location").orElse(null);
            if (redirect && location != null && URI.create(location).getRawAuthority() == null) {
                current = current.resolve(location);
                continue;
            }
            String etag = normalizeEtag(
                    h.firstValue(X_LINKED_ETAG).orElse(h.firstValue("ETag").orElse(null)));
            String sizeText = h.firstValue(X_LINKED_SIZE)
                    .orElse(redirect ? null : h.firstValue("Content-Length").orElse(null));
            Long size = null;
            if (sizeText != null) {
                try {
                    size = Long.parseLong(sizeText.trim());
                } catch (NumberFormatException e) {
                    size = null;
                }
            }
            URI where = location != null ? current.resolve(location) : current;
            return new Metadata(h.firstValue(X_REPO_COMMIT).orElse(null), etag, size, where);
        }
        throw new IOException("more than " + MAX_REDIRECTS + " redirects from " + url);
    }

    /**
     * GET {@code url} from byte {@code offset} on (Range header when > 0), following redirects; the
     * Authorization header is only sent to the hub endpoint's own host, never to a CDN.
     */
    Body get(URI url, long offset) throws IOException {
        URI current = url;
        for (int i = 0; i <= MAX_REDIRECTS; i++) {
            HttpRequest.Builder b = request(current, endpointHost.equals(authority(current)))
                    .timeout(settings.downloadTimeout())
                    .GET();
            if (offset > 0) {
                b.header("Range", "bytes=" + offset + "-");
            }
            HttpResponse<InputStream> resp = send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
            int status = resp.statusCode();
            if (status >= 300
                    && status <= 399
                    && resp.headers().firstValue("Location").isPresent()) {
                resp.body().close();
                current = current.resolve(resp.headers().firstValue("Location").get());
                continue;
            }
            if (status >= 400 && status != 416) {
                resp.body().close();
                throw new StatusException(status, resp.headers(), current);
            }
            return new Body(
                    status,
                    resp.body(),
                    resp.headers().firstValue("Content-Range").orElse(null),
                    resp.headers().firstValueAsLong("Content-Length"));
        }
        throw new IOException("more than " + MAX_REDIRECTS + " redirects from " + url);
    }

    private HttpRequest.Builder request(URI url, boolean withAuth) {
        HttpRequest.Builder b = HttpRequest.newBuilder(url)
                .header("User-Agent", "radio-spark; java/" + Runtime.version().feature())
                // no compression: we must know (and hash) the real bytes, as huggingface_hub does
                .header("Accept-Encoding", "identity");
        if (withAuth) {
            settings.token().ifPresent(t -> b.header("Authorization", "Bearer " + t));
        }
        return b;
    }

    private <T> HttpResponse<T> send(HttpRequest req, HttpResponse.BodyHandler<T> handler) throws IOException {
        try {
            return client.send(req, handler);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while requesting " + req.uri());
        }
    }

    /** Strips {@code W/} and quotes, as huggingface_hub's {@code _normalize_etag}. */
    static String normalizeEtag(String etag) {
        if (etag == null) {
            return null;
        }
        String e = etag.trim();
        if (e.startsWith("W/")) {
            e = e.substring(2);
        }
        while (e.startsWith("\"")) {
            e = e.substring(1);
        }
        while (e.endsWith("\"")) {
            e = e.substring(0, e.length() - 1);
        }
        return e.isEmpty() ? null : e;
    }

    private static String authority(URI u) {
        return Objects.toString(u.getScheme(), "") + "://" + Objects.toString(u.getRawAuthority(), "");
    }
}
