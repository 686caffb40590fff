package ai.radiospark.jobs;

import ai.radiospark.model.Checkpoint;
import ai.radiospark.model.RadioWeights;
import ai.radiospark.model.RandomCheckpoint;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code radio doctor}: checks an install before a big job and prints a report to paste into an
 * issue (text, or one JSON object with {@code --json}): versions of radio-spark, Java, DJL and the
 * libtorch DJL loaded; the GPUs libtorch sees against those Spark's discovery script would assign;
 * the bundled golden case and the fused attention kernel on every device and dtype; a throughput
 * probe per device and dtype. Exit code 0 when every check passes, 1 when one fails (the report and
 * one line on stderr say which), 2 for a bad option. No Spark is started.
 *
 * <pre>
 * radio doctor --discovery-script ./get-gpus-resources.sh
 * radio doctor --quick --json
 * </pre>
 */
@Command(
        name = "doctor",
        mixinStandardHelpOptions = true,
        description = {
            "Check this node before a big job: versions (Java, DJL, libtorch and its flavour), GPUs seen by libtorch "
                    + "and by Spark's discovery script, the golden case and fused attention on every device and "
                    + "dtype, and a throughput probe. Prints a report to paste into an issue; exit code 0 when all "
                    + "is well, 1 when a check failed."
        })
public final class DoctorCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "Print the report as one JSON object instead of text.")
    boolean json;

    @Option(names = "--quick", description = "Skip the throughput probe.")
    boolean quick;

    @Option(
            names = "--discovery-script",
            paramLabel = "FILE",
            description = "Spark's GPU discovery script (spark.executor.resource.gpu.discoveryScript, e.g. "
                    + "scripts/get-gpus-resources.sh): its addresses must be the GPUs libtorch sees.")
    Path discoveryScript;

    @Option(
            names = "--model",
            paramLabel = "DIR|HUB_ID",
            description = "Model of the throughput probe (default: a random-weight base model).")
    String model;

    @Option(
            names = "--probe-seconds",
            defaultValue = "3",
            description = "Seconds of the throughput probe per device and dtype (default ${DEFAULT-VALUE}).")
    double probeSeconds;

    @Option(
            names = "--batch-size",
            description = "Images per forward of the throughput probe (default: the device's default batch size).")
    Integer batchSize;

    @Override
    public Integer call() throws Exception {
        OptionException.require(
                probeSeconds > 0, "--probe-seconds", probeSeconds, "Use a positive number of seconds, e.g. 3.");
        OptionException.require(
                batchSize == null || batchSize > 0,
                "--batch-size",
                batchSize,
                "Use a positive number of images per forward, e.g. 16.");
        OptionException.require(
                discoveryScript == null || Files.isRegularFile(discoveryScript),
                "--discovery-script",
                discoveryScript,
                "No such file. Give Spark's GPU discovery script, e.g. scripts/get-gpus-resources.sh.");
        if (model != null && !quick) {
            ModelOption.config(model);
        }
        DoctorChecks checks = new DoctorChecks();
        if (checks.versions(RadioCli.VERSION)) {
            checks.devices(discoveryScript);
            DoctorModelChecks modelChecks = new DoctorModelChecks(checks);
            modelChecks.parity();
            if (quick) {
                checks.report().putObject("throughput").put("status", "skipped (--quick)");
            } else {
                throughput(modelChecks);
            }
        }
        ObjectNode report = checks.report();
        List<String> failures = checks.failures();
        report.put("ok", failures.isEmpty());
        failures.forEach(report.putArray("failures")::add);
        PrintWriter out = spec.commandLine().getOut();
        out.print(json ? new ObjectMapper().writeValueAsString(report) + "\n" : DoctorReport.text(report));
        out.flush();
        if (failures.isEmpty()) {
            return 0;
        }
        PrintWriter err = spec.commandLine().getErr();
        err.println("radio doctor: " + failures.size() + (failures.size() == 1 ? " check" : " checks")
                + " failed, the first: " + failures.get(0));
        err.flush();
        return RadioCli.EXIT_USER_ERROR;
    }

    private void throughput(DoctorModelChecks checks) throws IOException {
        if (model != null) {
            Checkpoint c = ModelOption.open(model);
            checks.throughput(c.weights(), c.source(), batchSize == null ? 0 : batchSize, probeSeconds);
            return;
        }
        Path dir = Files.createTempDirectory("radio-doctor-base");
        try {
            RandomCheckpoint.write(RandomCheckpoint.shape("base"), dir, 42);
            RadioWeights w = Checkpoint.open(dir).weights();
            checks.throughput(w, "random base", batchSize == null ? 0 : batchSize, probeSeconds);
        } finally {
            try (Stream<Path> all = Files.walk(dir)) {
                all.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }
}
