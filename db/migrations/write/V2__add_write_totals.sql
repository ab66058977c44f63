-- Counters for GET /stats, moved in the same transaction as the commands they count, so that the figures are
-- exact and cost O(1) to read (never count(*) over the append-only command log).
create table write_totals (
    id       boolean primary key default true check (id),
    commands bigint  not null default 0 check (commands >= 0),
    writes   bigint  not null default 0 check (writes >= 0),
    deletes  bigint  not null default 0 check (deletes >= 0)
);

insert into write_totals default values;
