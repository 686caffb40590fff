package ai.radiospark.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import org.junit.jupiter.api.Test;

/** ProcessMemory reads VmHWM, in kB, from /proc/self/status, and says -1 where there is none. */
class ProcessMemoryTest {
    @Test
    void readsVmHwmInMegabytes() {
        String status = "Name:\tjava\nVmPeak:\t 9000000 kB\nVmHWM:\t  1572864 kB\nVmRSS:\t  1048576 kB\n";
        assertEquals(1536, ProcessMemory.peakRssMb(status));
        assertEquals(-1, ProcessMemory.peakRssMb("Name:\tjava\nVmRSS:\t  1048576 kB\n"));
    }

    @Test
    void thisJvmsPeakIsAtLeastItsHeapInUse() {
        assertTrue(Files.isReadable(ProcessMemory.STATUS), "this test runs on Linux");
        Runtime rt = Runtime.getRuntime();
        long used = (rt.totalMemory() - rt.freeMemory()) >> 20;
        long peak = ProcessMemory.peakRssMb();
        assertTrue(peak >= used && peak > 0, "peak RSS " + peak + " MB, heap in use " + used + " MB");
    }
}
