"""Names and privileges against a real PostgreSQL: names that cannot be read never cost a
poll (not from an empty cache, not across a reconnect); a role that turns superuser is
seen and then protected; a role without pg_monitor is told how to fix it, and /healthz
and a metric say so while polls go on."""

import json

from lockwatch_harness import create_app_user, stage_seed_incident, wait_for


def chains(daemon):
    status, body = daemon.get("/chains")
    return json.loads(body) if status == 200 else None


def own_pid(cluster):
    rows = cluster.query("SELECT pid FROM pg_stat_activity WHERE application_name = 'pg_lockwatch'")
    return rows[0][0] if len(rows) == 1 else None


def test_a_name_refresh_that_hits_lock_timeout_keeps_the_names_and_fails_no_poll(
        start_daemon, cluster, sessions):
    user = create_app_user(cluster)
    root, *_ = stage_seed_incident(cluster, sessions, table="names_seed", user=user)
    daemon = start_daemon('[watch]\ninterval = "200ms"\nname_refresh_interval = "1s"\n')
    wait_for(lambda: (c := chains(daemon)) and c["roots"] and c["roots"][0]["usename"] == user,
             what="the chain, named")
    # What VACUUM FULL pg_authid holds (logins wait too, so the session must exist first).
    locker = cluster.connect("locker", autocommit=False)
    try:
        with locker.cursor() as cur:
            cur.execute("LOCK TABLE pg_catalog.pg_authid, pg_catalog.pg_database "
                        "IN ACCESS EXCLUSIVE MODE")
        errors = daemon.metric("pg_lockwatch_poll_errors_total")
        polls = daemon.metric("pg_lockwatch_polls_total")
        wait_for(lambda: daemon.find(r"names unavailable this poll .*lock timeout"), timeout=20,
                 what="a refresh to hit the lock")
        wait_for(lambda: daemon.metric("pg_lockwatch_polls_total") >= polls + 10, what="10 polls")
        assert daemon.metric("pg_lockwatch_poll_errors_total") == errors, daemon.log()
        assert daemon.metric("pg_lockwatch_up") == 1
        assert chains(daemon)["roots"][0]["usename"] == user, "the cached names stay"
    finally:
        locker.rollback()
        locker.close()


def test_names_that_cannot_be_read_fail_no_poll_from_an_empty_cache_and_across_a_reconnect(
        start_daemon, cluster, sessions):
    user = create_app_user(cluster)
    root, *_ = stage_seed_incident(cluster, sessions, table="names_seed2", user=user)
    cluster.query("DO $$BEGIN CREATE ROLE lw_watcher LOGIN IN ROLE pg_monitor; "
                  "EXCEPTION WHEN duplicate_object THEN NULL; END$$")
    # The daemon's role may not read the catalogs its names come from (logging in needs no
    # privilege on them), so every name read fails from the first poll on.
    cluster.query("REVOKE SELECT ON pg_catalog.pg_roles, pg_catalog.pg_database FROM PUBLIC")
    try:
        daemon = start_daemon(extra_args=("--dsn", cluster.dsn.replace("user=postgres",
                                                                       "user=lw_watcher")))
        doc = wait_for(lambda: (c := chains(daemon)) and c["roots"] and c, what="the chain")
        assert doc["roots"][0]["pid"] == root
        assert doc["roots"][0]["usename"].startswith("oid:"), "nothing could be named"
        assert daemon.find(r"names unavailable this poll .*permission denied"), daemon.log()

        first = own_pid(cluster)
        cluster.query("SELECT pg_terminate_backend(%s)", (first,))
        wait_for(lambda: (pid := own_pid(cluster)) and pid != first, what="a new session")
        errors = daemon.metric("pg_lockwatch_poll_errors_total")
        polls = daemon.metric("pg_lockwatch_polls_total")
        wait_for(lambda: daemon.metric("pg_lockwatch_polls_total") >= polls + 5, what="5 polls")
        assert daemon.metric("pg_lockwatch_poll_errors_total") == errors, daemon.log()
        assert daemon.metric("pg_lockwatch_up") == 1
    finally:
        cluster.query("GRANT SELECT ON pg_catalog.pg_roles, pg_catalog.pg_database TO PUBLIC")
    # Readable again, the names come within the retry interval (10s).
    wait_for(lambda: chains(daemon)["roots"][0]["usename"] == user, timeout=30,
             what="the role's name")


def test_a_role_that_turns_superuser_is_protected_from_the_next_refresh(
        start_daemon, cluster, sessions):
    cluster.query("DO $$BEGIN CREATE ROLE lw_promoted LOGIN; "
                  "EXCEPTION WHEN duplicate_object THEN NULL; END$$")
    cluster.query("ALTER ROLE lw_promoted NOSUPERUSER")
    try:
        stage_seed_incident(cluster, sessions, table="promoted_seed", user="lw_promoted")
        daemon = start_daemon('[watch]\ninterval = "200ms"\nname_refresh_interval = "1s"\n'
                              '[safety]\nprotected_users = []\n'
                              '[[policy]]\nname = "idle"\naction = "terminate"\n')
        wait_for(lambda: daemon.find(r"outcome=dry_run policy=\"idle\".*user=\"lw_promoted\""),
                 what="a dry-run decision about the ordinary role")
        cluster.query("ALTER ROLE lw_promoted SUPERUSER")
        line = wait_for(lambda: daemon.find(r"outcome=protected policy=\"idle\".*"
                                            r"user=\"lw_promoted\".*reason=\"superuser"),
                        timeout=20, what="the decision to turn protected")
        assert line
    finally:
        sessions.close()
        cluster.query("ALTER ROLE lw_promoted NOSUPERUSER")


def test_a_role_without_pg_monitor_is_told_and_reported_while_polls_go_on(start_daemon, cluster):
    cluster.query("DO $$BEGIN CREATE ROLE lw_blind LOGIN; "
                  "EXCEPTION WHEN duplicate_object THEN NULL; END$$")
    cluster.query("REVOKE pg_monitor, pg_read_all_stats FROM lw_blind")
    dsn = cluster.dsn.replace("user=postgres", "user=lw_blind")
    daemon = start_daemon(extra_args=("--dsn", dsn))
    wait_for(lambda: daemon.metric("pg_lockwatch_up") == 1, what="up")
    assert daemon.metric("pg_lockwatch_missing_privilege", {"privilege": "pg_read_all_stats"}) == 1
    assert daemon.find(r"role lw_blind cannot see other roles' sessions.*"
                       r"GRANT pg_monitor TO lw_blind"), daemon.log()
    status, body = daemon.get("/healthz")
    assert status == 503 and body.startswith("unhealthy"), body

    cluster.query("GRANT pg_monitor TO lw_blind")
    try:
        # Privileges are checked at connect: a new session sees the grant.
        cluster.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE application_name = 'pg_lockwatch'")
        wait_for(lambda: daemon.metric("pg_lockwatch_missing_privilege",
                                       {"privilege": "pg_read_all_stats"}) == 0, what="the grant")
        wait_for(lambda: daemon.get("/healthz")[0] == 200, what="healthy")
    finally:
        cluster.query("REVOKE pg_monitor FROM lw_blind")
