package ai.radiospark.ml;

import ai.radiospark.RadioException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.Files;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.ChecksumFileSystem;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;

/**
 * Reads a whole image file through Hadoop's file systems (local, HDFS, s3a, ...), on executors.
 *
 * <p>Only regular files are read: a FIFO, socket or device named like an image would block or
 * never end, so it is refused unopened. Every read has a timeout ({@value #TIMEOUT_KEY}, default
 * {@value #DEFAULT_TIMEOUT_SECONDS} s): a read that hangs (a stuck network mount) is abandoned, and
 * the image becomes an error row instead of stalling its task for ever. Local files are read
 * through the raw local file system: images have no {@code .crc} side files, and Hadoop's checksum
 * layer cannot even name the side file of a file whose name holds a ':'.
 */
public final class FileBytes {
    /** Hadoop configuration key: seconds a single file read may take. */
    public static final String TIMEOUT_KEY = "radio.read.timeout.seconds";

    public static final long DEFAULT_TIMEOUT_SECONDS = 300;

    /** Reader threads: daemons, so that a read abandoned after its timeout never holds up the JVM. */
    private static final ExecutorService READERS = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "radio-spark-file-read");
        t.setDaemon(true);
        return t;
    });

    private FileBytes() {}

    /**
     * The file's bytes. An IOException says why not (missing, not a regular file, unreadable, timed
     * out); a file over 2 GB is refused with a RadioException.
     */
    public static byte[] read(String path, Configuration conf) throws IOException {
        long timeout = conf.getLong(TIMEOUT_KEY, DEFAULT_TIMEOUT_SECONDS);
        Future<byte[]> f = READERS.submit(() -> readNow(path, conf));
        try {
            return f.get(timeout, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            throw new IOException("the read took longer than " + timeout + " s and was abandoned (a hung file system?"
                    + " The limit is the Hadoop setting " + TIMEOUT_KEY + ")");
        } catch (InterruptedException e) {
            f.cancel(true);
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while reading " + path);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw io;
            }
            if (c instanceof RuntimeException r) {
                throw r;
            }
            if (c instanceof Error err) {
                throw err;
            }
            throw new IOException(c);
        }
    }

    private static byte[] readNow(String path, Configuration conf) throws IOException {
        Path p = new Path(path);
        FileSystem fs = p.getFileSystem(conf);
        if (fs instanceof ChecksumFileSystem checksummed) {
            fs = checksummed.getRawFileSystem();
        }
        FileStatus status = fs.getFileStatus(p);
        if (status.isDirectory()) {
            throw new IOException("it is a folder, not a file");
        }
        if (fs instanceof RawLocalFileSystem local) {
            java.nio.file.Path file = local.pathToFile(p).toPath();
            if (!Files.isRegularFile(file)) {
                if (!Files.exists(file)) {
                    throw new FileNotFoundException("File " + path + " does not exist");
                }
                throw new IOException("it is not a regular file (a FIFO, socket or device?), so it is not opened: "
                        + "only regular files are read");
            }
        }
        long len = status.getLen();
        if (len > Integer.MAX_VALUE - 16) {
            throw new RadioException("Cannot read " + path + ": it is " + len + " bytes, more than an image can be "
                    + "(2 GB). Is this an image?");
        }
        byte[] out = new byte[(int) len];
        try (FSDataInputStream in = fs.open(p)) {
            in.readFully(0, out);
        }
        return out;
    }
}
