package ai.radiospark.model;

import ai.radiospark.RadioException;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The tensors the RADIO forward pass uses, under one canonical naming ({@code patch},
 * {@code pos_embed}, {@code cls_token}, and {@link BlockTensor#key} per block), resolved from either
 * checkpoint layout of Hugging Face transformers' {@code RadioModel} (both are in the golden data,
 * {@code golden/REFERENCE-README.md} in the test resources):
 *
 * <ul>
 *   <li>the hub layout ({@code radio_model.model.blocks.{i}.attn.qkv.*}, fused qkv), which
 *       {@code save_pretrained} writes and the published C-RADIO checkpoints use;
 *   <li>the module layout ({@code encoder.layer.{i}.attention.attention.query|key|value.*}),
 *       whose q, k and v are fused here once.
 * </ul>
 *
 * <p>Tensors keep their stored element type (BF16 stays two bytes) until the model is built.
 * This is what a Spark broadcast carries: it serializes only the tensors in use, each as its
 * raw bytes, so adaptor heads and other extras never travel.
 */
public final class RadioWeights implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(RadioWeights.class);

    private transient RadioConfig config;
    private transient String source;
    private transient String checkpointSha256;
    private transient String layout;
    private transient Map<String, Tensor> tensors;
    private transient Checkpoint checkpointRef;

    private RadioWeights(RadioConfig config, String source, String sha256, String layout, Map<String, Tensor> tensors) {
        this.config = config;
        this.source = source;
        this.checkpointSha256 = sha256;
        this.layout = layout;
        this.tensors = Collections.unmodifiableMap(tensors);
    }

    private static final java.util.concurrent.atomic.AtomicLong RESOLVED = new java.util.concurrent.atomic.AtomicLong();

    /** How many times this JVM resolved (read and checked) a checkpoint's weights (diagnostics and tests). */
    public static long weightsResolved() {
        return RESOLVED.get();
    }

    static RadioWeights resolve(Checkpoint ckpt) {
        RESOLVED.incrementAndGet();
        RadioConfig cfg = ckpt.config();
        CheckpointLayout layout;
        if (ckpt.has(CheckpointLayout.HUB.name("patch"))) {
            layout = CheckpointLayout.HUB;
        } else if (ckpt.has(CheckpointLayout.MODULE.name("patch"))) {
            layout = CheckpointLayout.MODULE;
        } else {
            throw new RadioException("Cannot load model " + ckpt.source() + ": it has neither "
                    + CheckpointLayout.HUB.name("patch") + " (hub layout) nor " + CheckpointLayout.MODULE.name("patch")
                    + " (module layout). Is this a RADIO checkpoint? Its first tensors are "
                    + ckpt.tensorInfos().keySet().stream().limit(5).toList() + ".");
        }
        CheckpointLayout.Resolver r = new CheckpointLayout.Resolver(ckpt, layout);
        int d = cfg.hiddenSize();
        int p = cfg.patchSize();
        int g = cfg.positionGrid();
        int hf = cfg.mlpHiddenSize();

        Map<String, Tensor> out = new LinkedHashMap<>();
        out.put("patch", r.take("patch", d, cfg.numChannels() * p * p));
        out.put("pos_embed", r.take("pos_embed", 1, (long) g * g, d));
        out.put("cls_token", r.take("cls_token", cfg.prefixTokens(), d));

        float[] mean = cfg.normMean();
        float[] std = cfg.normStd();
        if (r.has("norm_mean") && r.has("norm_std")) {
            mean = r.take("norm_mean", cfg.numChannels(), 1, 1).floats();
            std = r.take("norm_std", cfg.numChannels(), 1, 1).floats();
        }
        int[] idxs = cfg.summaryIdxs();
        if (r.has("summary_idxs")) {
            Tensor t = r.takeAnyShape("summary_idxs");
            long[] v = TensorConversions.toLongs(
                    new TensorInfo(t.name(), t.type(), t.shape(), 0, t.data().remaining()), t.data(), ckpt.source());
            int[] fromTensor = Arrays.stream(v).mapToInt(Math::toIntExact).toArray();
            if (!Arrays.equals(fromTensor, idxs)) {
                LOG.warn(
                        "Checkpoint {}: summary_idxs tensor {} differs from config.json's {}; using the tensor, as the "
                                + "reference does.",
                        ckpt.source(),
                        Arrays.toString(fromTensor),
                        Arrays.toString(idxs));
            }
            idxs = fromTensor;
        }
        cfg = cfg.withConditioner(mean, std, idxs);

        for (int i = 0; i < cfg.numHiddenLayers(); i++) {
            String b = "blocks." + i + ".";
            out.put(BlockTensor.NORM1_W.key(i), r.take(b + "norm1.weight", d));
            out.put(BlockTensor.NORM1_B.key(i), r.take(b + "norm1.bias", d));
            out.put(BlockTensor.NORM2_W.key(i), r.take(b + "norm2.weight", d));
            out.put(BlockTensor.NORM2_B.key(i), r.take(b + "norm2.bias", d));
            if (layout == CheckpointLayout.HUB) {
                out.put(BlockTensor.QKV_W.key(i), r.take(b + "qkv.weight", 3L * d, d));
                if (cfg.qkvBias()) {
                    out.put(BlockTensor.QKV_B.key(i), r.take(b + "qkv.bias", 3L * d));
                }
            } else {
                out.put(
                        BlockTensor.QKV_W.key(i),
                        fuse(
                                BlockTensor.QKV_W.key(i),
                                r.take(b + "q.weight", d, d),
                                r.take(b + "k.weight", d, d),
                                r.take(b + "v.weight", d, d)));
                if (cfg.qkvBias()) {
                    out.put(
                            BlockTensor.QKV_B.key(i),
                            fuse(
                                    BlockTensor.QKV_B.key(i),
                                    r.take(b + "q.bias", d),
                                    r.take(b + "k.bias", d),
                                    r.take(b + "v.bias", d)));
                }
            }
            out.put(BlockTensor.PROJ_W.key(i), r.take(b + "proj.weight", d, d));
            out.put(BlockTensor.PROJ_B.key(i), r.take(b + "proj.bias", d));
            if (cfg.useSwigluFfn()) {
                out.put(BlockTensor.MLP_IN_W.key(i), r.take(b + "swiglu_in.weight", 2L * hf, d));
                out.put(BlockTensor.MLP_IN_B.key(i), r.take(b + "swiglu_in.bias", 2L * hf));
                out.put(BlockTensor.MLP_OUT_W.key(i), r.take(b + "swiglu_out.weight", d, hf));
                out.put(BlockTensor.MLP_OUT_B.key(i), r.take(b + "swiglu_out.bias", d));
            } else {
                out.put(BlockTensor.MLP_IN_W.key(i), r.take(b + "fc1.weight", hf, d));
                out.put(BlockTensor.MLP_IN_B.key(i), r.take(b + "fc1.bias", hf));
                out.put(BlockTensor.MLP_OUT_W.key(i), r.take(b + "fc2.weight", d, hf));
                out.put(BlockTensor.MLP_OUT_B.key(i), r.take(b + "fc2.bias", d));
            }
            // LayerScale lambdas are optional: a checkpoint without them means identity.
            if (r.has(b + "ls1")) {
                out.put(BlockTensor.LS1.key(i), r.take(b + "ls1", d));
            }
            if (r.has(b + "ls2")) {
                out.put(BlockTensor.LS2.key(i), r.take(b + "ls2", d));
            }
        }
        out.replaceAll((key, tensor) -> tensor.renamed(key));
        List<String> skipped = new ArrayList<>(new TreeSet<>(ckpt.tensorInfos().keySet()));
        skipped.removeAll(r.used);
        if (!skipped.isEmpty()) {
            LOG.debug(
                    "Checkpoint {}: skipped {} tensors the forward pass does not use: {}",
                    ckpt.source(),
                    skipped.size(),
                    skipped);
        }
        LOG.info(
                "Checkpoint {}: {} layout, {} layers, d={}, {} tensors used, {} skipped",
                ckpt.source(),
                layout == CheckpointLayout.HUB ? "hub" : "module",
                cfg.numHiddenLayers(),
                d,
                r.used.size(),
                skipped.size());
        RadioWeights w = new RadioWeights(cfg, ckpt.source(), null, layout.label(), out);
        // The checkpoint hash is computed on first use: hashing gigabytes is not free.
        w.checkpointRef = ckpt;
        return w;
    }

    /** Concatenates q, k and v along rows, into the fused qkv of the hub layout. */
    private static Tensor fuse(String name, Tensor q, Tensor k, Tensor v) {
        if (q.type() != k.type() || q.type() != v.type()) {
            throw new RadioException("Tensors " + q.name() + ", " + k.name() + " and " + v.name()
                    + " have different types (" + q.type() + ", " + k.type() + ", " + v.type()
                    + "). Re-save the checkpoint with one dtype.");
        }
        long[] shape = q.shape().clone();
        shape[0] *= 3;
        ByteBuffer b = ByteBuffer.allocate(q.data().remaining() * 3).order(ByteOrder.LITTLE_ENDIAN);
        for (Tensor part : new Tensor[] {q, k, v}) {
            part.read(b::put);
        }
        b.flip();
        return new Tensor(name, q.type(), shape, b);
    }

    public RadioConfig config() {
        return config;
    }

    /** Where the weights came from. */
    public String source() {
        return source;
    }

    /** "hub" or "module": the checkpoint layout the weights were read from. */
    public String layout() {
        return layout;
    }

    /** SHA-256 of the checkpoint's files, computed once; identifies the model in caches and tables. */
    public String checkpointSha256() {
        String h = checkpointSha256;
        if (h == null) {
            h = checkpointRef.sha256();
            checkpointSha256 = h;
        }
        return h;
    }

    /** The canonical tensors, in the order they were resolved (not the script's order: {@link BlockTensor}). */
    public Map<String, Tensor> tensors() {
        return tensors;
    }

    Tensor tensor(String name) {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new IllegalStateException("no tensor " + name);
        }
        return t;
    }

    /** Total bytes of the tensors as stored. */
    public long byteSize() {
        return tensors.values().stream().mapToLong(t -> t.data().remaining()).sum();
    }

    private void writeObject(ObjectOutputStream out) throws IOException {
        out.defaultWriteObject();
        out.writeUTF(config.toJson());
        out.writeUTF(source);
        out.writeUTF(checkpointSha256());
        out.writeUTF(layout);
        out.writeInt(tensors.size());
        byte[] buf = new byte[1 << 20];
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Tensor t = e.getValue();
            out.writeUTF(e.getKey()); // the canonical name the forward pass looks up
            out.writeUTF(t.name()); // the checkpoint's name, for messages
            out.writeUTF(t.type().name());
            out.writeInt(t.shape().length);
            for (long s : t.shape()) {
                out.writeLong(s);
            }
            out.writeInt(t.data().remaining());
            IOException failed = t.read(
                    data -> { // a checkpoint file's pages do not stay resident
                        try {
                            while (data.hasRemaining()) {
                                int n = Math.min(buf.length, data.remaining());
                                data.get(buf, 0, n);
                                out.write(buf, 0, n);
                            }
                            return null;
                        } catch (IOException ioe) {
                            return ioe;
                        }
                    });
            if (failed != null) {
                throw failed;
            }
        }
    }

    private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
        in.defaultReadObject();
        config = RadioConfig.fromJson(in.readUTF(), "(broadcast)");
        source = in.readUTF();
        checkpointSha256 = in.readUTF();
        layout = in.readUTF();
        int n = in.readInt();
        Map<String, Tensor> map = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            String key = in.readUTF();
            String name = in.readUTF();
            TensorType type = TensorType.valueOf(in.readUTF());
            long[] shape = new long[in.readInt()];
            for (int j = 0; j < shape.length; j++) {
                shape[j] = in.readLong();
            }
            byte[] data = new byte[in.readInt()];
            in.readFully(data);
            map.put(key, new Tensor(name, type, shape, ByteBuffer.wrap(data)));
        }
        tensors = Collections.unmodifiableMap(map);
    }
}
