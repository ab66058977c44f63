package io.cqrs.write.outbox;

import static org.assertj.core.api.Assertions.assertThat;

import io.cqrs.events.RecordDeleted;
import io.cqrs.events.RecordWritten;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class OutboxEventsTests {

    private static final Instant COMMITTED = Instant.parse("2026-11-28T08:00:00.123456Z");

    @Test
    void aWriteBecomesRecordWrittenWithItsValue() {
        assertThat(OutboxEvents.of(7, "k", false, "v", 3, 2, COMMITTED))
                .isEqualTo(new RecordWritten(7, "k", "v", 3, 2, COMMITTED));
    }

    @Test
    void aDeleteBecomesRecordDeletedWithoutAValue() {
        assertThat(OutboxEvents.of(8, "k", true, null, 4, 2, COMMITTED))
                .isEqualTo(new RecordDeleted(8, "k", 4, 2, COMMITTED));
    }
}
