package ai.radiospark.hub;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A local stand-in for huggingface.co: {@code HEAD/GET /{org}/{name}/resolve/{rev}/{file}} with the
 * hub's headers (X-Repo-Commit, X-Linked-Etag, X-Linked-Size, ETag, X-Error-Code). "LFS" files
 * (*.safetensors) are answered with a 302 to a second server (the "CDN", another port) serving
 * {@code /cdn/{sha256}} with Range support and fault injection.
 */
final class FakeHub implements AutoCloseable {
    static final Path GOLDEN = Path.of("src/test/resources/golden/tiny-vit/checkpoint");

    static final class Repo {
        final String commit;
        final Map<String, String> refs = new ConcurrentHashMap<>();
        final Map<String, byte[]> files = new LinkedHashMap<>();
        boolean gated;
        String grantedToken;

        Repo(String commit) {
            this.commit = commit;
            refs.put("main", commit);
        }
    }

    /** One request as seen by the fake. */
    record Request(String method, String path, String range, String authorization) {}

    final Map<String, Repo> repos = new ConcurrentHashMap<>();
    final List<Request> requests = new CopyOnWriteArrayList<>();
    final AtomicInteger requestCount = new AtomicInteger();
    /** Close the connection after this many body bytes on the next CDN GET (once); -1 = off. */
    volatile long cutAfterBytes = -1;
    /** Serve these many bytes of garbage instead of the real LFS content (same length). */
    volatile boolean corruptLfs;
    /** Announce this X-Linked-Size for LFS files instead of the real one; null = real. */
    volatile Long announcedLfsSize;
    /** Pause this long twice within every CDN body (a slow link). */
    volatile long pauseMillis;
    /** When true, only the next CDN body pauses. */
    volatile boolean pauseOnce;

    private final HttpServer hub;
    private final HttpServer cdn;
    private final Map<String, byte[]> blobsBySha = new ConcurrentHashMap<>();

    FakeHub() throws IOException {
        hub = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        cdn = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        hub.createContext("/", this::handleHub);
        cdn.createContext("/", this::handleCdn);
        hub.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        cdn.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        hub.start();
        cdn.start();
    }

    String endpoint() {
        return "http://127.0.0.1:" + hub.getAddress().getPort();
    }

    Repo addRepo(String repoId, String commit, Map<String, byte[]> files) {
        Repo r = new Repo(commit);
        r.files.putAll(files);
        for (Map.Entry<String, byte[]> e : files.entrySet()) {
            if (isLfs(e.getKey())) {
                blobsBySha.put(sha256(e.getValue()), e.getValue());
            }
        }
        repos.put(repoId, r);
        return r;
    }

    /** The golden tiny-vit checkpoint as a single-file repo. */
    Repo addGolden(String repoId, String commit) throws IOException {
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("config.json", Files.readAllBytes(GOLDEN.resolve("config.json")));
        files.put("model.safetensors", Files.readAllBytes(GOLDEN.resolve("model.safetensors")));
        return addRepo(repoId, commit, files);
    }

    /** The golden checkpoint split into two shards plus model.safetensors.index.json. */
    Repo addShardedGolden(String repoId, String commit) throws IOException {
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("config.json", Files.readAllBytes(GOLDEN.resolve("config.json")));
        files.putAll(splitSafetensors(Files.readAllBytes(GOLDEN.resolve("model.safetensors")), 2));
        return addRepo(repoId, commit, files);
    }

    long rangedRequests() {
        return requests.stream().filter(r -> r.range() != null).count();
    }

    long cdnGets() {
        return requests.stream()
                .filter(r -> r.method().equals("GET") && r.path().startsWith("/cdn/"))
                .count();
    }

    void stop() {
        hub.stop(0);
        cdn.stop(0);
    }

    @Override
    public void close() {
        stop();
    }

    // -------------------------------------------------------------------------------------------

    private void record(HttpExchange ex) {
        requestCount.incrementAndGet();
        Headers h = ex.getRequestHeaders();
        requests.add(new Request(
                ex.getRequestMethod(),
                ex.getRequestURI().getRawPath(),
                h.getFirst("Range"),
                h.getFirst("Authorization")));
    }

    private void handleHub(HttpExchange ex) throws IOException {
        try (ex) {
            record(ex);
            String raw = ex.getRequestURI().getRawPath();
            String[] parts = raw.substring(1).split("/", 5);
            if (parts.length < 5 || !parts[2].equals("resolve")) {
                error(ex, 404, null, "not found");
                return;
            }
            String repoId = parts[0] + "/" + parts[1];
            String rev = URLDecoder.decode(parts[3], StandardCharsets.UTF_8);
            String file = URLDecoder.decode(parts[4], StandardCharsets.UTF_8);
            Repo repo = repos.get(repoId);
            if (repo == null) {
                // the real hub answers 401 to anonymous and 404 to authenticated callers
                error(
                        ex,
                        ex.getRequestHeaders().getFirst("Authorization") == null ? 401 : 404,
                        "RepoNotFound",
                        "Repository not found");
                return;
            }
            if (repo.gated) {
                String auth = ex.getRequestHeaders().getFirst("Authorization");
                if (auth == null) {
                    error(ex, 401, "GatedRepo", "Access to model " + repoId + " is restricted.");
                    return;
                }
                if (!auth.equals("Bearer " + repo.grantedToken)) {
                    error(
                            ex,
                            403,
                            "GatedRepo",
                            "Access to model " + repoId + " is restricted and you are "
                                    + "not in the authorized list.");
                    return;
                }
            }
            String commit = repo.refs.getOrDefault(rev, rev.equals(repo.commit) ? repo.commit : null);
            if (commit == null) {
                error(ex, 404, "RevisionNotFound", "Invalid rev id: " + rev);
                return;
            }
            Headers out = ex.getResponseHeaders();
            out.set("X-Repo-Commit", commit);
            byte[] content = repo.files.get(file);
            if (content == null) {
                error(ex, 404, "EntryNotFound", "Entry not found");
                return;
            }
            boolean head = ex.getRequestMethod().equals("HEAD");
            if (isLfs(file)) {
                String sha = sha256(content);
                out.set("X-Linked-Etag", "\"" + sha + "\"");
                Long announced = announcedLfsSize;
                out.set("X-Linked-Size", Long.toString(announced != null ? announced : content.length));
                out.set("ETag", "W/\"" + gitSha1(content) + "\"");
                out.set("Location", "http://127.0.0.1:" + cdn.getAddress().getPort() + "/cdn/" + sha);
                ex.sendResponseHeaders(302, -1);
                return;
            }
            out.set("ETag", "\"" + gitSha1(content) + "\"");
            out.set("Content-Length", Long.toString(content.length));
            if (head) {
                ex.sendResponseHeaders(200, -1);
                return;
            }
            out.remove("Content-Length");
            ex.sendResponseHeaders(200, content.length);
            ex.getResponseBody().write(content);
        }
    }

    private void handleCdn(HttpExchange ex) throws IOException {
        try (ex) {
            record(ex);
            String path = ex.getRequestURI().getRawPath();
            byte[] content = path.startsWith("/cdn/") ? blobsBySha.get(path.substring(5)) : null;
            if (content == null) {
                error(ex, 404, null, "no such blob");
                return;
            }
            if (corruptLfs) {
                content = content.clone();
                for (int i = 0; i < content.length; i += 4096) {
                    content[i] ^= 0x5A;
                }
            }
            long start = 0;
            String range = ex.getRequestHeaders().getFirst("Range");
            if (range != null && range.startsWith("bytes=") && range.endsWith("-")) {
                start = Long.parseLong(range.substring(6, range.length() - 1));
                if (start >= content.length) {
                    ex.getResponseHeaders().set("Content-Range", "bytes */" + content.length);
                    ex.sendResponseHeaders(416, -1);
                    return;
                }
                ex.getResponseHeaders()
                        .set("Content-Range", "bytes " + start + "-" + (content.length - 1) + "/" + content.length);
            }
            long length = content.length - start;
            ex.sendResponseHeaders(range != null ? 206 : 200, length);
            if (ex.getRequestMethod().equals("HEAD")) {
                return;
            }
            OutputStream body = ex.getResponseBody();
            long cut = cutAfterBytes;
            if (cut >= 0 && cut < length) {
                cutAfterBytes = -1;
                body.write(content, (int) start, (int) cut);
                body.flush();
                // abort: the server closes the connection without sending the rest
                throw new IOException("fake hub: connection cut after " + cut + " bytes");
            }
            long pause = pauseMillis;
            if (pauseOnce) {
                pauseMillis = 0;
            }
            if (pause > 0) { // three parts with a pause between each
                int third = (int) (length / 3);
                for (int part = 0; part < 3; part++) {
                    if (part > 0) {
                        try {
                            Thread.sleep(pause);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                    int from = (int) start + part * third;
                    int len = part < 2 ? third : (int) length - 2 * third;
                    body.write(content, from, len);
                    body.flush();
                }
                return;
            }
            body.write(content, (int) start, (int) length);
        }
    }

    private static void error(HttpExchange ex, int status, String code, String message) throws IOException {
        if (code != null) {
            ex.getResponseHeaders().set("X-Error-Code", code);
        }
        ex.getResponseHeaders().set("X-Error-Message", message);
        byte[] body = ("{\"error\":\"" + message + "\"}").getBytes(StandardCharsets.UTF_8);
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.sendResponseHeaders(status, -1);
        } else {
            ex.sendResponseHeaders(status, body.length);
            ex.getResponseBody().write(body);
        }
    }

    static boolean isLfs(String file) {
        return file.endsWith(".safetensors");
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** The git blob id, which the hub sends as ETag of non-LFS files. */
    static String gitSha1(byte[] b) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-1");
            d.update(("blob " + b.length + "\0").getBytes(StandardCharsets.US_ASCII));
            return HexFormat.of().formatHex(d.digest(b));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Minimal safetensors splitter: distributes the tensors over {@code n} files named like
     * transformers does and returns them plus model.safetensors.index.json.
     */
    static Map<String, byte[]> splitSafetensors(byte[] file, int n) throws IOException {
        ObjectMapper json = new ObjectMapper();
        long headerLen =
                ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        ObjectNode header = (ObjectNode) json.readTree(new String(file, 8, (int) headerLen, StandardCharsets.UTF_8));
        int dataStart = 8 + (int) headerLen;
        List<String> names = new ArrayList<>();
        header.fieldNames().forEachRemaining(f -> {
            if (!f.equals("__metadata__")) {
                names.add(f);
            }
        });
        Collections.sort(names);
        Map<String, byte[]> out = new TreeMap<>();
        ObjectNode weightMap = json.createObjectNode();
        long total = 0;
        int per = (names.size() + n - 1) / n;
        for (int s = 0; s < n; s++) {
            String shardName = String.format("model-%05d-of-%05d.safetensors", s + 1, n);
            ObjectNode h = json.createObjectNode();
            h.putObject("__metadata__").put("format", "pt");
            ByteArrayOutputStream data = new ByteArrayOutputStream();
            for (String name : names.subList(s * per, Math.min(names.size(), (s + 1) * per))) {
                ObjectNode t = (ObjectNode) header.get(name).deepCopy();
                int begin = t.get("data_offsets").get(0).asInt();
                int end = t.get("data_offsets").get(1).asInt();
                t.putArray("data_offsets").add(data.size()).add(data.size() + end - begin);
                data.write(file, dataStart + begin, end - begin);
                h.set(name, t);
                weightMap.put(name, shardName);
            }
            byte[] hb = json.writeValueAsBytes(h);
            int pad = (8 - hb.length % 8) % 8;
            ByteArrayOutputStream shard = new ByteArrayOutputStream();
            shard.write(ByteBuffer.allocate(8)
                    .order(ByteOrder.LITTLE_ENDIAN)
                    .putLong(hb.length + pad)
                    .array());
            shard.write(hb);
            for (int i = 0; i < pad; i++) {
                shard.write(' ');
            }
            shard.write(data.toByteArray());
            out.put(shardName, shard.toByteArray());
            total += data.size();
        }
        ObjectNode index = json.createObjectNode();
        index.putObject("metadata").put("total_size", total);
        index.set("weight_map", weightMap);
        out.put(
                "model.safetensors.index.json",
                json.writerWithDefaultPrettyPrinter().writeValueAsBytes(index));
        return out;
    }
}
