-- Least privilege on the read model: the one place that says who may do what with it besides its owner.
--
-- A Flyway callback, not a migration: the projector runs it after every migrate, so a table added by a later
-- migration gets its grants (listed here) on the next start, and the privileges of the two roles are exactly these
-- whatever they held before. Role names are Flyway placeholders, set by projector-service from the variables the
-- other services log in with (spring.flyway.placeholders.* in its application.properties):
--   ${reader}      read-service (READ_DB_USER): reads the read model, stores read counts, nothing else;
--   ${reconciler}  write-service's reconciliation (CQRS_RECONCILE_READ_DB_USER): reads records, nothing else.
-- A role that does not exist, is a superuser or is the one migrating is left alone: tests and a stack that runs
-- everything as one user get no grants they do not need. Creating the roles (they are cluster-wide) is stack.sh's
-- and the compose init script's job (db/roles/).
do $$
declare
    reader     text := '${reader}';
    reconciler text := '${reconciler}';
    role       text;
begin
    -- Concurrent GRANTs on one table fail ("tuple concurrently updated"): projectors starting together take turns.
    perform pg_advisory_xact_lock(hashtext('cqrs read model grants'));
    for role in
        select rolname from pg_roles
         where rolname in (reader, reconciler) and not rolsuper and rolname <> current_user
    loop
        execute format('revoke all on records, projection_state, read_totals from %I', role);
    end loop;
    if exists (select from pg_roles where rolname = reader and not rolsuper and rolname <> current_user) then
        execute format('grant usage on schema public to %I', reader);
        execute format('grant select on records, projection_state, read_totals to %I', reader);
        execute format('grant update (read_count) on records to %I', reader);
        execute format('grant update (total_reads) on read_totals to %I', reader);
    end if;
    if exists (select from pg_roles where rolname = reconciler and not rolsuper and rolname <> current_user) then
        execute format('grant usage on schema public to %I', reconciler);
        execute format('grant select on records to %I', reconciler);
    end if;
end
$$;
