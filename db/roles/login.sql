-- One service's login role: created when missing, its password set either way, so that the password kept by whoever
-- runs this (./stack.sh in .run/db-roles/, compose in .env) is the one that works, on a trust or a scram server alike.
--
--   CQRS_ROLE_PASSWORD=... psql -d postgres -v role=cqrs_reader -f db/roles/login.sql
--
-- Run as a role that may create roles (a superuser, or one with CREATEROLE); roles are cluster-wide, so the database
-- does not matter. The password comes from the environment (\getenv, psql 15+), never from the command line, where
-- other users of the machine could read it. The role gets LOGIN and nothing else: what it may do in a database is
-- given there (ownership by db/roles/database.sql, the read model's grants by db/migrations/read/afterMigrate.sql).
\set ON_ERROR_STOP on
\getenv password CQRS_ROLE_PASSWORD
\if :{?password}
\else
    \set password ''
\endif
select :'password' = '' as no_password,
       exists (select from pg_roles where rolname = :'role' and rolsuper) as superuser \gset
\if :no_password
    do $$ begin raise exception 'set CQRS_ROLE_PASSWORD to the password of the role'; end $$;
\endif
\if :superuser
    -- A service that logs in as a superuser has every privilege, whatever was granted: refuse rather than pretend.
    select set_config('cqrs.role', :'role', false) \g /dev/null
    do $$ begin
        raise exception 'role % is a superuser: a service must not log in as one', current_setting('cqrs.role');
    end $$;
\endif
select format('create role %I login password %L', :'role', :'password')
 where not exists (select from pg_roles where rolname = :'role') \gexec
select format('alter role %I login password %L', :'role', :'password')
 where exists (select from pg_roles where rolname = :'role') \gexec
