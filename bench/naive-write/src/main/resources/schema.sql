create table if not exists commands (
    id bigserial primary key,
    key text not null,
    value text not null,
    created_at timestamptz not null default now()
);
