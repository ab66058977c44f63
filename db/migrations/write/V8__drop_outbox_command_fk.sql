-- No foreign key from outbox to commands. Every outbox row is made from its command's row: in the statement that
-- stores the command (the group commit), or by the reconciliation's repair, which selects the command it queues; and
-- commands are never deleted. So the key checked nothing, and it cost every write a query of its own (PostgreSQL runs
-- the check as one per inserted row), a lock on the command just inserted and a WAL record for that lock: at saturation
-- PostgreSQL spent 375-394 us of CPU per write without it against 443-482 us with it, and the write service took
-- 2,042-2,137 writes/s against 1,765-1,914 (bench/RESULTS.md, 2026-11-29, sixth session).
-- Dropping a constraint rewrites nothing, and code of the previous version works with the table as it is now.
alter table outbox drop constraint outbox_command_id_fkey;
