-- The epoch of each stream as this database last saw it: a random token the write service keeps in Redis beside the
-- stream (key <stream>:epoch). Redis losing its data loses the token too; finding it gone (or another one) while a
-- token is recorded here is how the write side knows the stream lost events it had published, and replays them
-- from the outbox retention window (write-service/README.md, "Stream loss and replay").
create table stream_epochs (
    stream     text        primary key,
    epoch      text        not null,
    updated_at timestamptz not null default now()
);
