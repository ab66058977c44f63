-- The operators' audit log: every mutating call to the projector's operator endpoints (projector control, dead
-- letters, rebuild), who made it (the API key's name, never its secret), what it asked for, when, and how it ended.
-- The projector writes the row before the operation runs, so nothing runs unaudited (no read database, no operation),
-- and completes it afterwards with the outcome and a short result.
create table operator_audit (
    id          bigserial   primary key,
    started_at  timestamptz not null default now(),
    key_name    text        not null,
    operation   text        not null,
    parameters  jsonb       not null default '{}',
    outcome     text        not null default 'started' check (outcome in ('started', 'succeeded', 'failed')),
    result      text,
    finished_at timestamptz,
    constraint operator_audit_finished check ((outcome = 'started') = (finished_at is null))
);

create index operator_audit_started_at on operator_audit (started_at);
