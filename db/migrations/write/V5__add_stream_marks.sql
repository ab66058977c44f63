-- The stream's clock: marks the write service sets in Redis beside the stream (key <stream>:epoch, value
-- <epoch>:<seq>) about once per loss check, each recorded here first. Redis runs commands one at a time, and whatever
-- it restarts from (an RDB snapshot, an AOF cut short, a replica that lagged) is a prefix of that order: if the
-- restored data holds mark N, it holds every XADD that had returned before mark N was set. So the mark Redis holds
-- says from when on the outbox must be republished (write-service/README.md, "Stream loss and replay").
create table stream_marks (
    stream    text        not null,
    seq       bigint      not null check (seq >= 0),
    -- The value set in Redis.
    token     text        not null,
    -- This database's clock before the mark was set in Redis: events published (published_at) before it are in any
    -- Redis data that holds the mark.
    marked_at timestamptz not null default now(),
    -- The run_id of the Redis process the mark was set on (null for a mark taken over from stream_epochs). The same
    -- mark on another process means Redis restarted or failed over since, and may have lost what followed the mark.
    run_id    text,
    -- Set once Redis took the mark. Only confirmed marks count: a mark whose SET failed (Redis down) is not one Redis
    -- could have been rolled back from.
    confirmed boolean     not null default false,
    primary key (stream, seq),
    constraint stream_marks_token_unique unique (stream, token)
);

-- The cleanup's access path: marks older than the outbox retention window are of no use (their events are gone).
create index stream_marks_marked_at_idx on stream_marks (stream, marked_at);

-- The epoch token Redis holds (V4) is taken over as the stream's first mark, so that an upgrade neither replays nor
-- misses anything.
insert into stream_marks (stream, seq, token, marked_at, confirmed)
select stream, 0, epoch, updated_at, true from stream_epochs;

-- Replaced by the marks. A write service of the previous version still running during an upgrade would take every
-- new mark for a lost stream and replay its whole window each time; without its table, its check fails instead.
drop table stream_epochs;
