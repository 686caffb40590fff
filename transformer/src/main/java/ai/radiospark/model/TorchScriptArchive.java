package ai.radiospark.model;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Writes a TorchScript module archive (the zip {@code torch.jit.save} produces) from Java, with no
 * Python: the module's methods are TorchScript source that libtorch compiles when it loads the
 * archive. The module has no tensors in the archive; it can only have attributes of simple types
 * (bool, and {@code List[Tensor]} / {@code Optional[...]} attributes that start empty or None and
 * are filled by a method at run time).
 *
 * <p>Layout (archive name {@code a}):
 *
 * <pre>
 * a/data.pkl              pickle protocol 2: __torch__.&lt;Class&gt; object, state dict {attr: value}
 * a/code/__torch__.py     "class &lt;Class&gt;(Module): ..." TorchScript source (python_print dialect)
 * a/constants.pkl         pickle of an empty tuple
 * a/version               file format version (10: newest libtorch 2.x reads, no operator upgraders)
 * a/byteorder             "little"
 * </pre>
 *
 * <p>Entries are STORED (not deflated), as torch.jit.save writes them.
 */
public final class TorchScriptArchive {
    /** Attribute initial values the writer can pickle. */
    public enum Init {
        FALSE,
        TRUE,
        NONE,
        EMPTY_LIST
    }

    private final String className;
    private final String source;
    private final Map<String, Init> attributes = new LinkedHashMap<>();
    private int version = 10;

    /**
     * @param className the class name in the {@code __torch__} namespace
     * @param classSource the full text of {@code code/__torch__.py}, defining {@code class
     *     <className>(Module)}; it must declare {@code training : bool} and every attribute passed to
     *     {@link #attribute}
     */
    public TorchScriptArchive(String className, String classSource) {
        this.className = className;
        this.source = classSource;
        attributes.put("training", Init.FALSE);
    }

    public TorchScriptArchive attribute(String name, Init init) {
        attributes.put(name, init);
        return this;
    }

    public TorchScriptArchive version(int v) {
        this.version = v;
        return this;
    }

    public byte[] toBytes() {
        String a = "archive/";
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bos)) {
            // The reader takes the archive name from the first entry's directory.
            put(zip, a + "data.pkl", dataPickle());
            put(zip, a + "code/__torch__.py", source.getBytes(StandardCharsets.UTF_8));
            put(zip, a + "constants.pkl", new byte[] {(byte) 0x80, 2, ')', '.'});
            put(zip, a + "version", (version + "\n").getBytes(StandardCharsets.US_ASCII));
            put(zip, a + "byteorder", "little".getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bos.toByteArray();
    }

    public Path write(Path file) {
        try {
            return Files.write(file, toBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void put(ZipOutputStream zip, String name, byte[] data) throws IOException {
        ZipEntry e = new ZipEntry(name);
        e.setMethod(ZipEntry.STORED);
        e.setSize(data.length);
        e.setCompressedSize(data.length);
        CRC32 crc = new CRC32();
        crc.update(data);
        e.setCrc(crc.getValue());
        zip.putNextEntry(e);
        zip.write(data);
        zip.closeEntry();
    }

    /** GLOBAL '__torch__ Class', EMPTY_TUPLE, NEWOBJ, EMPTY_DICT, MARK, k/v..., SETITEMS, BUILD, STOP. */
    private byte[] dataPickle() {
        ByteArrayOutputStream p = new ByteArrayOutputStream();
        p.write(0x80);
        p.write(2);
        p.write('c');
        p.writeBytes(("__torch__\n" + className + "\n").getBytes(StandardCharsets.UTF_8));
        p.write(')');
        p.write(0x81);
        p.write('}');
        p.write('(');
        for (Map.Entry<String, Init> e : attributes.entrySet()) {
            byte[] k = e.getKey().getBytes(StandardCharsets.UTF_8);
            p.write('X');
            p.write(k.length & 0xff);
            p.write((k.length >> 8) & 0xff);
            p.write((k.length >> 16) & 0xff);
            p.write((k.length >> 24) & 0xff);
            p.writeBytes(k);
            switch (e.getValue()) {
                case FALSE -> p.write(0x89);
                case TRUE -> p.write(0x88);
                case NONE -> p.write('N');
                case EMPTY_LIST -> p.write(']');
            }
        }
        p.write('u');
        p.write('b');
        p.write('.');
        return p.toByteArray();
    }
}
