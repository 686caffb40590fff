package ai.radiospark.hub;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * Verification of hub files: size and hash of a cached blob, and the digests a download updates as
 * it goes. A 64-hex etag is the SHA-256 of an LFS file; a 40-hex etag is the git blob SHA-1 of a
 * small file.
 */
final class BlobCheck {
    static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    static final Pattern SHA1 = Pattern.compile("[0-9a-f]{40}");

    private BlobCheck() {}

    /** Null when {@code file} has the expected size and (if {@code rehash}) its sha256 etag. */
    static String blobProblem(Path file, Long size, String etag, boolean rehash) {
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

    static String blobName(Path pointer) {
        try {
            return pointer.toRealPath().getFileName().toString();
        } catch (IOException e) {
            return null;
        }
    }

    /** sha256 for LFS etags, git blob sha1 for 40-hex etags, none otherwise. */
    static MessageDigest digestFor(String etag, long size) {
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

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static final class Chunk {
        final byte[] buf = new byte[1 << 16];
        int len;
    }

    interface ChunkSink {
        void accept(Chunk c) throws IOException;
    }

    /** Copies up to {@code limit} bytes from {@code in} into the digest and the sink. */
    static void update(MessageDigest d, InputStream in, long limit, ChunkSink sink) throws IOException {
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
}
