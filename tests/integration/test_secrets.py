"""Passwords and query literals never reach logs, JSON, metrics or error messages."""

import subprocess

from lockwatch_harness import BINARY, create_app_user, wait_for, write_config

PASSWORD = "Pw-Sup3r-S3cret"
LITERAL = "literal-t0p-secret"


def test_no_secret_leaks_anywhere(start_daemon, cluster, sessions, tmp_path):
    user = create_app_user(cluster)
    cluster.query("DROP TABLE IF EXISTS vault; CREATE TABLE vault (v text); "
                  f"ALTER TABLE vault OWNER TO {user}")
    sessions.idle_in_transaction(f"SELECT * FROM vault WHERE v = '{LITERAL}'", "leaky", user)
    sessions.blocked(f"ALTER TABLE vault ADD COLUMN w text DEFAULT '{LITERAL}'", "migrate", user)
    # The cluster trusts local connections, so the password is carried but never checked:
    # it is in the DSN the daemon parses, logs and connects with.
    dsn = f"{cluster.dsn} password={PASSWORD}"
    daemon = start_daemon(extra_args=["--dsn", dsn])
    wait_for(lambda: daemon.metric("pg_lockwatch_max_chain_length") == 2, what="the chain")
    wait_for(lambda: daemon.find("blocking chain:"), what="the chain log line")
    assert daemon.find(r"password=\*\*\*"), "the DSN is logged, masked"

    texts = {"log": daemon.log(), "chains": daemon.get("/chains")[1],
             "metrics": daemon.metrics(), "healthz": daemon.get("/healthz")[1]}

    # Error paths: a malformed DSN, and a server that refuses connections.
    bad = subprocess.run([BINARY, "run", "--dsn", f"host='x password={PASSWORD}"],
                         capture_output=True, text=True, timeout=10)
    texts["bad dsn"] = bad.stdout + bad.stderr
    config = write_config(tmp_path, f'[database]\ndsn = "host=127.0.0.1 port=1 '
                                    f'password={PASSWORD}"\n[watch]\ninterval = "200ms"\n')
    down = subprocess.Popen([BINARY, "run", "--config", config, "--listen", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out = []
        for line in down.stdout:
            out.append(line)
            if "poll failed" in line:
                break
    finally:
        down.terminate()
        down.wait(10)
    texts["unreachable"] = "".join(out)
    assert "poll failed" in texts["unreachable"]

    for name, text in texts.items():
        assert PASSWORD not in text, f"password leaked in {name}"
        assert LITERAL not in text, f"query literal leaked in {name}"
