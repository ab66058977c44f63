package io.cqrs.projector;

import io.cqrs.events.RecordChanges.Change;
import io.cqrs.events.RecordDeleted;
import io.cqrs.events.RecordEvent;
import io.cqrs.events.RecordWritten;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.jspecify.annotations.Nullable;

/**
 * The events of one batch folded per key: the newest event of each key is the only one written, the others only count.
 * Pure, so that what the projection does with a batch can be tested without a database.
 */
final class ProjectionBatch {

    /** What the read model holds for a key before the batch. */
    record Stored(long version, boolean deleted, long writeCount, Instant createdAt) {}

    /** The events of one key in the batch: the newest, the distinct versions seen, and the earliest timestamp. */
    private static final class KeyEvents {
        private RecordEvent newest;
        private final TreeSet<Long> versions = new TreeSet<>();
        private final List<RecordEvent> events = new ArrayList<>();
        private Instant earliest;

        KeyEvents(RecordEvent first) {
            this.newest = first;
            this.earliest = first.occurredAt();
        }

        void add(RecordEvent event) {
            events.add(event);
            if (event.version() > newest.version()) {
                newest = event;
            }
            if (event.occurredAt().isBefore(earliest)) {
                earliest = event.occurredAt();
            }
        }
    }

    // Sorted by key, so that every transaction locks rows in the same order (no deadlocks between projectors).
    private final TreeMap<String, KeyEvents> keys = new TreeMap<>();
    private final int size;

    private ProjectionBatch(List<RecordEvent> events) {
        for (RecordEvent event : events) {
            keys.computeIfAbsent(event.key(), key -> new KeyEvents(event)).add(event);
        }
        this.size = events.size();
    }

    static ProjectionBatch fold(List<RecordEvent> events) {
        return new ProjectionBatch(events);
    }

    List<String> keys() {
        return List.copyOf(keys.keySet());
    }

    boolean isEmpty() {
        return size == 0;
    }

    /**
     * Every key's newest event, with the key's earliest timestamp, whatever the read model holds: what a rebuild's
     * shadow table gets, whose own version guard decides.
     */
    Rows newest() {
        var rows = new Rows();
        keys.values().forEach(events -> rows.add(events.newest, events.earliest));
        return rows;
    }

    /**
     * What to change, given what the read model holds for the batch's keys (absent keys have no row yet).
     *
     * <p>An event counts as applied when its version is newer than the stored one, even if a newer event of the same
     * key in this batch supersedes it: its effect (a write counted in {@code write_count}) is in the projection. An
     * event that is not newer, or repeats a version already counted in this batch, is stale: a duplicate, a
     * redelivery or a late arrival. So in-order delivery without duplicates counts every event as applied, whatever the
     * batching.
     */
    Plan plan(Map<String, Stored> stored) {
        var rows = new Rows();
        var backdated = new ArrayList<Backdate>();
        var changes = new ArrayList<Change>();
        var appliedAt = new ArrayList<Instant>();
        long applied = 0;
        long recordsDelta = 0;
        long writesDelta = 0;
        for (var entry : keys.entrySet()) {
            String key = entry.getKey();
            KeyEvents events = entry.getValue();
            @Nullable Stored before = stored.get(key);
            long storedVersion = before == null ? 0 : before.version();
            var counted = new TreeSet<Long>();
            for (RecordEvent event : events.events) {
                if (event.version() > storedVersion && counted.add(event.version())) {
                    applied++;
                    appliedAt.add(event.occurredAt());
                }
            }
            RecordEvent newest = events.newest;
            if (newest.version() > storedVersion) {
                rows.add(newest, events.earliest);
                changes.add(new Change(key, newest.version()));
                boolean liveBefore = before != null && !before.deleted();
                boolean liveAfter = newest instanceof RecordWritten;
                recordsDelta += (liveAfter ? 1 : 0) - (liveBefore ? 1 : 0);
                writesDelta += newest.writeCount() - (before == null ? 0 : before.writeCount());
            } else if (corrects(newest, before)) {
                // The row was changed outside the projection, its counters were not: they stay as they are.
                rows.add(newest, events.earliest);
                changes.add(new Change(key, newest.version()));
            } else if (before != null && events.earliest.isBefore(before.createdAt())) {
                // A late event older than anything seen: the row keeps its state but learns when the key began.
                backdated.add(new Backdate(key, events.earliest));
            }
        }
        return new Plan(rows, backdated, applied, size - applied, recordsDelta, writesDelta, changes, appliedAt);
    }

    /**
     * Whether {@code event} carries the stored version with another state: the row was changed by something else than
     * events (by hand, or a bug), and the write side's reconciliation republished the truth to put it right. A
     * duplicate of the event that made the row carries the same state and changes nothing.
     */
    private static boolean corrects(RecordEvent event, @Nullable Stored before) {
        return before != null
                && event.version() == before.version()
                && (event.writeCount() != before.writeCount() || (event instanceof RecordDeleted) != before.deleted());
    }

    /**
     * The outcome of {@link #plan}: rows to upsert, keys whose creation time moves back, the counter deltas, the
     * changes to announce, and when each applied event occurred (for the commit-to-projected latency).
     */
    record Plan(
            Rows rows,
            List<Backdate> backdated,
            long applied,
            long stale,
            long recordsDelta,
            long totalWritesDelta,
            List<Change> changes,
            List<Instant> appliedOccurredAt) {

        Plan {
            backdated = List.copyOf(backdated);
            changes = List.copyOf(changes);
            appliedOccurredAt = List.copyOf(appliedOccurredAt);
        }
    }

    /** A key whose {@code created_at} moves back to an earlier event's time. */
    record Backdate(String key, Instant createdAt) {}

    /** The upsert's parameters, one array per column, as {@code unnest} takes them. */
    static final class Rows {
        private final List<String> keys = new ArrayList<>();
        private final List<@Nullable String> values = new ArrayList<>();
        private final List<Long> versions = new ArrayList<>();
        private final List<Long> writeCounts = new ArrayList<>();
        private final List<Boolean> deleted = new ArrayList<>();
        private final List<String> createdAt = new ArrayList<>();
        private final List<String> updatedAt = new ArrayList<>();
        private final List<Long> commandIds = new ArrayList<>();

        private void add(RecordEvent newest, Instant earliest) {
            keys.add(newest.key());
            switch (newest) {
                case RecordWritten written -> {
                    values.add(written.value());
                    deleted.add(false);
                }
                case RecordDeleted tombstone -> {
                    values.add(null);
                    deleted.add(true);
                }
            }
            versions.add(newest.version());
            writeCounts.add(newest.writeCount());
            createdAt.add(earliest.toString());
            updatedAt.add(newest.occurredAt().toString());
            commandIds.add(newest.commandId());
        }

        int size() {
            return keys.size();
        }

        List<String> keys() {
            return Collections.unmodifiableList(keys);
        }

        /** The parameters in the upsert's column order: texts, then numbers, flags and timestamps as arrays. */
        Object[] parameters() {
            return new Object[] {
                keys.toArray(String[]::new),
                values.toArray(String[]::new),
                versions.stream().mapToLong(Long::longValue).toArray(),
                writeCounts.stream().mapToLong(Long::longValue).toArray(),
                toBooleans(deleted),
                createdAt.toArray(String[]::new),
                updatedAt.toArray(String[]::new),
                commandIds.stream().mapToLong(Long::longValue).toArray()
            };
        }

        private static boolean[] toBooleans(List<Boolean> flags) {
            var array = new boolean[flags.size()];
            for (int i = 0; i < array.length; i++) {
                array[i] = flags.get(i);
            }
            return array;
        }
    }
}
