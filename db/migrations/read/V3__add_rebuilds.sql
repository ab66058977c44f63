-- Rebuilds of the read model from the write database (projector-service/README.md, "Rebuilding the read model").
--
-- While a rebuild runs, every projector transaction applies its batch to records AND to the rebuild's shadow table
-- (records_shadow_<id>), for the keys in the rebuild's scope. Which shadow, and which scope, these columns of the one
-- projection_state row say: every projector transaction reads that row first (select ... for update), so it learns of
-- a rebuild in the statement it runs anyway, and a rebuild that starts or ends waits for the batch in progress.
alter table projection_state
    add column rebuild_table  text,
    -- The scope: from_key inclusive, to_key exclusive, prefix; null means unbounded.
    add column rebuild_from   text,
    add column rebuild_to     text,
    add column rebuild_prefix text;

-- One row per rebuild, the running one and the history. Any projector instance answers for it (GET /actuator/rebuild
-- reads this table); the instance that runs it (owner) keeps heartbeat_at fresh, and a rebuild whose heartbeat is too
-- old is failed and cleaned up by whichever instance notices.
create table rebuilds (
    id               bigserial        primary key,
    state            text             not null check (state in ('copying', 'catching_up', 'verifying', 'switching',
                                                                'done', 'cancelled', 'failed')),
    from_key         text,
    to_key           text,
    prefix           text,
    keys_per_second  integer          not null check (keys_per_second > 0),
    -- Keys in scope in the write database when the rebuild started (an exact count).
    keys_total       bigint           not null check (keys_total >= 0),
    -- Keys copied from the write database so far; may pass keys_total when keys are created meanwhile.
    keys_done        bigint           not null default 0,
    keys_verified    bigint           not null default 0,
    -- Keys whose shadow row the verification had to put right (copied again, set back or removed).
    keys_repaired    bigint           not null default 0,
    -- What the switch changed in records.
    keys_updated     bigint,
    keys_inserted    bigint,
    keys_deleted     bigint,
    switch_seconds   double precision,
    -- Up to 100 keys that still differed when verification gave up: [{key, kind, write_version, shadow_version}].
    differences      jsonb            not null default '[]',
    owner            text             not null,
    cancel_requested boolean          not null default false,
    error            text,
    started_at       timestamptz      not null default now(),
    copy_finished_at timestamptz,
    heartbeat_at     timestamptz      not null default now(),
    finished_at      timestamptz,
    constraint rebuilds_finished check ((state in ('done', 'cancelled', 'failed')) = (finished_at is not null))
);

-- One rebuild at a time, across all instances: a second start fails on this index (409).
create unique index rebuilds_one_running on rebuilds ((true)) where finished_at is null;
