package ai.radiospark.ml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.ForeachPartitionFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.LongAccumulator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * One partition of 2,000 small PNGs (32x32, resized to 160x160 to keep the test short on two
 * shared cores) at batch size 16: heap (used after GC, sampled during the job) and native memory
 * (VmRSS) stay bounded, far below what holding the partition's decoded pixels (2,000 x 3 x 160 x
 * 160 floats = 614 MB) would take.
 *
 * <p>Native memory (VmRSS minus the committed heap) is not flat from the first run: it rises to a
 * plateau over the first runs of 2,000 images and then stays there (measured after runs 1..8:
 * +173, +495, +589, +331, +375, +615, +577, +579 MB: no growth per image).
 * PyTorch alone, called from one thread, plateaus after one round (+70 MB); the decoders alone
 * likewise (+70 MB). What holds the rest (allocator arenas, JIT, Spark) was not attributed.
 */
class RadioEmbedderMemoryTest {
    static SparkSession spark;

    @BeforeAll
    static void start() {
        spark = SparkTestSupport.localSession("RadioEmbedderMemoryTest");
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
    }

    static final int N = 2000;
    /** Full runs measured after the warm-up. */
    static final int RUNS = 8;

    @Test
    void onePartitionOf2000ImagesStaysBounded() throws Exception {
        List<Row> rows = SparkTestSupport.pngRows(N, 32);
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Dataset<Row> in = spark.createDataFrame(jsc.parallelize(rows, 1), SparkTestSupport.ID_CONTENT);
        RadioEmbedder e =
                SparkTestSupport.embedder().setBatchSize(16).setImageSize(160).setFeaturesMode("full");

        // Warm up: model built, PyTorch and JIT initialised, so the baseline includes them.
        consume(e.transform(in.limit(64)), spark.sparkContext().longAccumulator());

        long heap0 = heapAfterGc();
        long rss0 = rssKb();
        long native0 = nonHeapRssKb();
        Sampler sampler = new Sampler();
        sampler.start();
        LongAccumulator seen = spark.sparkContext().longAccumulator("seen");
        long t0 = System.nanoTime();
        consume(e.transform(in), seen);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        sampler.stop = true;
        sampler.join();
        long heap1 = heapAfterGc();
        long rss1 = rssKb();
        long native1 = nonHeapRssKb();
        // Seven more full runs: native memory plateaus (allocator retention) instead of growing per run.
        long[] nativeAfter = new long[RUNS];
        nativeAfter[0] = native1;
        for (int k = 1; k < RUNS; k++) {
            consume(e.transform(in), spark.sparkContext().longAccumulator());
            heapAfterGc();
            nativeAfter[k] = nonHeapRssKb();
        }
        // A leak grows with every run, so the lowest of the last three readings stands above the lowest of
        // runs 2..4 by at least two runs' leak; heap-commit noise moves single readings (±250 MB), not both.
        long lastRunsGrowthMb = (Math.min(nativeAfter[5], Math.min(nativeAfter[6], nativeAfter[7]))
                        - Math.min(nativeAfter[1], Math.min(nativeAfter[2], nativeAfter[3])))
                >> 10;
        assertEquals(N, seen.value());
        EmbedderMetrics m = e.getLastMetrics();
        assertEquals(N, m.imagesProcessed());
        assertEquals(0, m.imagesFailed());

        long peakHeapGrowthMb = (sampler.maxHeap.get() - heap0) >> 20;
        long endHeapGrowthMb = (heap1 - heap0) >> 20;
        long peakRssGrowthMb = (sampler.maxRssKb.get() - rss0) >> 10;
        long endRssGrowthMb = (rss1 - rss0) >> 10;
        long peakNativeGrowthMb = (sampler.maxNativeKb.get() - native0) >> 10;
        long endNativeGrowthMb = (native1 - native0) >> 10;
        System.out.printf(
                "memory: %d images in one partition, 160x160, batch 16, full features: %d ms (%.0f images/s; "
                        + "forward %d ms, decode %d ms); heap after GC: baseline %d MB, peak +%d MB (%d samples), end +%d MB; "
                        + "VmRSS: baseline %d MB, peak %+d MB, end %+d MB; VmRSS minus committed heap (native memory): "
                        + "baseline %d MB, peak %+d MB, end %+d MB; after runs 1..%d: %s MB; lowest of runs 6..8 minus lowest of runs 2..4: "
                        + "%+d MB%n",
                N,
                ms,
                N * 1000.0 / ms,
                m.forwardMs(),
                m.decodeMs(),
                heap0 >> 20,
                peakHeapGrowthMb,
                sampler.samples,
                endHeapGrowthMb,
                rss0 >> 10,
                peakRssGrowthMb,
                endRssGrowthMb,
                native0 >> 10,
                peakNativeGrowthMb,
                endNativeGrowthMb,
                RUNS,
                java.util.Arrays.stream(nativeAfter)
                        .mapToObj(v -> String.format("%+d", (v - native0) >> 10))
                        .toList(),
                lastRunsGrowthMb);
        assertTrue(sampler.samples >= 3, "too few samples: " + sampler.samples);
        assertTrue(peakHeapGrowthMb < 200, "peak heap growth " + peakHeapGrowthMb + " MB");
        assertTrue(endHeapGrowthMb < 50, "heap growth after the job " + endHeapGrowthMb + " MB");
        // Bounds as measured on 2 shared cores (see the class comment). Native memory rises to a plateau
        // of about +500..950 MB over the first three runs; single readings then move by up to ±650 MB when
        // G1 commits or uncommits heap between samples, and VmRSS peaks at up to +610 MB in the first run.
        // What a leak would add: every batch's input and output NDArrays (5 + 8 MB) kept is about 1.6 GB
        // per run of 2,000 images; the decoded pixels kept on the heap, 614 MB per run.
        assertTrue(peakRssGrowthMb < 1000, "peak VmRSS growth " + peakRssGrowthMb + " MB");
        assertTrue(
                peakNativeGrowthMb < 800, "peak native (VmRSS - committed heap) growth " + peakNativeGrowthMb + " MB");
        assertTrue(
                ((nativeAfter[RUNS - 1] - native0) >> 10) < 2000,
                "native memory after " + RUNS + " runs: +" + ((nativeAfter[RUNS - 1] - native0) >> 10) + " MB");
        assertTrue(
                lastRunsGrowthMb < 500,
                "native memory kept growing: the lowest reading after runs 6..8 is " + lastRunsGrowthMb
                        + " MB above the lowest after runs 2..4, over " + N + " images per run: a leak");
    }

    /** Streams the output, checking order, without keeping it. */
    static void consume(Dataset<Row> out, LongAccumulator seen) {
        out.select("id", "summary", "features", "error").foreachPartition((ForeachPartitionFunction<Row>) it -> {
            long expected = 0;
            while (it.hasNext()) {
                Row r = it.next();
                if (r.getLong(0) != expected++ || !r.isNullAt(3) || r.isNullAt(1) || r.isNullAt(2)) {
                    throw new AssertionError("row " + r.getLong(0) + " out of order or failed: " + r.get(3));
                }
                seen.add(1);
            }
        });
    }

    /**
     * The heap in use right after a full GC, as the collector itself reports it (each heap pool's
     * collection usage). Reading {@code getHeapMemoryUsage().getUsed()} after {@code System.gc()}
     * instead counts whatever the job's threads allocated between the end of the GC and the read: one
     * CI run in about ten measured a "peak" of +412 MB that way, with the job's real peak near +50 MB.
     */
    static long heapAfterGc() {
        System.gc();
        long used = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            MemoryUsage u = pool.getType() == MemoryType.HEAP ? pool.getCollectionUsage() : null;
            if (u != null) {
                used += u.getUsed();
            }
        }
        return used;
    }

    /** VmRSS minus the committed Java heap: PyTorch's and the JVM's native memory. */
    static long nonHeapRssKb() throws IOException {
        return rssKb()
                - (ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getCommitted() >> 10);
    }

    static long rssKb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS");
    }

    /** Samples heap-after-GC and VmRSS every 2 s. */
    static final class Sampler extends Thread {
        final AtomicLong maxHeap = new AtomicLong();
        final AtomicLong maxRssKb = new AtomicLong();
        final AtomicLong maxNativeKb = new AtomicLong(Long.MIN_VALUE);
        volatile boolean stop;
        int samples;

        Sampler() {
            setDaemon(true);
        }

        @Override
        public void run() {
            while (!stop) {
                try {
                    // 500 ms: the faster forward (TorchScript + oneDNN) runs the 2000 images in ~4 s here.
                    Thread.sleep(500);
                    maxHeap.accumulateAndGet(heapAfterGc(), Math::max);
                    maxRssKb.accumulateAndGet(rssKb(), Math::max);
                    maxNativeKb.accumulateAndGet(nonHeapRssKb(), Math::max);
                    samples++;
                } catch (Exception e) {
                    return;
                }
            }
        }
    }
}
