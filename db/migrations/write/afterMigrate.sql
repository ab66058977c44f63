-- Least privilege on the write database: the one place that says who besides its owner may do what with it.
--
-- A Flyway callback, not a migration: write-service runs it after every migrate, so the grants are exactly these
-- whatever the role held before. The role name is a Flyway placeholder, set by write-service from the variable the
-- projector logs in with (spring.flyway.placeholders.rebuilder in its application.properties):
--   ${rebuilder}  projector-service's rebuild (CQRS_REBUILD_WRITE_DB_USER): reads key_state, commands and outbox, to
--                 rebuild the read model from them and verify it against them; nothing else.
-- A role that does not exist, is a superuser or is the one migrating is left alone: tests and a stack that runs
-- everything as one user get no grants they do not need. Creating the role (roles are cluster-wide) is stack.sh's and
-- the compose init script's job (db/roles/).
do $$
declare
    rebuilder text := '${rebuilder}';
begin
    -- Concurrent GRANTs on one table fail ("tuple concurrently updated"): write services starting together take turns.
    perform pg_advisory_xact_lock(hashtext('cqrs write database grants'));
    if exists (select from pg_roles where rolname = rebuilder and not rolsuper and rolname <> current_user) then
        execute format('revoke all on all tables in schema public from %I', rebuilder);
        execute format('grant usage on schema public to %I', rebuilder);
        execute format('grant select on key_state, commands, outbox to %I', rebuilder);
    end if;
end
$$;
