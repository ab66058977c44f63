package io.cqrs.projector;

import io.cqrs.events.RecordDeleted;
import io.cqrs.events.RecordEvent;
import io.cqrs.events.RecordWritten;
import io.cqrs.stream.StreamEntryId;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The projector's own {@link RecordProjection}, for the read service's tests: each write or delete is applied as the
 * projector applies a batch of one event (version-guarded upsert or tombstone, the {@code projection_state} counters
 * and the commit notification, in one transaction), so the read service is tested against the read model the
 * projector really leaves, not a copy of its SQL.
 */
public final class RealProjection {

    private final RecordProjection projection;
    private final AtomicLong commandIds = new AtomicLong();
    private final AtomicLong entrySequence = new AtomicLong();

    public RealProjection(JdbcClient jdbc, JdbcTemplate jdbcTemplate, TransactionTemplate transactions) {
        this.projection = new RecordProjection(jdbc, jdbcTemplate, transactions, Clock.systemUTC());
    }

    /** Projects a write of {@code key} at {@code version}, its {@code version}th write. */
    public void write(String key, String value, long version) {
        apply(new RecordWritten(commandIds.incrementAndGet(), key, value, version, version, Instant.now()));
    }

    /** Projects a delete of {@code key} at {@code version}, after {@code version - 1} writes. */
    public void delete(String key, long version) {
        apply(new RecordDeleted(commandIds.incrementAndGet(), key, version, version - 1, Instant.now()));
    }

    private void apply(RecordEvent event) {
        // The entry id the event would have had on the stream: the projector checkpoints it.
        var entryId = new StreamEntryId(System.currentTimeMillis(), entrySequence.incrementAndGet());
        projection.apply(List.of(event), 0, entryId);
    }
}
