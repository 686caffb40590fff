package ai.radiospark.jobs;

import ai.radiospark.ml.EmbedderMetrics;

/** Progress over chunks: each chunk's embedder metrics, added up. */
final class ExtractProgress {
  private final long total;
  private final long start;
  private long processedBefore;
  private long failedBefore;
  private boolean chunkActive;

  ExtractProgress(long total, long start) {
    this.total = total;
    this.start = start;
  }

  synchronized void chunkStarted() {
    chunkActive = true;
  }

  synchronized void chunkDone(EmbedderMetrics m) {
    chunkActive = false;
    if (m != null) {
      processedBefore += m.imagesProcessed();
      failedBefore += m.imagesFailed();
    }
  }

  synchronized long processed() {
    return processedBefore;
  }

  synchronized long failed() {
    return failedBefore;
  }

  synchronized String line(EmbedderMetrics current) {
    EmbedderMetrics live = chunkActive ? current : null;
    long done = processedBefore + (live == null ? 0 : live.imagesProcessed());
    long failed = failedBefore + (live == null ? 0 : live.imagesFailed());
    double secs = (System.nanoTime() - start) / 1e9;
    double rate = done / Math.max(secs, 1e-9);
    String eta = rate > 0 && done < total ? String.format("%.0f s", (total - done) / rate) : "-";
    return String.format("progress: %,d/%,d images (%.1f%%), %.1f images/s, %,d failed, ETA %s", done, total,
        total == 0 ? 100.0 : 100.0 * done / total, rate, failed, eta);
  }
}
