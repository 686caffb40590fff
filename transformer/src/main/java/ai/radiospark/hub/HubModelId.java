package ai.radiospark.hub;

import ai.radiospark.RadioException;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Hugging Face model reference {@code org/name[@revision]}; the revision (branch, tag or 40-hex
 * commit hash) defaults to {@code main}.
 *
 * @param repoId {@code org/name}
 * @param revision branch, tag or commit hash
 */
public record HubModelId(String repoId, String revision) {
    public static final String DEFAULT_REVISION = "main";

    // Same characters as huggingface_hub's validate_repo_id: [\w\-.], no "--" nor "..".
    private static final String PART = "[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?";
    private static final Pattern ID = Pattern.compile("(" + PART + ")/(" + PART + ")(?:@([^\\s@]+))?");
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");

    public HubModelId {
        if (!valid(repoId, revision)) {
            throw new IllegalArgumentException(
                    "not a hub id of the form org/name[@revision]: " + repoId + "@" + revision);
        }
    }

    /** Parses {@code org/name[@revision]}, or returns empty when {@code text} is not of that form. */
    public static Optional<HubModelId> parse(String text) {
        if (text == null) {
            return Optional.empty();
        }
        Matcher m = ID.matcher(text.trim());
        if (!m.matches()) {
            return Optional.empty();
        }
        String repo = m.group(1) + "/" + m.group(2);
        String rev = m.group(3) == null ? DEFAULT_REVISION : m.group(3);
        return valid(repo, rev) ? Optional.of(new HubModelId(repo, rev)) : Optional.empty();
    }

    /** Like {@link #parse} but throws a {@link RadioException} naming the bad value. */
    public static HubModelId of(String text) {
        return parse(text)
                .orElseThrow(() -> new RadioException(
                        "'" + text + "' is not a hub id of the form org/name[@revision] (e.g. nvidia/RADIO-B or "
                                + "nvidia/RADIO-B@main, revision = branch, tag or 40-hex commit). Fix the model id."));
    }

    private static boolean valid(String repoId, String rev) {
        if (repoId == null || rev == null) {
            return false;
        }
        Matcher m = ID.matcher(repoId);
        if (!m.matches() || m.group(3) != null) {
            return false;
        }
        if (repoId.contains("--") || repoId.contains("..") || repoId.endsWith(".git") || repoId.length() > 96) {
            return false;
        }
        // The revision becomes a file name under refs/ and snapshots/: keep it inside them.
        return !rev.isEmpty()
                && !rev.matches(".*[\\s@\\\\].*")
                && !rev.startsWith("/")
                && !rev.endsWith("/")
                && !rev.equals(".")
                && !rev.contains("..")
                && !rev.contains("//");
    }

    /** True when the revision is a full commit hash rather than a branch or tag. */
    public boolean isCommitHash() {
        return COMMIT.matcher(revision).matches();
    }

    /** Cache folder name as huggingface_hub names it: {@code models--org--name}. */
    public String cacheFolderName() {
        return "models--" + repoId.replace("/", "--");
    }

    @Override
    public String toString() {
        return repoId + "@" + revision;
    }
}
