package ai.radiospark.image;

/**
 * Packed 8-bit RGB pixels (row-major, 3 bytes per pixel) plus the size the file declared.
 * {@code width}/{@code height} can be smaller than the declared size when the image was decoded
 * with subsampling, and swapped when an EXIF orientation was applied.
 */
record DecodedImage(int width, int height, byte[] rgb, int originalWidth, int originalHeight) {}
