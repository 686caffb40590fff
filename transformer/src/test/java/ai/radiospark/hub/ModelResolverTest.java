package ai.radiospark.hub;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.radiospark.RadioException;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelResolverTest {
    static final String REPO = "acme/tiny-vit";
    static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
    static final String SHARDED = "acme/tiny-vit-sharded";
    static final String SHARDED_COMMIT = "89abcdef0123456789abcdef0123456789abcdef";

    @TempDir
    Path hfHome;

    FakeHub hub;
    byte[] config;
    byte[] weights;

    @BeforeEach
    void start() throws IOException {
        hub = new FakeHub();
        hub.addGolden(REPO, COMMIT);
        config = Files.readAllBytes(FakeHub.GOLDEN.resolve("config.json"));
        weights = Files.readAllBytes(FakeHub.GOLDEN.resolve("model.safetensors"));
    }

    @AfterEach
    void stop() {
        hub.close();
    }

    HubSettings online() {
        return HubSettings.fromEnvironment(Map.of("HF_HOME", hfHome.toString(), "HF_ENDPOINT", hub.endpoint()));
    }

    HubSettings offline() {
        return online().withOffline(true);
    }

    Path cache() {
        return hfHome.resolve("hub");
    }

    Path repoDir(String repo) {
        return cache().resolve("models--" + repo.replace("/", "--"));
    }

    @Test
    void firstRunDownloadsIntoHuggingFaceCacheLayout() throws IOException {
        Path dir = new ModelResolver(online()).resolve(REPO);

        Path repoDir = repoDir(REPO);
        assertEquals(repoDir.resolve("snapshots").resolve(COMMIT), dir);
        assertEquals(COMMIT, Files.readString(repoDir.resolve("refs/main")));
        Path cfg = dir.resolve("config.json");
        Path w = dir.resolve("model.safetensors");
        assertTrue(Files.isSymbolicLink(cfg) && Files.isSymbolicLink(w));
        assertEquals(Path.of("../../blobs/" + FakeHub.gitSha1(config)), Files.readSymbolicLink(cfg));
        assertEquals(Path.of("../../blobs/" + FakeHub.sha256(weights)), Files.readSymbolicLink(w));
        assertArrayEquals(config, Files.readAllBytes(cfg));
        assertArrayEquals(weights, Files.readAllBytes(w));
        assertTrue(Files.isRegularFile(repoDir.resolve("blobs").resolve(FakeHub.sha256(weights))));
        assertTrue(Files.isRegularFile(
                cache().resolve(".locks/models--acme--tiny-vit").resolve(FakeHub.sha256(weights) + ".lock")));
        assertEquals(List.of(), leftovers(repoDir));
        // the LFS bytes come from the CDN, without the token
        assertEquals(1, hub.cdnGets());
    }

    @Test
    void withoutSymlinksSnapshotsHoldRealFiles() throws IOException {
        HubSettings noLinks = HubSettings.fromEnvironment(
                Map.of("HF_HOME", hfHome.toString(), "HF_ENDPOINT", hub.endpoint(), "HF_HUB_DISABLE_SYMLINKS", "1"));
        assertFalse(noLinks.symlinks());
        Path dir = new ModelResolver(noLinks).resolve(REPO);
        for (String f : List.of("config.json", "model.safetensors")) {
            assertTrue(Files.isRegularFile(dir.resolve(f), java.nio.file.LinkOption.NOFOLLOW_LINKS), f);
        }
        assertArrayEquals(weights, Files.readAllBytes(dir.resolve("model.safetensors")));
        // as huggingface_hub: a new blob is moved into the snapshot, not kept twice
        assertFalse(Files.exists(repoDir(REPO).resolve("blobs").resolve(FakeHub.sha256(weights))));
        assertEquals(dir, new ModelResolver(noLinks.withOffline(true)).resolve(REPO));

        // a damaged real file is replaced (online, size differs)
        Files.write(dir.resolve("model.safetensors"), new byte[3]);
        new ModelResolver(noLinks).resolve(REPO);
        assertArrayEquals(weights, Files.readAllBytes(dir.resolve("model.safetensors")));
    }

    @Test
    void tokenIsSentToTheHubButNotToTheCdn() {
        hub.repos.get(REPO).gated = true;
        hub.repos.get(REPO).grantedToken = "hf_good";
        new ModelResolver(online().withToken("hf_good")).resolve(REPO);
        for (FakeHub.Request r : hub.requests) {
            if (r.path().startsWith("/cdn/")) {
                assertNull(r.authorization(), r.toString());
            } else {
                assertEquals("Bearer hf_good", r.authorization(), r.toString());
            }
        }
    }

    @Test
    void secondRunUsesTheCacheWithTheServerStopped() {
        Path first = new ModelResolver(online()).resolve(REPO);
        hub.stop();
        // online settings, hub gone: falls back to the complete cached snapshot
        assertEquals(first, new ModelResolver(online()).resolve(REPO));
        assertEquals(first, new ModelResolver(offline()).resolve(REPO));
        assertEquals(first, new ModelResolver(offline()).resolve(REPO + "@" + COMMIT));
        // a commit-hash revision that is cached needs no network at all
        assertEquals(first, new ModelResolver(online()).resolve(REPO + "@" + COMMIT));
    }

    @Test
    void secondOnlineRunOnlyAsksForMetadata() {
        new ModelResolver(online()).resolve(REPO);
        long gets = hub.requests.stream().filter(r -> r.method().equals("GET")).count();
        new ModelResolver(online()).resolve(REPO);
        assertEquals(
                gets,
                hub.requests.stream().filter(r -> r.method().equals("GET")).count());
    }

    @Test
    void offlineNeverTouchesTheNetworkAndErrorsClearlyWhenNotCached() {
        RadioException e = assertThrows(RadioException.class, () -> new ModelResolver(offline()).resolve(REPO));
        assertEquals(0, hub.requestCount.get());
        assertTrue(e.getMessage().contains("HF_HUB_OFFLINE"), e.getMessage());
        assertTrue(e.getMessage().contains("acme/tiny-vit@main"), e.getMessage());
        assertTrue(e.getMessage().contains("huggingface-cli download acme/tiny-vit --revision main"), e.getMessage());
        assertTrue(e.getMessage().contains(cache().toString()), e.getMessage());

        // also from the environment variable, as huggingface_hub reads it
        HubSettings fromEnv = HubSettings.fromEnvironment(
                Map.of("HF_HOME", hfHome.toString(), "HF_ENDPOINT", hub.endpoint(), "HF_HUB_OFFLINE", "1"));
        assertTrue(fromEnv.offline());
        assertThrows(RadioException.class, () -> new ModelResolver(fromEnv).resolve(REPO));
        assertEquals(0, hub.requestCount.get());

        Path dir = new ModelResolver(online()).resolve(REPO);
        int before = hub.requestCount.get();
        assertEquals(dir, new ModelResolver(fromEnv).resolve(REPO));
        assertEquals(before, hub.requestCount.get());
    }

    @Test
    void offlineListsMissingFiles() throws IOException {
        Path dir = new ModelResolver(online()).resolve(REPO);
        Files.delete(dir.resolve("model.safetensors"));
        RadioException e = assertThrows(RadioException.class, () -> new ModelResolver(offline()).resolve(REPO));
        assertTrue(e.getMessage().contains("lacks model.safetensors"), e.getMessage());
    }

    @Test
    void interruptedDownloadIsResumedWithinOneRun() throws IOException {
        hub.cutAfterBytes = 100_000;
        Path dir = new ModelResolver(online()).resolve(REPO);
        assertArrayEquals(weights, Files.readAllBytes(dir.resolve("model.safetensors")));
        assertEquals(1, hub.rangedRequests());
        assertEquals(2, hub.cdnGets());
        // resumes where the received bytes end (the client may lose what was in flight at the cut)
        long start = rangeStart();
        assertTrue(start > 0 && start <= 100_000, hub.requests.toString());
        assertEquals(List.of(), leftovers(repoDir(REPO)));
    }

    @Test
    void interruptedDownloadIsResumedByTheNextRun() throws IOException {
        hub.cutAfterBytes = 250_000;
        HubSettings oneAttempt = online().withDownloadAttempts(1);
        RadioException e = assertThrows(RadioException.class, () -> new ModelResolver(oneAttempt).resolve(REPO));
        assertTrue(e.getMessage().contains("resumes"), e.getMessage());
        Path incomplete = repoDir(REPO).resolve("blobs").resolve(FakeHub.sha256(weights) + ".incomplete");
        long partial = Files.size(incomplete);
        assertTrue(partial > 0 && partial <= 250_000, "partial " + partial);
        assertFalse(
                Files.exists(repoDir(REPO).resolve("snapshots").resolve(COMMIT).resolve("model.safetensors")));
        // a partial download is never used offline
        assertThrows(RadioException.class, () -> new ModelResolver(offline()).resolve(REPO));

        Path dir = new ModelResolver(oneAttempt).resolve(REPO);
        assertEquals(1, hub.rangedRequests());
        assertEquals(partial, rangeStart());
        assertArrayEquals(weights, Files.readAllBytes(dir.resolve("model.safetensors")));
        assertFalse(Files.exists(incomplete));
    }

    @Test
    void slowBodyLongerThanTheDownloadTimeoutStillCompletes() throws IOException {
        // The download timeout bounds each wait for data, not the whole transfer.
        hub.pauseMillis = 600;
        HubSettings s = online().withDownloadAttempts(1)
                .withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(1));
        long t0 = System.nanoTime();
        Path dir = new ModelResolver(s).resolve(REPO);
        assertTrue(System.nanoTime() - t0 > 1_100_000_000L);
        assertArrayEquals(weights, Files.readAllBytes(dir.resolve("model.safetensors")));
        assertEquals(0, hub.rangedRequests());
    }

    @Test
    void stalledBodyIsAbandonedAndResumed() throws IOException {
        hub.pauseMillis = 4000;
        hub.pauseOnce = true;
        HubSettings s = online().withDownloadAttempts(2)
                .withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(1));
        long t0 = System.nanoTime();
        Path dir = new ModelResolver(s).resolve(REPO);
        long millis = (System.nanoTime() - t0) / 1_000_000;
        assertArrayEquals(weights, Files.readAllBytes(dir.resolve("model.safetensors")));
        assertEquals(1, hub.rangedRequests());
        assertTrue(millis < 3900, "took " + millis + " ms: the stalled read was not abandoned");
    }

    @Test
    void corruptedDownloadIsDetectedAndNothingIsCached() throws IOException {
        hub.corruptLfs = true;
        RadioException e = assertThrows(RadioException.class, () -> new ModelResolver(online()).resolve(REPO));
        assertTrue(
                e.getMessage().startsWith("Corrupted download of model.safetensors of " + "acme/tiny-vit@main"),
                e.getMessage());
        assertTrue(e.getMessage().contains(FakeHub.sha256(weights)), e.getMessage());
        Path blobs = repoDir(REPO).resolve("blobs");
        try (Stream<Path> s = Files.list(blobs)) {
            assertEquals(
                    List.of(FakeHub.gitSha1(config)),
                    s.map(p -> p.getFileName().toString()).toList());
        }
        assertFalse(Files.exists(
                repoDir(REPO).resolve("snapshots").resolve(COMMIT).resolve("model.safetensors"),
                java.nio.file.LinkOption.NOFOLLOW_LINKS));

        hub.corruptLfs = false;
        Path dir = new ModelResolver(online()).resolve(REPO);
        assertArrayEquals(weights, Files.readAllBytes(dir.resolve("model.safetensors")));
    }

    @Test
    void damagedCachedBlobIsReplacedOnlineAndReportedOfflineWithVerify() throws IOException {
        Path dir = new ModelResolver(online()).resolve(REPO);
        Path blob = dir.resolve("model.safetensors").toRealPath();
        byte[] bad = weights.clone();
        bad[1000] ^= 1;
        Files.write(blob, bad); // same size: only a re-hash notices

        RadioException e = assertThrows(
                RadioException.class, () -> new ModelResolver(offline().withVerify(true)).resolve(REPO));
        assertTrue(e.getMessage().contains("model.safetensors is corrupted"), e.getMessage());

        assertEquals(dir, new ModelResolver(online().withVerify(true)).resolve(REPO));
        assertArrayEquals(weights, Files.readAllBytes(dir.resolve("model.safetensors")));

        Files.write(blob, new byte[10]); // wrong size: noticed online even without verify
        new ModelResolver(online()).resolve(REPO);
        assertArrayEquals(weights, Files.readAllBytes(dir.resolve("model.safetensors")));
    }

    @Test
    void shardedCheckpointDownloadsAllShards() throws IOException {
        Map<String, byte[]> files = FakeHub.splitSafetensors(weights, 2);
        hub.addShardedGolden(SHARDED, SHARDED_COMMIT);

        Path dir = new ModelResolver(online()).resolve(SHARDED);
        assertEquals(repoDir(SHARDED).resolve("snapshots").resolve(SHARDED_COMMIT), dir);
        assertFalse(Files.exists(dir.resolve("model.safetensors")));
        for (String f : List.of(
                "model-00001-of-00002.safetensors",
                "model-00002-of-00002.safetensors",
                "model.safetensors.index.json")) {
            assertTrue(Files.isSymbolicLink(dir.resolve(f)), f);
            assertArrayEquals(files.get(f), Files.readAllBytes(dir.resolve(f)), f);
        }
        assertArrayEquals(config, Files.readAllBytes(dir.resolve("config.json")));
        // huggingface_hub records known-missing files
        assertTrue(Files.exists(
                repoDir(SHARDED).resolve(".no_exist").resolve(SHARDED_COMMIT).resolve("model.safetensors")));

        int before = hub.requestCount.get();
        assertEquals(dir, new ModelResolver(offline()).resolve(SHARDED));
        assertEquals(before, hub.requestCount.get());

        Files.delete(dir.resolve("model-00002-of-00002.safetensors"));
        RadioException e = assertThrows(RadioException.class, () -> new ModelResolver(offline()).resolve(SHARDED));
        assertTrue(e.getMessage().contains("lacks model-00002-of-00002.safetensors"), e.getMessage());
    }

    @Test
    void splitterProducesShardsWithAllTensors() throws IOException {
        Map<String, byte[]> files = FakeHub.splitSafetensors(weights, 2);
        assertEquals(3, files.size());
        long total = files.entrySet().stream()
                .filter(x -> x.getKey().endsWith(".safetensors"))
                .mapToLong(x -> x.getValue().length)
                .sum();
        assertTrue(total > weights.length - 8_000 && total < weights.length + 8_000);
    }

    @Test
    void cacheWrittenByPythonClientIsUsedOffline() throws IOException {
        // Laid out by hand exactly as huggingface_hub lays it out.
        String hash = "fedcba9876543210fedcba9876543210fedcba98";
        Path repo = cache().resolve("models--nvidia--RADIO-tiny");
        Files.createDirectories(repo.resolve("blobs"));
        Files.createDirectories(repo.resolve("refs"));
        Files.createDirectories(repo.resolve("snapshots").resolve(hash));
        Files.write(repo.resolve("blobs").resolve(FakeHub.gitSha1(config)), config);
        Files.write(repo.resolve("blobs").resolve(FakeHub.sha256(weights)), weights);
        Files.writeString(repo.resolve("refs/main"), hash); // no newline, like Python writes it
        Path snap = repo.resolve("snapshots").resolve(hash);
        Files.createSymbolicLink(snap.resolve("config.json"), Path.of("../../blobs/" + FakeHub.gitSha1(config)));
        Files.createSymbolicLink(snap.resolve("model.safetensors"), Path.of("../../blobs/" + FakeHub.sha256(weights)));

        assertEquals(snap, new ModelResolver(offline()).resolve("nvidia/RADIO-tiny"));
        assertEquals(snap, new ModelResolver(offline()).resolve("nvidia/RADIO-tiny@" + hash));
        assertEquals(snap, new ModelResolver(offline().withVerify(true)).resolve("nvidia/RADIO-tiny"));
        assertEquals(0, hub.requestCount.get());
        RadioException e =
                assertThrows(RadioException.class, () -> new ModelResolver(offline()).resolve("nvidia/RADIO-tiny@v2"));
        assertTrue(e.getMessage().contains("refs/v2"), e.getMessage());
    }

    @Test
    void repoNotFoundMessage() {
        RadioException e = assertThrows(RadioException.class, () -> new ModelResolver(online()).resolve("acme/nope"));
        assertTrue(
                e.getMessage()
                        .startsWith("Hugging Face repo 'acme/nope' does not exist, or is " + "private/gated (HTTP 401"),
                e.getMessage());
        assertTrue(e.getMessage().contains("set HF_TOKEN"), e.getMessage());

        e = assertThrows(
                RadioException.class, () -> new ModelResolver(online().withToken("hf_x")).resolve("acme/nope"));
        assertTrue(e.getMessage().contains("(HTTP 404"), e.getMessage());
        assertTrue(e.getMessage().contains("token in HF_TOKEN has read access"), e.getMessage());
    }

    @Test
    void gatedRepoMessages() {
        hub.repos.get(REPO).gated = true;
        hub.repos.get(REPO).grantedToken = "hf_granted";
        RadioException e = assertThrows(RadioException.class, () -> new ModelResolver(online()).resolve(REPO));
        assertTrue(e.getMessage().startsWith("Hugging Face repo 'acme/tiny-vit' is gated (HTTP 401"), e.getMessage());
        assertTrue(e.getMessage().contains("no token was sent"), e.getMessage());
        assertTrue(
                e.getMessage()
                        .contains("Accept the license on the hub page " + hub.endpoint()
                                + "/acme/tiny-vit and set HF_TOKEN"),
                e.getMessage());

        e = assertThrows(RadioException.class, () -> new ModelResolver(online().withToken("hf_other")).resolve(REPO));
        assertTrue(e.getMessage().contains("is gated (HTTP 403"), e.getMessage());
        assertTrue(e.getMessage().contains("has not been granted access"), e.getMessage());

        Path dir = new ModelResolver(online().withToken("hf_granted")).resolve(REPO);
        assertTrue(Files.isRegularFile(dir.resolve("model.safetensors")));
    }

    @Test
    void notEnoughDiskSpaceMessage() {
        long petabyte = 1L << 50;
        hub.announcedLfsSize = petabyte;
        RadioException e = assertThrows(RadioException.class, () -> new ModelResolver(online()).resolve(REPO));
        assertTrue(
                e.getMessage()
                        .startsWith("Not enough disk space to download model.safetensors of "
                                + "acme/tiny-vit@main into the Hugging Face cache " + cache() + ": needs " + petabyte
                                + " bytes (1.0 PiB"),
                e.getMessage());
        assertTrue(e.getMessage().contains("HF_HUB_CACHE"), e.getMessage());
        assertEquals(0, hub.cdnGets());
    }

    @Test
    void revisionNotFoundMessage() {
        RadioException e = assertThrows(RadioException.class, () -> new ModelResolver(online()).resolve(REPO + "@v9"));
        assertTrue(
                e.getMessage().startsWith("Revision 'v9' does not exist in Hugging Face repo " + "'acme/tiny-vit'"),
                e.getMessage());
    }

    @Test
    void repoWithoutWeightsMessage() {
        hub.addRepo("acme/no-weights", COMMIT, Map.of("config.json", config));
        RadioException e =
                assertThrows(RadioException.class, () -> new ModelResolver(online()).resolve("acme/no-weights"));
        assertTrue(
                e.getMessage().contains("has neither model.safetensors nor " + "model.safetensors.index.json"),
                e.getMessage());
    }

    @Test
    void unreachableEndpointMessage() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        String endpoint = "http://127.0.0.1:" + port;
        HubSettings settings = online().withEndpoint(endpoint)
                .withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(2), Duration.ofSeconds(2));
        RadioException e = assertThrows(RadioException.class, () -> new ModelResolver(settings).resolve(REPO));
        assertTrue(e.getMessage().startsWith("Cannot reach " + endpoint + " (connection refused)"), e.getMessage());
        assertTrue(e.getMessage().contains("HF_HUB_OFFLINE=1"), e.getMessage());
        assertTrue(e.getMessage().contains("not completely cached"), e.getMessage());
    }

    @Test
    void localDirectoriesAndBadIds(@TempDir Path empty) {
        ModelResolver r = new ModelResolver(offline());
        Path golden = FakeHub.GOLDEN.toAbsolutePath();
        assertEquals(golden, r.resolve(FakeHub.GOLDEN.toString()));

        RadioException e = assertThrows(RadioException.class, () -> r.resolve(empty.toString()));
        assertTrue(e.getMessage().startsWith("Model directory " + empty + " has no config.json"), e.getMessage());

        e = assertThrows(RadioException.class, () -> r.resolve("/no/such/dir"));
        assertTrue(
                e.getMessage()
                        .contains("no such directory (/no/such/dir), and not a hub id of the "
                                + "form org/name[@revision]"),
                e.getMessage());
        for (String bad : List.of("just-a-name", "a/b/c", "org/name@", "org/na--me", "org/name@a b", "org/name@../x")) {
            e = assertThrows(RadioException.class, () -> r.resolve(bad), bad);
            assertTrue(e.getMessage().contains("not a hub id of the form org/name[@revision]"), e.getMessage());
        }
        assertEquals(0, hub.requestCount.get());
    }

    /** What a table records (file:/dir, hub:org/name@rev) resolves as the plain forms do, from any folder. */
    @Test
    void qualifiedLocationsResolveLikeThePlainOnes() throws Exception {
        Path golden = FakeHub.GOLDEN.toAbsolutePath().normalize();
        String relative = Path.of("").toAbsolutePath().relativize(golden).toString();
        assertEquals("file:" + golden, ModelResolver.qualified(relative));
        assertEquals("file:" + golden, ModelResolver.qualified(golden + "/../" + golden.getFileName()));
        assertEquals("hub:" + REPO + "@main", ModelResolver.qualified(REPO));
        assertEquals("hub:" + REPO + "@" + COMMIT, ModelResolver.qualified(REPO + "@" + COMMIT));
        assertEquals("hub:" + REPO + "@main", ModelResolver.qualified("hub:" + REPO + "@main"));
        assertEquals("not a model", ModelResolver.qualified("not a model"));
        assertEquals(golden.toString(), ModelResolver.unqualified("file://" + golden));
        assertEquals(REPO + "@main", ModelResolver.unqualified("hub:" + REPO + "@main"));

        ModelResolver r = new ModelResolver(online());
        assertEquals(golden, r.resolve(ModelResolver.qualified(relative)));
        Path online = r.resolve(REPO + "@" + COMMIT);
        assertEquals(online, r.resolve(ModelResolver.qualified(REPO + "@" + COMMIT)));
    }

    /** A repo whose index lists one shard, named {@code shard}, that the hub does not have. */
    void addRepoWithShard(String repo, String shard) {
        String index = "{\"weight_map\": {\"w\": \"" + shard + "\"}}";
        hub.addRepo(
                repo,
                COMMIT,
                Map.of(
                        "config.json",
                        config,
                        "model.safetensors.index.json",
                        index.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }

    @Test
    void shardNameLeadingOutOfTheCacheIsRefusedAndNothingIsCreatedOutside() throws IOException {
        // Without the check, the hub's EntryNotFound for this shard made recordMissing create
        // .no_exist/<commit>/../../../../outside/x.safetensors = hfHome/outside/x.safetensors.
        addRepoWithShard("acme/evil", "../../../../outside/x.safetensors");
        RadioException e = assertThrows(RadioException.class, () -> new ModelResolver(online()).resolve("acme/evil"));
        assertEquals(
                "Refusing the shard name in model.safetensors.index.json of acme/evil@main "
                        + "'../../../../outside/x.safetensors' from the Hugging Face hub: it has the path segment "
                        + "'..', and the cache keeps every file inside "
                        + repoDir("acme/evil").resolve("snapshots").resolve(COMMIT)
                        + ". The repo's files are malformed or HF_ENDPOINT is not a trustworthy "
                        + "hub: use another revision or repo, or check HF_ENDPOINT.",
                e.getMessage());
        assertFalse(Files.exists(hfHome.resolve("outside")));
        assertTrue(hub.requests.stream().noneMatch(r -> r.path().contains("outside")), "no request");
    }

    @Test
    void absoluteShardNameIsRefusedAndNothingIsCreatedThere() {
        Path target = hfHome.resolve("abs").resolve("x.safetensors");
        addRepoWithShard("acme/absolute", target.toString());
        RadioException e =
                assertThrows(RadioException.class, () -> new ModelResolver(online()).resolve("acme/absolute"));
        assertTrue(
                e.getMessage()
                        .startsWith("Refusing the shard name in model.safetensors.index.json "
                                + "of acme/absolute@main '" + target + "' from the Hugging Face hub: it is an absolute "
                                + "path"),
                e.getMessage());
        assertFalse(Files.exists(hfHome.resolve("abs")));
    }

    @Test
    void cachedIndexNamingAFileOutsideTheSnapshotIsNotUsedOffline() throws IOException {
        // A cache whose index points at a file outside it: offline it used to count as complete.
        Path snap = repoDir("acme/evil").resolve("snapshots").resolve(COMMIT);
        Files.createDirectories(snap);
        Files.write(snap.resolve("config.json"), config);
        Files.writeString(
                snap.resolve("model.safetensors.index.json"),
                "{\"weight_map\": {\"w\": \"../../../../outside.safetensors\"}}");
        Files.write(hfHome.resolve("outside.safetensors"), weights);
        Files.createDirectories(repoDir("acme/evil").resolve("refs"));
        Files.writeString(repoDir("acme/evil").resolve("refs").resolve("main"), COMMIT);

        RadioException e = assertThrows(RadioException.class, () -> new ModelResolver(offline()).resolve("acme/evil"));
        assertTrue(
                e.getMessage()
                        .contains("Refusing the shard name in model.safetensors.index.json of "
                                + "acme/evil@main '../../../../outside.safetensors' from the Hugging Face hub: it has the "
                                + "path segment '..'"),
                e.getMessage());
    }

    @Test
    void hubNamesResolveOnlyInsideTheirRoot(@TempDir Path root) {
        assertEquals(
                root.resolve("model-00001-of-00002.safetensors"),
                ModelResolver.inside(root, "model-00001-of-00002.safetensors", "shard name"));
        assertEquals(root.resolve("refs/pr/1"), ModelResolver.inside(root, "refs/pr/1", "revision"));
        Map<String, String> refused = Map.of(
                "",
                "it is empty",
                "/etc/passwd",
                "it is an absolute path",
                "a\\..\\b",
                "it contains a backslash or NUL",
                "a//b",
                "it has the path segment ''",
                "./a",
                "it has the path segment '.'",
                "a/..",
                "it has the path segment '..'",
                "..",
                "it has the path segment '..'",
                "a/",
                "it has the path segment ''");
        refused.forEach((name, why) -> {
            RadioException e =
                    assertThrows(RadioException.class, () -> ModelResolver.inside(root, name, "file name"), name);
            assertTrue(
                    e.getMessage()
                            .startsWith("Refusing the file name '" + name + "' from the Hugging " + "Face hub: " + why
                                    + ", "),
                    e.getMessage());
        });
    }

    @Test
    void concurrentResolversDownloadEachBlobOnce() throws Exception {
        concurrentResolvers(online());
    }

    @Test
    void concurrentResolversWithoutSymlinksDownloadEachBlobOnce() throws Exception {
        concurrentResolvers(online().withSymlinks(false));
    }

    void concurrentResolvers(HubSettings settings) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Path>> futures = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                futures.add(pool.submit(() -> new ModelResolver(settings).resolve(REPO)));
            }
            Path first = futures.get(0).get();
            for (Future<Path> f : futures) {
                assertEquals(first, f.get());
            }
            assertArrayEquals(weights, Files.readAllBytes(first.resolve("model.safetensors")));
            assertEquals(1, hub.cdnGets());
            assertEquals(List.of(), leftovers(repoDir(REPO)));
        } finally {
            pool.shutdownNow();
        }
    }

    long rangeStart() {
        String range = hub.requests.stream()
                .map(FakeHub.Request::range)
                .filter(java.util.Objects::nonNull)
                .findFirst()
                .orElseThrow();
        assertTrue(range.matches("bytes=\\d+-"), range);
        return Long.parseLong(range.substring(6, range.length() - 1));
    }

    /** Temporary or partial files left in the repo folder. */
    static List<Path> leftovers(Path repoDir) throws IOException {
        try (Stream<Path> s = Files.walk(repoDir)) {
            return s.filter(p ->
                            p.toString().endsWith(".incomplete") || p.toString().endsWith(".tmp"))
                    .toList();
        }
    }
}
