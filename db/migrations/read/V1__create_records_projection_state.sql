-- The read model: one denormalised row per key, kept by the projector, read (and read-counted) by the
-- read service. No cross-key constraints, so the table can be distributed on key (Citus-ready).

create table records (
    key             text        primary key,
    -- Null exactly when the key is deleted: the row stays as a tombstone at its version.
    value           text,
    -- Version of the newest event applied. The projector's upsert only ever raises it
    -- (... where records.version < excluded.version), so duplicates and reordering are harmless.
    version         bigint      not null check (version >= 1),
    write_count     bigint      not null check (write_count >= 0),
    -- Owned by the read service, flushed in batches; the projector never writes it.
    read_count      bigint      not null default 0 check (read_count >= 0),
    deleted         boolean     not null default false,
    created_at      timestamptz not null,
    updated_at      timestamptz not null,
    -- The command that produced this version, to trace a row back to the write database.
    last_command_id bigint      not null,
    constraint records_tombstone_has_no_value check (deleted = (value is null))
);

-- Counters and checkpoint per projection, moved in the same transaction as the rows they describe, so
-- /stats answers in O(1) without scanning records.
create table projection_state (
    projection           text        primary key,
    events_applied       bigint      not null default 0,
    events_stale         bigint      not null default 0,
    events_dead_lettered bigint      not null default 0,
    -- Keys that currently have a live (not deleted) row.
    records              bigint      not null default 0,
    -- Sum of write_count over all rows, tombstones included.
    total_writes         bigint      not null default 0,
    last_event_id        text,
    last_applied_at      timestamptz
);

insert into projection_state (projection) values ('records');

-- Total of successful reads, kept by the read service beside its read_count flushes. A table of its own so that
-- the read service's role needs no write access to what the projector owns.
create table read_totals (
    id          boolean primary key default true check (id),
    total_reads bigint  not null default 0 check (total_reads >= 0)
);

insert into read_totals default values;
