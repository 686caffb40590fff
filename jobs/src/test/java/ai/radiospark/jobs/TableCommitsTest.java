package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A create that fails while another run creates the same table is retried, whatever Delta's exception
 * says, once the table's log is there; any other failure is thrown at once.
 */
class TableCommitsTest {
    @Test
    void aCreateThatFailedWhileAnotherRunCreatedTheLogIsRetried() {
        AtomicBoolean log = new AtomicBoolean();
        AtomicInteger calls = new AtomicInteger();
        TableCommits.retrying(
                "/t",
                "create",
                () -> {
                    if (calls.incrementAndGet() == 1) {
                        log.set(true); // the other run's _delta_log appears
                        throw new IllegalStateException("Cannot create table ('/t'): not empty");
                    }
                },
                log::get);
        assertEquals(2, calls.get());
    }

    @Test
    void aCreateNamingDeltasConditionInsideItsMessageIsRetried() {
        AtomicInteger calls = new AtomicInteger();
        TableCommits.retrying(
                "/t",
                "create",
                () -> {
                    if (calls.incrementAndGet() == 1) {
                        throw new RuntimeException(new IllegalStateException(
                                "Job aborted: [DELTA_CREATE_TABLE_WITH_NON_EMPTY_LOCATION] Cannot create table"));
                    }
                },
                () -> false);
        assertEquals(2, calls.get());
    }

    @Test
    void otherFailuresAreThrownAtOnce() {
        assertThrownAtOnce("create", false);
        // not a create: the log's presence does not make a failure a conflict
        assertThrownAtOnce("append", true);
    }

    /** A write that always fails with an unrelated exception: thrown as it is, after one call. */
    private static void assertThrownAtOnce(String what, boolean logExists) {
        AtomicInteger calls = new AtomicInteger();
        IllegalStateException boom = new IllegalStateException("disk full");
        IllegalStateException thrown = assertThrows(
                IllegalStateException.class,
                () -> TableCommits.retrying(
                        "/t",
                        what,
                        () -> {
                            calls.incrementAndGet();
                            throw boom;
                        },
                        () -> logExists));
        assertSame(boom, thrown, what);
        assertEquals(1, calls.get(), what);
    }
}
