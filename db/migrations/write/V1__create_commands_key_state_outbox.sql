-- The write side's source of truth: an append-only command log, the per-key state that serialises and
-- numbers the commands of a key, and the transactional outbox that carries each command's event to the stream.
-- All three change in one transaction per group of commands (DESIGN.md, invariant 1).

-- One row per key ever written. Concurrent commands on a key serialise on this row (SELECT ... FOR UPDATE or
-- INSERT ... ON CONFLICT DO UPDATE), which is what makes versions distinct and gap-free.
create table key_state (
    key         text        primary key,
    version     bigint      not null check (version >= 1),
    write_count bigint      not null check (write_count >= 0 and write_count <= version),
    deleted     boolean     not null default false,
    updated_at  timestamptz not null
);

-- Append-only: never updated, never deleted. Each row carries everything its event needs.
create table commands (
    id              bigint generated always as identity primary key,
    key             text        not null check (char_length(key) between 1 and 255),
    version         bigint      not null check (version >= 1),
    op              text        not null check (op in ('write', 'delete')),
    value           text,
    -- Writes on the key up to and including this command: the event's write_count.
    write_count     bigint      not null check (write_count >= 0 and write_count <= version),
    -- The Idempotency-Key header of the request that made this command, for audit.
    idempotency_key text,
    -- The write transaction's timestamp: the event's occurred_at.
    created_at      timestamptz not null default now(),
    constraint commands_key_version_unique unique (key, version),
    constraint commands_value_only_on_write check ((op = 'write') = (value is not null))
);

-- One row per command whose event has to reach the stream. The relay marks a row published right after
-- commit; the sweeper retries the rest (FOR UPDATE SKIP LOCKED, so several instances cooperate). Published
-- rows are kept for a retention window: a replay after Redis lost data starts from them.
create table outbox (
    command_id      bigint      primary key references commands (id),
    created_at      timestamptz not null default now(),
    published_at    timestamptz,
    -- The stream entry id XADD returned, as a record of where the event went.
    stream_id       text,
    attempts        integer     not null default 0 check (attempts >= 0),
    last_error      text,
    -- Backoff: the sweeper leaves a row alone until then.
    next_attempt_at timestamptz not null default now()
);

-- The sweeper's access path: unpublished rows that are due, oldest first. Partial, so it stays as small as
-- the backlog however long the retention window is.
create index outbox_unpublished_due_idx on outbox (next_attempt_at) where published_at is null;
-- The retention cleanup's access path: published rows by age.
create index outbox_published_at_idx on outbox (published_at) where published_at is not null;

-- Idempotency-Key → the commands the first request made. A retry with the same key and the same request
-- (request_hash) gets the first result rebuilt from those commands; another request under the same key is a 422.
-- Rows older than the retention window are deleted in batches.
create table idempotency_keys (
    idempotency_key text        primary key,
    request_hash    text        not null,
    command_ids     bigint[]    not null,
    created_at      timestamptz not null default now()
);

create index idempotency_keys_created_at_idx on idempotency_keys (created_at);
