package ai.radiospark.ml;

import ai.radiospark.RadioException;
import java.io.IOException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/** Reads a whole image file through Hadoop's file systems (local, HDFS, s3a, ...), on executors. */
public final class FileBytes {
  private FileBytes() {}

  /**
   * The file's bytes. An IOException says why not (missing, unreadable); a file over 2 GB is
   * refused with a RadioException.
   */
  public static byte[] read(String path, Configuration conf) throws IOException {
    Path p = new Path(path);
    FileSystem fs = p.getFileSystem(conf);
    long len = fs.getFileStatus(p).getLen();
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
