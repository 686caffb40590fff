package ai.radiospark.hub;

import static ai.radiospark.hub.ModelResolver.CONFIG;

import ai.radiospark.RadioException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one-line messages for what can go wrong between {@link ModelResolver}, the hub, the network
 * and the cache's disk: what failed, why, and how to fix it (HF_TOKEN, HF_ENDPOINT, HF_HOME,
 * HF_HUB_OFFLINE, free space). A {@link HubUnavailable} marks the failures after which a
 * completely cached snapshot is used instead, as huggingface_hub does.
 */
final class HubErrors {
    private static final Logger LOG = LoggerFactory.getLogger(ModelResolver.class);

    private final HubSettings settings;

    HubErrors(HubSettings settings) {
        this.settings = settings;
    }

    /** The hub could not be used; the cache is an acceptable fallback (as in huggingface_hub). */
    static final class HubUnavailable extends RadioException {
        private static final long serialVersionUID = 1L;
        final boolean network;

        HubUnavailable(String message, Throwable cause, boolean network) {
            super(message, cause);
            this.network = network;
        }
    }

    HubUnavailable unreachable(IOException e, URI url) {
        String why = e instanceof ConnectException
                ? "connection refused"
                : e instanceof UnknownHostException
                        ? "unknown host"
                        : e instanceof HttpConnectTimeoutException
                                ? "connect timeout after "
                                        + settings.connectTimeout().toSeconds() + " s"
                                : e instanceof HttpTimeoutException
                                        ? "no answer within "
                                                + settings.metadataTimeout().toSeconds() + " s (HF_HUB_ETAG_TIMEOUT)"
                                        : e.toString();
        return new HubUnavailable(
                "Cannot reach " + settings.endpoint() + " (" + why + ") to " + "resolve " + url + ".", e, true);
    }

    RuntimeException httpError(HubHttp.StatusException e, HubModelId id, String file) {
        String repoPage = settings.endpoint() + "/" + id.repoId();
        String code = e.errorCode;
        if ("RevisionNotFound".equals(code)) {
            return new RadioException(
                    "Revision '" + id.revision() + "' does not exist in Hugging Face "
                            + "repo '" + id.repoId() + "' (HTTP " + e.status + " for " + e.url + "). Use an existing "
                            + "branch, tag or full 40-hex commit hash (see " + repoPage + "/tree/main), e.g. "
                            + id.repoId() + "@main.",
                    e);
        }
        if ("EntryNotFound".equals(code)) {
            return new RadioException(
                    "Hugging Face repo '" + id.repoId() + "' has no file '" + file
                            + "' at revision " + id.revision() + " (HTTP " + e.status + " for " + e.url + "): it is "
                            + "not a RADIO checkpoint in Hugging Face format (" + CONFIG + " + safetensors). Check "
                            + "the id and revision.",
                    e);
        }
        if ("GatedRepo".equals(code)) {
            return new HubUnavailable(
                    "Hugging Face repo '" + id.repoId() + "' is gated (HTTP "
                            + e.status + " for " + e.url + "): "
                            + (settings.token().isPresent()
                                    ? "the token in HF_TOKEN belongs to an account that has not been granted access. "
                                    : "no token was sent. ")
                            + "Accept the license on the hub page " + repoPage + " and set HF_TOKEN to a token "
                            + "(https://huggingface.co/settings/tokens) of the account that accepted it.",
                    e,
                    false);
        }
        if (e.status == 401 && "Invalid credentials in Authorization header".equals(e.errorMessage)) {
            return new HubUnavailable(
                    "The hub " + settings.endpoint() + " rejected the token in "
                            + "HF_TOKEN (HTTP 401, invalid credentials) while resolving '" + id.repoId() + "'. "
                            + "Set HF_TOKEN to a valid token from https://huggingface.co/settings/tokens, or unset "
                            + "it for public repos.",
                    e,
                    false);
        }
        if ("RepoNotFound".equals(code) || e.status == 401) {
            return new HubUnavailable(
                    "Hugging Face repo '" + id.repoId() + "' does not exist, or is "
                            + "private/gated (HTTP " + e.status + " for " + e.url + "). Check the id (" + repoPage
                            + "); if it is private or gated, "
                            + (settings.token().isPresent()
                                    ? "make sure the token in HF_TOKEN has read access to it."
                                    : "set HF_TOKEN to a token with read access (https://huggingface.co/settings/tokens)."),
                    e,
                    false);
        }
        if (e.status == 403) {
            return new HubUnavailable(
                    "Access to Hugging Face repo '" + id.repoId() + "' is forbidden "
                            + "(HTTP 403 for " + e.url + (e.errorMessage != null ? ": " + e.errorMessage : "")
                            + "). Make sure HF_TOKEN is set to a token with read access to " + repoPage + ".",
                    e,
                    false);
        }
        return new HubUnavailable(
                "The hub " + settings.endpoint() + " answered HTTP " + e.status
                        + (e.errorMessage != null ? " (" + e.errorMessage + ")" : "") + " for " + e.url
                        + " while resolving '" + id + "'. Try again later; if the model is already cached, set "
                        + "HF_HUB_OFFLINE=1.",
                e,
                e.status >= 500 || e.status == 429);
    }

    RadioException corrupted(HubModelId id, String file, HubHttp.Metadata m, String why) {
        return new RadioException("Corrupted download of " + file + " of " + id + " from "
                + m.location() + ": " + why + ", but the hub announced " + m.etag() + " (" + m.size()
                + " bytes). The partial file was deleted and nothing was cached; run again, and if it "
                + "persists check proxies between you and " + settings.endpoint() + ".");
    }

    void checkSpace(HubModelId id, String file, Path dir, long needed) {
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

    RadioException noSpace(HubModelId id, String file, Path dir, long needed, IOException e) {
        return new RadioException(
                "No space left on the device while downloading " + file + " of "
                        + id + " into the Hugging Face cache " + settings.cacheDir() + " (" + dir + "): still "
                        + needed + " bytes (" + human(needed) + ") needed. Free disk space, or point HF_HOME or "
                        + "HF_HUB_CACHE at a larger disk; the partial download is kept and resumed next time.",
                e);
    }

    RadioException cacheWriteError(Path path, IOException e) {
        return new RadioException(
                "Cannot write to the Hugging Face cache at " + path + " (" + e
                        + "). Make the cache writable, or point HF_HOME or HF_HUB_CACHE at a writable "
                        + "directory.",
                e);
    }

    static boolean isNoSpace(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && t.getMessage().contains("No space left")) {
                return true;
            }
        }
        return false;
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
