-- Removes every Portcullis object: the `portcullis` schema with its tables and policies, every
-- privilege granted to `portcullis_fn` anywhere in this database, and the role itself.
-- Safe to run more than once. Run it in each database Portcullis was installed in.

drop schema if exists portcullis cascade;

do $$
declare
  r record;
begin
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'portcullis_fn') then
    return;
  end if;
  -- Privileges an operator granted outside our schema (e.g. on a custom claims table).
  for r in
    select c.oid::regclass::text as name, c.relkind
    from pg_catalog.pg_class c, aclexplode(c.relacl) a
    where a.grantee = 'portcullis_fn'::regrole
  loop
    execute format('revoke all on %s %s from portcullis_fn',
                   case when r.relkind = 'S' then 'sequence' else 'table' end, r.name);
  end loop;
  for r in
    select n.nspname
    from pg_catalog.pg_namespace n, aclexplode(n.nspacl) a
    where a.grantee = 'portcullis_fn'::regrole
  loop
    execute format('revoke all on schema %I from portcullis_fn', r.nspname);
  end loop;
  for r in
    select p.oid::regprocedure::text as name
    from pg_catalog.pg_proc p, aclexplode(p.proacl) a
    where a.grantee = 'portcullis_fn'::regrole
  loop
    execute format('revoke all on function %s from portcullis_fn', r.name);
  end loop;
  for r in
    select pg_get_userbyid(d.defaclrole) as owner, n.nspname, d.defaclobjtype
    from pg_catalog.pg_default_acl d
    left join pg_catalog.pg_namespace n on n.oid = d.defaclnamespace,
    aclexplode(d.defaclacl) a
    where a.grantee = 'portcullis_fn'::regrole
  loop
    execute format('alter default privileges for role %I %s revoke all on %s from portcullis_fn',
                   r.owner,
                   case when r.nspname is null then '' else format('in schema %I', r.nspname) end,
                   case r.defaclobjtype when 'r' then 'tables' when 'S' then 'sequences'
                                        when 'f' then 'functions' when 'T' then 'types'
                                        else 'schemas' end);
  end loop;
  drop role portcullis_fn;
end
$$;
