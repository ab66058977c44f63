-- Hands the database this runs in to one service's login, and lets only the given logins connect to it:
--
--   psql -d cqrs_read -v owner=cqrs_projector -v logins=cqrs_reader,cqrs_reconciler -f db/roles/database.sql
--
-- Run as a superuser (or a role that is a member of the old and the new owner). Idempotent, so ./stack.sh runs it on
-- every `up`; it also takes over databases made before the services had logins of their own, whose tables (and
-- flyway_schema_history) the administrative user owns: every table, view, sequence, function and type in schema
-- public passes to the owner, who must own them to migrate them. A sequence that belongs to a column (serial,
-- identity) follows its table; objects of extensions stay as they are. Privileges on the read model's tables are
-- not given here: the projector grants them after each migration (db/migrations/read/afterMigrate.sql).
\set ON_ERROR_STOP on
\if :{?logins}
\else
    \set logins ''
\endif
select format('alter database %I owner to %I', current_database(), :'owner') \gexec

-- PostgreSQL 15 and later let the database's owner create in schema public (pg_database_owner owns it); before 15
-- the bootstrap superuser owns it and everybody may create in it: give it to the owner, take creating from the rest.
select format('alter schema public owner to %I', :'owner')
 where (select nspowner from pg_namespace where nspname = 'public')
       not in ((select oid from pg_roles where rolname = :'owner'), 'pg_database_owner'::regrole) \gexec
revoke create on schema public from public;

with extension_members as (select objid from pg_depend where deptype = 'e')
select format('alter %s %s owner to %I',
              case c.relkind when 'S' then 'sequence' when 'v' then 'view' when 'm' then 'materialized view'
                             when 'f' then 'foreign table' else 'table' end,
              c.oid::regclass, :'owner')
  from pg_class c
 where c.relnamespace = 'public'::regnamespace
   and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
   and c.relowner <> (select oid from pg_roles where rolname = :'owner')
   and c.oid not in (select objid from extension_members)
   and not (c.relkind = 'S' and exists (select from pg_depend d
                                         where d.classid = 'pg_class'::regclass and d.objid = c.oid
                                           and d.refclassid = 'pg_class'::regclass and d.deptype in ('a', 'i')))
 order by c.relkind = 'S', c.oid \gexec

with extension_members as (select objid from pg_depend where deptype = 'e')
select format('alter routine %s owner to %I', p.oid::regprocedure, :'owner')
  from pg_proc p
 where p.pronamespace = 'public'::regnamespace
   and p.proowner <> (select oid from pg_roles where rolname = :'owner')
   and p.oid not in (select objid from extension_members) \gexec

-- Enums, domains and ranges; a table's row type and an array type follow their table or element type.
with extension_members as (select objid from pg_depend where deptype = 'e')
select format('alter type %s owner to %I', t.oid::regtype, :'owner')
  from pg_type t
 where t.typnamespace = 'public'::regnamespace
   and t.typtype in ('e', 'd', 'r')
   and t.typowner <> (select oid from pg_roles where rolname = :'owner')
   and t.oid not in (select objid from extension_members) \gexec

-- Nobody else connects: by default every role may connect to every database (and make temporary tables there).
select format('revoke connect, temporary on database %I from public', current_database()) \gexec
select format('grant connect on database %I to %I', current_database(), login)
  from unnest(string_to_array(:'logins', ',')) as login
 where login <> '' \gexec
