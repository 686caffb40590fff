package ai.radiospark.ml;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading image files: only regular files, names with ':', and a timeout on every read. */
class FileBytesTest {
    @TempDir
    Path tmp;

    @Test
    void fifoIsRefusedWithoutOpeningIt() throws Exception {
        Path fifo = tmp.resolve("x.jpg");
        assertEquals(
                0,
                new ProcessBuilder("mkfifo", fifo.toString())
                        .inheritIO()
                        .start()
                        .waitFor());
        // Opening a FIFO blocks until a writer comes: the read must not even try.
        IOException e = assertTimeoutPreemptively(
                Duration.ofSeconds(20),
                () -> assertThrows(IOException.class, () -> FileBytes.read("file:" + fifo, new Configuration())));
        assertEquals(
                "it is not a regular file (a FIFO, socket or device?), so it is not opened: only regular files "
                        + "are read",
                e.getMessage());
    }

    @Test
    void namesWithAColonAreRead() throws Exception {
        Path file = Files.write(tmp.resolve("2024-01-01 10:00:00.jpg"), new byte[] {1, 2, 3});
        assertArrayEquals(new byte[] {1, 2, 3}, FileBytes.read("file:" + file, new Configuration()));
        assertArrayEquals(new byte[] {1, 2, 3}, FileBytes.read(file.toString(), new Configuration()));
        FileNotFoundException gone = assertThrows(
                FileNotFoundException.class,
                () -> FileBytes.read("file:" + tmp.resolve("gone:1.jpg"), new Configuration()));
        assertTrue(gone.getMessage().contains("gone:1.jpg"), gone.getMessage());
    }

    /** A local file system whose reads never return, as a stuck network mount. */
    public static final class HangingFileSystem extends RawLocalFileSystem {
        @Override
        public URI getUri() {
            return URI.create("hang:///");
        }

        @Override
        public FSDataInputStream open(org.apache.hadoop.fs.Path f, int bufferSize) throws IOException {
            try {
                Thread.sleep(Long.MAX_VALUE);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            throw new IOException("interrupted");
        }
    }

    @Test
    void aReadThatHangsIsAbandonedAfterTheTimeout() throws Exception {
        Path file = Files.write(tmp.resolve("a.jpg"), new byte[] {1});
        Configuration conf = new Configuration();
        conf.set("fs.hang.impl", HangingFileSystem.class.getName());
        conf.setBoolean("fs.hang.impl.disable.cache", true);
        conf.setLong(FileBytes.TIMEOUT_KEY, 1);
        long t0 = System.nanoTime();
        IOException e = assertTimeoutPreemptively(
                Duration.ofSeconds(20),
                () -> assertThrows(IOException.class, () -> FileBytes.read("hang://" + file, conf)));
        assertEquals(
                "the read took longer than 1 s and was abandoned (a hung file system? The limit is the Hadoop "
                        + "setting radio.read.timeout.seconds)",
                e.getMessage());
        assertTrue(System.nanoTime() - t0 < 10_000_000_000L);
    }
}
