package ai.radiospark.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * This JVM's peak resident set size (the kernel's {@code VmHWM}, heap, native libtorch memory and
 * mapped weights together), for the per-partition log line: what an executor's container limit
 * (memory plus memoryOverhead) must hold. Linux only; elsewhere it is unknown (-1).
 */
public final class ProcessMemory {
    static final Path STATUS = Path.of("/proc/self/status");

    private ProcessMemory() {}

    /** The peak resident set size of this process in MB, or -1 where /proc/self/status is not readable. */
    public static long peakRssMb() {
        try {
            return peakRssMb(Files.readString(STATUS));
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** {@code VmHWM} of a /proc/PID/status text, in MB (the kernel writes kB), or -1 if the text has none. */
    static long peakRssMb(String status) {
        for (String line : status.split("\n")) {
            if (line.startsWith("VmHWM:")) {
                String[] parts = line.substring("VmHWM:".length()).trim().split("\\s+");
                if (parts.length == 2 && parts[1].equals("kB")) {
                    return Long.parseLong(parts[0]) / 1024;
                }
            }
        }
        return -1;
    }
}
