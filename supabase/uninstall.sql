-- Removes every Portcullis object: the `portcullis` schema with its tables, functions and
-- policies, every privilege granted to `portcullis_fn` in this database (on tables, columns,
-- schemas, functions, default privileges, the database itself), and the role.
-- Safe to run more than once. Run it in each database Portcullis was installed in.
--
-- It never drops anything that is not ours: when objects outside the schema depend on
-- Portcullis objects (a view over an outbox, a foreign key to a Portcullis table, a policy
-- that reads one), or when portcullis_fn owns objects outside it, it stops, lists them and
-- changes nothing. One statement, so it is all or nothing.

do $$
declare
  objects text;
  owned text;
  elsewhere text;
begin
  if to_regnamespace('portcullis') is not null then
    -- Drop our objects without CASCADE: PostgreSQL itself then refuses when anything outside
    -- depends on them, and names what.
    begin
      select string_agg(format('%I.%I', n.nspname, c.relname), ', ')
        into objects
        from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'portcullis' and c.relkind = 'v';
      if objects is not null then
        execute 'drop view if exists ' || objects || ' restrict';
      end if;
      select string_agg(format('%I.%I', n.nspname, c.relname), ', ')
        into objects
        from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'portcullis' and c.relkind in ('r', 'p', 'f');
      if objects is not null then
        execute 'drop table if exists ' || objects || ' restrict';
      end if;
      for objects in
        select p.oid::regprocedure::text from pg_catalog.pg_proc p
        where p.pronamespace = 'portcullis'::regnamespace
      loop
        execute 'drop function ' || objects || ' restrict';
      end loop;
      drop schema portcullis restrict;
    exception when dependent_objects_still_exist then
      get stacked diagnostics objects = pg_exception_detail;
      raise exception 'Portcullis was not uninstalled: objects outside the portcullis schema depend on it'
        using detail = objects,
              hint = 'Drop or change those objects first, then run uninstall.sql again. Nothing was removed.';
    end;
  end if;

  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'portcullis_fn') then
    return;
  end if;
  -- Objects the role owns would be dropped by DROP OWNED: they are not ours to drop.
  select string_agg(pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid), ', ')
    into owned
    from pg_catalog.pg_shdepend d
    where d.refclassid = 'pg_catalog.pg_authid'::regclass
      and d.refobjid = 'portcullis_fn'::regrole
      and d.deptype = 'o'
      and d.dbid = (select oid from pg_catalog.pg_database where datname = current_database());
  if owned is not null then
    raise exception 'Portcullis was not uninstalled: the role portcullis_fn owns %', owned
      using hint = 'Change their owner (ALTER … OWNER TO …) or drop them, then run uninstall.sql again. Nothing was removed.';
  end if;
  -- Every privilege the role holds here and on shared objects (databases, tablespaces):
  -- table, column, schema, function and default privileges included.
  if not pg_catalog.pg_has_role(current_user, 'portcullis_fn', 'usage') then
    execute format('grant portcullis_fn to %I', current_user);
  end if;
  drop owned by portcullis_fn;
  select string_agg(distinct db.datname, ', ')
    into elsewhere
    from pg_catalog.pg_shdepend d join pg_catalog.pg_database db on db.oid = d.dbid
    where d.refclassid = 'pg_catalog.pg_authid'::regclass
      and d.refobjid = 'portcullis_fn'::regrole;
  if elsewhere is not null then
    raise warning 'portcullis_fn still has privileges in database(s) %: run uninstall.sql there too; the role is kept until then', elsewhere;
    return;
  end if;
  drop role portcullis_fn;
end
$$;
