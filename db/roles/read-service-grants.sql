-- Least privilege for the read service on the read database: read the read model, update read counts, nothing else.
--
-- Roles are cluster-wide, so this is not a Flyway migration. Create the login role once per cluster, then run this
-- script as the owner of the read tables (the role the projector migrates with) in the read database, after the
-- projector's migrations, with psql's read_role variable naming the role:
--
--   psql "postgresql://127.0.0.1:5432/cqrs_read" -c "create role cqrs_read login password '...'"
--   psql "postgresql://127.0.0.1:5432/cqrs_read" -v read_role=cqrs_read -f db/roles/read-service-grants.sql
--
-- Then run the read service with READ_DB_USER=cqrs_read and READ_DB_PASSWORD=... . read-service's StandaloneReadServiceIT
-- applies this very file to a fresh role and runs the service as that role.

grant usage on schema public to :"read_role";
grant select on records, projection_state, read_totals to :"read_role";
grant update (read_count) on records to :"read_role";
grant update (total_reads) on read_totals to :"read_role";
