package ai.radiospark.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The PyTorch eager peer: a Python subprocess running {@code torch_vit_peer.py} (a plain
 * {@code nn.Module} ViT of the benchmarked shape) that times forwards on request, so that the
 * benchmark can interleave its rounds with ours and both see the same machine load.
 */
final class TorchPeer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Process process;
    private final BufferedReader out;
    private final Writer in;
    private final JsonNode ready;
    private final Path script;

    private TorchPeer(Process process, Path script) throws IOException {
        this.process = process;
        this.script = script;
        this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        this.in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        String line = out.readLine();
        if (line == null || !line.startsWith("{")) {
            throw new IOException("peer did not start: " + line);
        }
        this.ready = JSON.readTree(line);
    }

    /** The first python that imports torch, or null. */
    static String python() {
        for (String python : List.of("/usr/bin/python3", "python3")) {
            try {
                Process check = new ProcessBuilder(python, "-c", "import torch")
                        .redirectErrorStream(true)
                        .start();
                check.getInputStream().readAllBytes();
                if (check.waitFor(120, TimeUnit.SECONDS) && check.exitValue() == 0) {
                    return python;
                }
            } catch (IOException e) {
                // not installed: try the next
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
        return null;
    }

    /**
     * Starts the peer and waits until its model is built and warmed up; null when no python with
     * torch is available.
     */
    static TorchPeer start(int d, int layers, int heads, int mlp, int tokens, int batch, int threads) {
        String python = python();
        if (python == null) {
            return null;
        }
        try {
            Path script = Files.createTempFile("radio-torch-peer", ".py");
            try (InputStream s = TorchPeer.class.getResourceAsStream("torch_vit_peer.py")) {
                Files.write(script, s.readAllBytes());
            }
            ProcessBuilder pb = new ProcessBuilder(
                            python,
                            script.toString(),
                            Integer.toString(d),
                            Integer.toString(layers),
                            Integer.toString(heads),
                            Integer.toString(mlp),
                            Integer.toString(tokens),
                            Integer.toString(batch),
                            Integer.toString(threads))
                    .redirectError(ProcessBuilder.Redirect.INHERIT);
            Map<String, String> env = pb.environment();
            // Settings tuned for other machines/cores must not skew the peer (OpenBLAS reads these).
            env.remove("OPENBLAS_CORETYPE");
            env.remove("OPENBLAS_L2_SIZE");
            env.put("OMP_NUM_THREADS", Integer.toString(threads));
            return new TorchPeer(pb.start(), script);
        } catch (IOException e) {
            return null;
        }
    }

    JsonNode info() {
        return ready;
    }

    /** Runs {@code n} timed forwards in the peer; adds their milliseconds and process CPU seconds. */
    void time(int n, List<Double> msOut, List<Double> cpuOut) {
        try {
            in.write(n + "\n");
            in.flush();
            String line = out.readLine();
            if (line == null) {
                throw new IOException("peer exited");
            }
            JsonNode r = JSON.readTree(line);
            for (JsonNode v : r.get("ms")) {
                msOut.add(v.asDouble());
            }
            for (JsonNode v : r.get("cpu_s")) {
                cpuOut.add(v.asDouble());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        try {
            in.write("\n");
            in.flush();
            in.close();
        } catch (IOException ignored) {
            // already gone
        }
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        try {
            Files.deleteIfExists(script);
        } catch (IOException ignored) {
            // temp file
        }
    }
}
