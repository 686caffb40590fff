package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.GradientPaint;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code radio extract} then {@code radio dedup} end to end on images drawn here: 12 distinct
 * images (colour fields, gradients, shapes, noise, text) and near-duplicate copies of 4 of them,
 * each cropped by 2%, resized by 0.9 and re-encoded as JPEG at quality 60. The dedup finds exactly
 * the planted copies at the threshold it prints.
 */
class DedupImagesTest {
    static final String MODEL =
            Path.of("../samples/model-tiny-random").toAbsolutePath().toString();
    static final int W = 320;
    static final int H = 240;
    static final int DISTINCT = 12;
    /** The images that get a near-duplicate copy. */
    static final int[] COPIED = {1, 4, 7, 10};

    static SparkSession spark;

    @TempDir
    static Path tmp;

    @BeforeAll
    static void start() {
        spark = JobsTestSpark.start("DedupImagesTest", 2);
    }

    @AfterAll
    static void stop() {
        JobsTestSpark.stop(spark);
    }

    /** Distinct image {@code i}: each of a different kind and palette. */
    static BufferedImage draw(int i) {
        BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        Random rnd = new Random(100 + i);
        switch (i) {
            case 0 -> {
                g.setPaint(new GradientPaint(0, 0, Color.RED, W, 0, Color.BLUE));
                g.fillRect(0, 0, W, H);
            }
            case 1 -> {
                g.setColor(new Color(30, 140, 40));
                g.fillRect(0, 0, W, H);
                g.setColor(Color.WHITE);
                g.fillOval(90, 50, 140, 140);
            }
            case 2 -> {
                for (int y = 0; y < H; y += 40) {
                    for (int x = 0; x < W; x += 40) {
                        g.setColor(((x + y) / 40) % 2 == 0 ? Color.BLACK : Color.YELLOW);
                        g.fillRect(x, y, 40, 40);
                    }
                }
            }
            case 3 -> {
                for (int y = 0; y < H; y++) {
                    for (int x = 0; x < W; x++) {
                        img.setRGB(x, y, rnd.nextInt(0x1000000));
                    }
                }
            }
            case 4 -> {
                g.setColor(new Color(250, 140, 20));
                g.fillRect(0, 0, W, H);
                g.setColor(new Color(110, 30, 140));
                g.setStroke(new BasicStroke(18));
                for (int x = -H; x < W; x += 50) {
                    g.drawLine(x, H, x + H, 0);
                }
            }
            case 5 -> {
                for (int r = 300; r > 0; r -= 24) {
                    g.setColor(r / 24 % 2 == 0 ? new Color(0, 60, 120) : new Color(200, 220, 255));
                    g.fillOval(W / 2 - r, H / 2 - r, 2 * r, 2 * r);
                }
            }
            case 6 -> {
                g.setColor(Color.BLACK);
                g.fillRect(0, 0, W, H);
                for (int k = 0; k < 25; k++) {
                    g.setColor(new Color(rnd.nextInt(0x1000000)));
                    g.fillRect(rnd.nextInt(W), rnd.nextInt(H), 10 + rnd.nextInt(80), 10 + rnd.nextInt(60));
                }
            }
            case 7 -> {
                g.setPaint(new GradientPaint(0, 0, Color.CYAN, 0, H, Color.MAGENTA));
                g.fillRect(0, 0, W, H);
                g.setColor(Color.DARK_GRAY);
                g.fillPolygon(new int[] {40, 280, 160}, new int[] {200, 200, 30}, 3);
            }
            case 8 -> {
                g.setColor(new Color(128, 128, 128));
                g.fillRect(0, 0, W, H);
                g.setColor(Color.WHITE);
                g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 72));
                g.drawString("radio", 50, 150);
            }
            case 9 -> {
                g.setColor(new Color(240, 230, 200));
                g.fillRect(0, 0, W, H);
                for (int k = 0; k < 12; k++) {
                    g.setColor(new Color(rnd.nextInt(256), rnd.nextInt(256), rnd.nextInt(256), 160));
                    int r = 20 + rnd.nextInt(60);
                    g.fillOval(rnd.nextInt(W) - r, rnd.nextInt(H) - r, 2 * r, 2 * r);
                }
            }
            case 10 -> {
                g.setColor(Color.WHITE);
                g.fillRect(0, 0, W / 2, H);
                g.setColor(new Color(20, 20, 60));
                g.fillRect(W / 2, 0, W / 2, H);
                g.setColor(Color.RED);
                g.fillRect(W / 2 - 30, H / 2 - 30, 60, 60);
            }
            case 11 -> {
                g.setColor(new Color(10, 90, 90));
                g.fillRect(0, 0, W, H);
                g.setColor(new Color(255, 220, 0));
                for (int y = 10; y < H; y += 30) {
                    for (int x = 10; x < W; x += 30) {
                        g.fillOval(x, y, 12, 12);
                    }
                }
            }
            default -> throw new IllegalArgumentException("image " + i);
        }
        g.dispose();
        return img;
    }

    /** The near-duplicate of {@code img}: 1% cropped off each side (2% of each dimension), resized by 0.9. */
    static BufferedImage nearCopy(BufferedImage img) {
        int cx = Math.round(img.getWidth() * 0.01f);
        int cy = Math.round(img.getHeight() * 0.01f);
        BufferedImage cropped = img.getSubimage(cx, cy, img.getWidth() - 2 * cx, img.getHeight() - 2 * cy);
        int w = Math.round(cropped.getWidth() * 0.9f);
        int h = Math.round(cropped.getHeight() * 0.9f);
        BufferedImage small = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = small.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.drawImage(cropped, 0, 0, w, h, null);
        g.dispose();
        return small;
    }

    static void writeJpeg(BufferedImage img, Path file, float quality) throws IOException {
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        ImageWriteParam p = writer.getDefaultWriteParam();
        p.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
        p.setCompressionQuality(quality);
        try (ImageOutputStream out = ImageIO.createImageOutputStream(Files.newOutputStream(file))) {
            writer.setOutput(out);
            writer.write(null, new IIOImage(img, null, null), p);
        } finally {
            writer.dispose();
        }
    }

    /** The folder of images; returns each planted copy's file name and its original's. */
    static Map<String, String> writeImages(Path folder) throws IOException {
        Files.createDirectories(folder);
        Map<String, String> planted = new TreeMap<>();
        for (int i = 0; i < DISTINCT; i++) {
            BufferedImage img = draw(i);
            String name = String.format("image-%02d.png", i);
            ImageIO.write(img, "png", folder.resolve(name).toFile());
            for (int c : COPIED) {
                if (c == i) {
                    String copy = String.format("copy-of-%02d.jpg", i);
                    writeJpeg(nearCopy(img), folder.resolve(copy), 0.6f);
                    planted.put(copy, name);
                }
            }
        }
        return planted;
    }

    static String name(String path) {
        return path.substring(path.lastIndexOf('/') + 1);
    }

    @Test
    void extractThenDedupFindsExactlyThePlantedCopies() throws Exception {
        Path images = tmp.resolve("images");
        Map<String, String> planted = writeImages(images);
        String table = tmp.resolve("embeddings").toString();
        String output = tmp.resolve("dedup").toString();
        String[] e = DedupJobTest.run(
                "extract", "--master", "local[2]", "--input", images.toString(), "--output", table, "--model", MODEL);
        assertEquals("0", e[0], e[2]);
        // The bundled random-weight model separates them: every planted pair above 0.99, every other pair below.
        List<Row> rows = spark.read()
                .format("delta")
                .load(table)
                .select("path", "summary")
                .collectAsList();
        assertEquals(DISTINCT + COPIED.length, rows.size());
        Set<String> plantedPairs = new TreeSet<>();
        planted.forEach((copy, original) -> plantedPairs.add(pair(copy, original)));
        double lowestPlanted = 1;
        double highestOther = -1;
        for (int a = 0; a < rows.size(); a++) {
            for (int b = a + 1; b < rows.size(); b++) {
                double c = cos(rows.get(a).getList(1), rows.get(b).getList(1));
                if (plantedPairs.contains(
                        pair(name(rows.get(a).getString(0)), name(rows.get(b).getString(0))))) {
                    lowestPlanted = Math.min(lowestPlanted, c);
                } else {
                    highestOther = Math.max(highestOther, c);
                }
            }
        }
        System.out.printf("lowest planted cosine %.6f, highest other %.6f%n", lowestPlanted, highestOther);
        assertTrue(lowestPlanted >= 0.99 && highestOther < 0.99, lowestPlanted + " " + highestOther);

        String[] r = DedupJobTest.run(
                "dedup", "--master", "local[2]", "--table", table, "--output", output, "--eps", "0.01");
        assertEquals("0", r[0], r[2]);
        // The sweep's first line, eps 0.01 (cosine >= 0.99), removes exactly the copies, and --eps 0.01 marks them.
        assertTrue(r[1].contains("\n  0.01  0.99       " + COPIED.length + "\n"), r[1]);
        assertTrue(
                r[1].contains("  --eps 0.01: " + COPIED.length + " duplicates (keep = false), " + DISTINCT + " kept"),
                r[1]);
        Set<String> found = new TreeSet<>();
        for (Row x : spark.read().format("delta").load(output).where("NOT keep").collectAsList()) {
            found.add(pair(name(x.getString(0)), name(x.getString(2))));
        }
        assertEquals(plantedPairs, found);
    }

    /** A pair of file names, in either order. */
    static String pair(String a, String b) {
        return a.compareTo(b) < 0 ? a + " ~ " + b : b + " ~ " + a;
    }

    static double cos(List<Float> a, List<Float> b) {
        double ab = 0;
        double aa = 0;
        double bb = 0;
        for (int i = 0; i < a.size(); i++) {
            ab += a.get(i) * b.get(i);
            aa += a.get(i) * a.get(i);
            bb += b.get(i) * b.get(i);
        }
        return ab / Math.sqrt(aa * bb);
    }
}
