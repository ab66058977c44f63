-- Continuous reconciliation of the read model against this database (write-service/README.md, "Reconciliation").
-- The pass walks key_state in key order, a range of keys at a time, and compares each range's summary (count and a
-- hash of key, version, write count and deletion) with the read model's; only ranges that differ are compared key by
-- key.

-- Where the running pass stands, so that a restart or another instance carries on from there. One row; the instance
-- that holds it (FOR UPDATE SKIP LOCKED) does the next step, so several instances take turns instead of repeating work.
create table reconciliation (
    id                    boolean          primary key default true check (id),
    -- The last key of the last range checked; null before the first range of a pass.
    next_after            text,
    -- Keys checked so far in the running pass.
    pass_keys             bigint           not null default 0,
    pass_started_at       timestamptz,
    last_pass_finished_at timestamptz,
    last_pass_seconds     double precision,
    last_pass_keys        bigint
);

insert into reconciliation default values;

-- Keys whose read-model state differs from key_state, as the last comparison found them, until a comparison finds
-- them equal again. 'missing', 'behind' and 'differs' are repaired by republishing the key's latest command through
-- the outbox; 'ahead' (the read model holds a version this database never reached, e.g. after a restore of this
-- database from a backup) is reported and left to the operator, and new commands on such a key continue above the
-- read model's version so that the projector cannot discard them as stale.
create table divergences (
    key           text        primary key,
    kind          text        not null check (kind in ('missing', 'behind', 'differs', 'ahead')),
    write_version bigint,
    read_version  bigint,
    found_at      timestamptz not null default now(),
    repaired_at   timestamptz,
    repairs       integer     not null default 0
);
