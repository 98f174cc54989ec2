-- pg_lockwatch: least-privilege database role for the daemon.
--
-- The role is called "lockwatch", NOT "pg_lockwatch": PostgreSQL reserves role
-- names starting with "pg_" (CREATE ROLE fails with 'role name "pg_lockwatch"
-- is reserved'). The OS/systemd user is still pg_lockwatch; for peer auth over
-- the local socket map it in pg_ident.conf:  lockwatch  pg_lockwatch  lockwatch
--
-- Apply as a superuser (or a role with CREATEROLE that holds pg_monitor and
-- pg_signal_backend WITH ADMIN OPTION), once per cluster (roles are cluster-wide):
--
--     psql -v ON_ERROR_STOP=1 -d postgres -f config/roles.sql
--     psql -v ON_ERROR_STOP=1 -d postgres -v role=other_name -f config/roles.sql
--
-- Idempotent: re-running it creates nothing twice and resets any drift in the
-- role's attributes back to what is written here. It never sets a password:
-- set one yourself (`\password lockwatch` in psql, stored as SCRAM) or use
-- certificate / peer authentication, and put the DSN in /etc/pg_lockwatch/dsn.
--
-- What the daemon does, and the privilege each thing needs:
--   * read every session's pid/state/query/xact_start/wait_event in
--     pg_stat_activity, and call pg_blocking_pids(pid) for them
--       -> pg_monitor (via pg_read_all_stats). Without it, other users' rows
--          show query = '<insufficient privilege>' and NULL state/timestamps,
--          and the wait-for graph would be blind.
--   * pg_cancel_backend(pid) / pg_terminate_backend(pid) on offenders (policy
--     actions and `pg_lockwatch terminate`)
--       -> pg_signal_backend. It only reaches NON-superuser sessions: a
--          superuser's session can never be killed by this role, which is the
--          safety net we want (the daemon reports outcome="denied" then).
--   * `preflight`/`ddl` subcommands: these run the operator's DDL and should
--     use the migration owner's DSN, not this role. This role owns nothing
--     and can lock or change no user table.
--
-- What it deliberately does NOT get, and why:
--   SUPERUSER      would let a bug or a stolen DSN do anything, and would make
--                  superuser sessions killable.
--   CREATEDB, CREATEROLE, REPLICATION, BYPASSRLS: not needed for monitoring.
--   pg_read_all_data / table grants: the daemon never reads user data; query
--                  text comes from pg_stat_activity only.
--   pg_read_server_files / pg_execute_server_program: no file or shell access.
--   CONNECTION LIMIT 5: the daemon holds two connections (the poll, and a
--                  standby that polls while the lock table does not answer), a CLI
--                  run (`check`, `terminate`) a third; 5 leaves headroom for a
--                  restart overlapping with the old process, but a runaway loop
--                  cannot eat max_connections during an incident.
--   Role-level timeouts: the monitor must never become one of the waiters it
--                  reports; the daemon may still SET other values per session.
--
-- PostgreSQL 15+ no longer grants CREATE on schema public to PUBLIC; on 14 and
-- older run `REVOKE CREATE ON SCHEMA public FROM PUBLIC;` in each database if
-- you want the same guarantee (tests/ops/test_roles.sh checks it on 15+).

\if :{?role}
\else
\set role lockwatch
\endif
-- Hand the name to the DO block (psql does not interpolate inside $$ ... $$).
SELECT set_config('pg_lockwatch.role', :'role', false) AS role \gset

DO $$
DECLARE
    r     text := current_setting('pg_lockwatch.role');
    extra text;
BEGIN
    IF r LIKE 'pg\_%' THEN
        RAISE EXCEPTION 'role name "%" is reserved by PostgreSQL (pg_ prefix)', r;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
        EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE '
                       'NOREPLICATION NOBYPASSRLS INHERIT CONNECTION LIMIT 5', r);
        RAISE NOTICE 'pg_lockwatch: created role %', r;
    ELSE
        -- Re-assert every attribute: repairs drift, harmless when already so.
        EXECUTE format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE '
                       'NOREPLICATION NOBYPASSRLS INHERIT CONNECTION LIMIT 5', r);
    END IF;

    -- INHERIT (above) is required: the privileges of pg_monitor and
    -- pg_signal_backend are used directly, without SET ROLE.
    IF NOT pg_has_role(r, 'pg_monitor', 'MEMBER') THEN
        EXECUTE format('GRANT pg_monitor TO %I', r);
        RAISE NOTICE 'pg_lockwatch: granted pg_monitor to %', r;
    END IF;
    IF NOT pg_has_role(r, 'pg_signal_backend', 'MEMBER') THEN
        EXECUTE format('GRANT pg_signal_backend TO %I', r);
        RAISE NOTICE 'pg_lockwatch: granted pg_signal_backend to %', r;
    END IF;

    -- Anything else granted by hand is reported, not silently revoked (someone
    -- may have had a reason); review it: this role should hold nothing else.
    SELECT string_agg(g.rolname, ', ' ORDER BY g.rolname) INTO extra
      FROM pg_auth_members m
      JOIN pg_roles g ON g.oid = m.roleid
      JOIN pg_roles u ON u.oid = m.member
     WHERE u.rolname = r
       AND g.rolname NOT IN ('pg_monitor', 'pg_signal_backend');
    IF extra IS NOT NULL THEN
        RAISE WARNING 'pg_lockwatch: role % is also a member of: % (not needed; consider REVOKE)', r, extra;
    END IF;

    -- Session defaults for the role (the daemon can override them per session).
    -- Its monitoring queries read shared memory, take no user-table locks and
    -- are fast; if one ever waits this long, something is wrong and it should
    -- fail (poll error, pg_lockwatch_up = 0) rather than pile onto a lock queue.
    EXECUTE format('ALTER ROLE %I SET statement_timeout = %L', r, '10s');
    EXECUTE format('ALTER ROLE %I SET lock_timeout = %L', r, '2s');
    EXECUTE format('ALTER ROLE %I SET idle_in_transaction_session_timeout = %L', r, '60s');
END
$$;
