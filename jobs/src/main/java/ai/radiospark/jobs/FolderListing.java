package ai.radiospark.jobs;

import ai.radiospark.RadioException;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.attribute.BasicFileAttributes;
import java.sql.Timestamp;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.GlobFilter;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A folder or glob input listed on the driver, without a Spark job: every file below the matched
 * folders whose name matches the extensions, skipping hidden names below them as Spark's file
 * sources do; local folders walked safely from link loops.
 */
final class FolderListing {
    /** The listing's log keeps ImageListing's name. */
    private static final Logger LOG = LoggerFactory.getLogger(ImageListing.class);

    private FolderListing() {}

    /**
     * The images of a folder or glob input as {@code path, byte_size, modification_time} rows,
     * listed on the driver through Hadoop's file system (a flat listing on object stores; local
     * folders by {@link #walkLocal}, safe from link loops): every
     * file below the matched folders whose name matches the extensions, skipping names that start
     * with '_' or '.' below them as Spark's file sources do. Zero-byte files are listed (they become
     * error rows); Spark's file sources would drop them silently.
     */
    static List<Row> list(Configuration hadoopConf, String input, String globFilter) {
        Path pattern = new Path(input);
        List<Row> rows = new ArrayList<>();
        try {
            FileSystem fs = pattern.getFileSystem(hadoopConf);
            FileStatus[] roots = fs.globStatus(pattern);
            if (roots == null || roots.length == 0) {
                throw new RadioException(
                        "--input " + input + (roots == null ? " does not exist" : " matches no file or folder")
                                + ". Give an existing folder of images, such as ./photos, or a glob that matches some, such as "
                                + "'s3a://bucket/img/*/*.jpg'.");
            }
            GlobFilter names = new GlobFilter(globFilter);
            for (FileStatus root : roots) {
                if (root.isFile()) {
                    if (names.accept(root.getPath())) {
                        rows.add(row(root));
                    }
                    continue;
                }
                String prefix = root.getPath().toUri().getPath();
                if ("file".equals(root.getPath().toUri().getScheme())) {
                    walkLocal(root.getPath(), names, rows);
                    continue;
                }
                RemoteIterator<LocatedFileStatus> files = fs.listFiles(root.getPath(), true);
                while (files.hasNext()) {
                    LocatedFileStatus f = files.next();
                    if (names.accept(f.getPath())
                            && !hiddenBelow(prefix, f.getPath().toUri().getPath())) {
                        rows.add(row(f));
                    }
                }
            }
        } catch (IOException e) {
            throw new RadioException(
                    "Cannot list --input " + input + ": " + e.getMessage() + ". Check that the path is "
                            + "readable (and the file system's credentials, for an object store).",
                    e);
        }
        return rows;
    }

    /** Folders deeper than this below an input folder are not listed (a warning says so). */
    static final int MAX_DEPTH = 64;

    /**
     * Lists a local folder as Hadoop's listFiles does (same paths, sizes and times), but safely:
     * symbolic links are followed, each folder only once by its real path, so a link loop such as
     * {@code ln -s . loop} adds nothing, and no deeper than {@link #MAX_DEPTH}. Names matching the
     * extensions that are not regular files (a FIFO, socket, device) are listed too; they are never
     * opened, and become error rows ({@link ai.radiospark.ml.FileBytes}).
     */
    private static void walkLocal(Path root, GlobFilter names, List<Row> rows) throws IOException {
        java.nio.file.Path start = java.nio.file.Paths.get(root.toUri());
        String prefix = root.toUri().getPath();
        Set<java.nio.file.Path> seen = new HashSet<>();
        seen.add(start.toRealPath());
        ArrayDeque<java.nio.file.Path> folders = new ArrayDeque<>();
        folders.add(start);
        boolean warned = false;
        while (!folders.isEmpty()) {
            java.nio.file.Path dir = folders.poll();
            int depth = dir.equals(start) ? 0 : start.relativize(dir).getNameCount();
            try (DirectoryStream<java.nio.file.Path> entries = Files.newDirectoryStream(dir)) {
                for (java.nio.file.Path entry : entries) {
                    Path path = new Path(entry.toUri());
                    if (hiddenBelow(prefix, path.toUri().getPath())) {
                        continue;
                    }
                    BasicFileAttributes a;
                    try {
                        a = Files.readAttributes(entry, BasicFileAttributes.class);
                    } catch (IOException e) { // a dangling link, or no permission to look: listed, its read says why
                        if (names.accept(path)) {
                            rows.add(RowFactory.create(path.toString(), null, null));
                        }
                        continue;
                    }
                    if (a.isDirectory()) {
                        if (depth + 1 > MAX_DEPTH) {
                            if (!warned) {
                                LOG.warn(
                                        "Not listing folders more than {} levels below {}, such as {}",
                                        MAX_DEPTH,
                                        root,
                                        entry);
                                warned = true;
                            }
                        } else if (seen.add(entry.toRealPath())) {
                            folders.add(entry);
                        }
                    } else if (names.accept(path)) {
                        rows.add(RowFactory.create(
                                path.toString(),
                                a.size(),
                                new Timestamp(a.lastModifiedTime().toMillis())));
                    }
                }
            }
        }
    }

    static Row row(FileStatus f) {
        return RowFactory.create(f.getPath().toString(), f.getLen(), new Timestamp(f.getModificationTime()));
    }

    /**
     * Whether {@code path}, below the folder {@code root}, is in or is a hidden file or folder: a
     * name starting with '.', or with '_' unless it holds '=' (a partition folder), or a file being
     * copied ({@code ._COPYING_}). Spark's file listing skips the same.
     */
    static boolean hiddenBelow(String root, String path) {
        String below = path.startsWith(root) ? path.substring(root.length()) : path;
        for (String name : below.split("/")) {
            if (!name.isEmpty()
                    && (name.startsWith(".")
                            || (name.startsWith("_") && !name.contains("="))
                            || name.endsWith("._COPYING_"))) {
                return true;
            }
        }
        return false;
    }
}
