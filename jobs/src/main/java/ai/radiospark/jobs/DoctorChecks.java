package ai.radiospark.jobs;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.engine.StandardCapabilities;
import ai.djl.util.cuda.CudaUtils;
import ai.radiospark.RadioException;
import ai.radiospark.ml.DeviceSelector;
import ai.radiospark.model.TorchEngine;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The report of {@code radio doctor} and its first checks: one JSON report, each check writing its
 * part and adding a line to {@link #failures()} when it fails. Here: versions, and devices
 * (libtorch's GPUs against the discovery script's); {@link DoctorModelChecks} runs the model on
 * them.
 */
final class DoctorChecks {
    private static final Pattern FLAVOR = Pattern.compile("-(cpu|cu\\d+)(?:-|$)");

    private final ObjectNode report = new ObjectMapper().createObjectNode();
    private final List<String> failures = new ArrayList<>();
    private final List<Device> devices = new ArrayList<>();

    ObjectNode report() {
        return report;
    }

    List<String> failures() {
        return failures;
    }

    /** The devices every later check runs on: the CPU, then each GPU libtorch sees. */
    List<Device> devices() {
        return devices;
    }

    /** cpu, gpu(0), gpu(1), ...: the devices as the report names them. */
    static String label(Device d) {
        return d.isGpu() ? "gpu(" + d.getDeviceId() + ")" : "cpu";
    }

    private void fail(String what) {
        failures.add(what);
    }

    /** Versions of radio-spark, Java, DJL and the libtorch DJL loaded; false when libtorch cannot be loaded. */
    boolean versions(String radioVersion) {
        ObjectNode v = report.putObject("versions");
        v.put("radio_spark", radioVersion);
        v.put("java", System.getProperty("java.version"));
        v.put("java_vendor", System.getProperty("java.vendor"));
        v.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        v.put("djl", Engine.getDjlVersion());
        ObjectNode t = v.putObject("libtorch");
        try {
            Engine engine = Engine.getEngine(TorchEngine.NAME);
            String path = TorchEngine.libtorchPath();
            boolean cuda = engine.hasCapability(StandardCapabilities.CUDA);
            t.put("version", engine.getVersion());
            t.put("flavor", flavor(path, cuda));
            t.put("cuda", cuda);
            t.put("path", path);
            return true;
        } catch (RuntimeException | LinkageError e) {
            t.putNull("version");
            t.put("error", RadioCli.oneLine(String.valueOf(e)));
            fail("libtorch could not be loaded: " + RadioCli.oneLine(String.valueOf(e)));
            return false;
        }
    }

    /** cpu or cuNNN from the folder DJL loaded libtorch from, else from its CUDA capability. */
    static String flavor(String path, boolean cuda) {
        Matcher m =
                FLAVOR.matcher(path == null ? "" : Path.of(path).getFileName().toString());
        return m.find() ? m.group(1) : cuda ? "cuda" : "cpu";
    }

    /**
     * The GPUs libtorch sees, and those Spark would assign when {@code discoveryScript} is given (its
     * JSON {@code {"name":"gpu","addresses":[...]}}); they must be the same indices.
     */
    void devices(Path discoveryScript) {
        ObjectNode d = report.putObject("devices");
        Engine engine = Engine.getEngine(TorchEngine.NAME);
        int gpus = DeviceSelector.pytorchGpus(); // the count tasks use
        devices.add(Device.cpu());
        ArrayNode seen = d.putArray("libtorch_gpus");
        for (int i = 0; i < gpus; i++) {
            devices.add(Device.gpu(i));
            ObjectNode g = seen.addObject().put("device", label(Device.gpu(i)));
            try {
                g.put("compute_capability", CudaUtils.getComputeCapability(i));
            } catch (RuntimeException | LinkageError e) {
                g.put("compute_capability", "unknown: " + RadioCli.oneLine(String.valueOf(e)));
            }
        }
        if (gpus == 0 && engine.hasCapability(StandardCapabilities.CUDA)) {
            d.put(
                    "note",
                    "libtorch is a CUDA build but no GPU could be used: none visible (CUDA_VISIBLE_DEVICES), "
                            + "or the driver cannot run it (the log says why).");
        }
        ArrayNode checked = d.putArray("checked");
        devices.forEach(x -> checked.add(label(x)));
        if (discoveryScript == null) {
            d.putNull("spark_gpus");
            d.put("discovery_script", "not given (--discovery-script)");
            return;
        }
        d.put("discovery_script", discoveryScript.toString());
        List<String> addresses;
        try {
            addresses = DiscoveryScript.addresses(discoveryScript);
        } catch (RadioException e) {
            d.putNull("spark_gpus");
            d.put("agree", false);
            d.put("problem", e.getMessage());
            fail(e.getMessage());
            return;
        }
        ArrayNode spark = d.putArray("spark_gpus");
        addresses.forEach(spark::add);
        TreeSet<String> torch = new TreeSet<>();
        for (int i = 0; i < gpus; i++) {
            torch.add(Integer.toString(i));
        }
        boolean agree = new TreeSet<>(addresses).equals(torch);
        d.put("agree", agree);
        if (!agree) {
            String problem = "Spark would assign GPU addresses " + addresses + " but libtorch sees "
                    + (gpus == 0 ? "no GPU" : gpus + " GPU(s), indices " + torch)
                    + ": install the CUDA libtorch (README, libtorch for CUDA), or make the discovery script print "
                    + "the CUDA indices of this node's GPUs.";
            d.put("problem", problem);
            fail(problem);
        }
    }
    /** Runs a check: status ok, failed (its reason) or error (the exception's one line); failures are recorded. */
    boolean attempt(ObjectNode r, String what, Supplier<String> check) {
        try {
            String problem = check.get();
            if (problem == null) {
                r.put("status", "ok");
                return true;
            }
            r.put("status", "failed").put("reason", problem);
            fail(what + ": " + problem);
        } catch (RuntimeException | LinkageError e) {
            String reason = RadioCli.oneLine(String.valueOf(e));
            r.put("status", "error").put("reason", reason);
            fail(what + " did not run: " + reason);
        }
        return false;
    }
}
