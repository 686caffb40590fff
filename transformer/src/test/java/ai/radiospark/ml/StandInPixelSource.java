package ai.radiospark.ml;

import ai.radiospark.RadioException;
import ai.radiospark.model.Golden;
import ai.radiospark.model.SafetensorsFile;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.imageio.ImageIO;

/**
 * TEST ONLY stand-in for the image preprocessor until ai.radiospark.image is merged: golden
 * images (by file name, fixed 224x224) get the reference pixel values exactly; anything else is
 * decoded with ImageIO and resized with Java2D bicubic (not Pillow-exact).
 */
final class StandInPixelSource implements PixelSource {
  static final PixelSource.Factory GOLDEN_FIRST = spec -> new StandInPixelSource(spec, true);
  static final PixelSource.Factory AWT = spec -> new StandInPixelSource(spec, false);
  private static final Map<String, float[]> GOLDEN = new ConcurrentHashMap<>();

  private final Spec spec;
  private final boolean golden;

  StandInPixelSource(Spec spec, boolean golden) {
    this.spec = spec;
    this.golden = golden;
  }

  @Override
  public Pixels decode(byte[] encoded, String name) {
    String base = name.substring(name.lastIndexOf('/') + 1);
    if (golden && spec.height() == 224 && spec.width() == 224 && spec.resizeMode().equals("fixed")) {
      float[] px = golden(base);
      if (px != null) {
        return new Pixels(224, 224, px.clone());
      }
    }
    BufferedImage img;
    try {
      img = ImageIO.read(new ByteArrayInputStream(encoded));
    } catch (IOException | RuntimeException e) {
      throw new RadioException("Cannot decode " + name + ": " + e.getMessage(), e);
    }
    if (img == null) {
      throw new RadioException("Cannot decode " + name + ": not an image ImageIO knows.");
    }
    // Drop alpha without compositing, as Pillow's convert("RGB") does.
    BufferedImage rgb = new BufferedImage(img.getWidth(), img.getHeight(), BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < img.getHeight(); y++) {
      for (int x = 0; x < img.getWidth(); x++) {
        rgb.setRGB(x, y, img.getRGB(x, y) & 0xffffff);
      }
    }
    return resize(rgb);
  }

  @Override
  public Pixels fromRgb(byte[] rgb, int width, int height, String name) {
    BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    for (int y = 0, p = 0; y < height; y++) {
      for (int x = 0; x < width; x++, p += 3) {
        img.setRGB(x, y, ((rgb[p] & 0xff) << 16) | ((rgb[p + 1] & 0xff) << 8) | (rgb[p + 2] & 0xff));
      }
    }
    return resize(img);
  }

  private Pixels resize(BufferedImage img) {
    int h = spec.height();
    int w = spec.width();
    if (!spec.resizeMode().equals("fixed")) {
      int p = spec.patchSize();
      double s = Math.min(1.0, (double) Math.max(h, w) / Math.max(img.getWidth(), img.getHeight()));
      h = (int) Math.max(p, Math.round(img.getHeight() * s / p) * p);
      w = (int) Math.max(p, Math.round(img.getWidth() * s / p) * p);
    }
    BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = out.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BICUBIC);
    g.drawImage(img, 0, 0, w, h, null);
    g.dispose();
    float[] chw = new float[3 * h * w];
    int plane = h * w;
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int rgb = out.getRGB(x, y);
        int i = y * w + x;
        chw[i] = ((rgb >> 16) & 0xff) / 255f;
        chw[plane + i] = ((rgb >> 8) & 0xff) / 255f;
        chw[2 * plane + i] = (rgb & 0xff) / 255f;
      }
    }
    return new Pixels(h, w, chw);
  }

  private static float[] golden(String base) {
    synchronized (GOLDEN) {
      if (GOLDEN.isEmpty()) {
        SafetensorsFile f = Golden.file("images-pixel-values-224.safetensors");
        for (String k : f.tensors().keySet()) {
          GOLDEN.put(k, f.floats(k));
        }
      }
    }
    return GOLDEN.get(base);
  }
}
