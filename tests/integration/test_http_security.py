"""The endpoint's defences, seen from a client (curl): basic auth on every path with a
401 challenge, failures counted, logged once a minute and rate-limited; TLS that serves
https and refuses plain HTTP on the same port; one-line start-up errors; and the
warnings when the endpoint is reachable from the network without auth or TLS."""

import os
import signal
import subprocess

import pytest

from lockwatch_harness import BINARY, free_port, wait_for, write_config

PASSWORD = "correct horse battery"


class Response:
    def __init__(self, code, status=None, headers=None, body="", error=""):
        self.code = code  # curl's exit code: 0 when an HTTP answer arrived
        self.status = status
        self.headers = headers or {}
        self.body = body
        self.error = error


def curl(url, *options):
    """One request with curl; a refused or broken connection is a Response too."""
    # Bytes, not text: universal newlines would turn the CRLFs that end the head into LFs.
    run = subprocess.run(["curl", "-sS", "-m", "20", "-i", *options, url], capture_output=True)
    if run.returncode != 0:
        return Response(run.returncode, error=run.stderr.decode())
    head, _, body = run.stdout.decode().partition("\r\n\r\n")
    lines = head.split("\r\n")
    headers = dict((k.strip().lower(), v.strip()) for k, v in
                   (line.split(":", 1) for line in lines[1:] if ":" in line))
    return Response(0, int(lines[0].split()[1]), headers, body)


def hash_password(password, cost=None):
    """`pg_lockwatch hash-password`: the password on stdin, the hash on stdout."""
    run = subprocess.run([BINARY, "hash-password"] + (["--cost", str(cost)] if cost else []),
                         input=password + "\n", capture_output=True, text=True, check=True)
    return run.stdout.strip()


@pytest.fixture(scope="module")
def bcrypt_hash():
    """A default-cost (12) hash, as an operator would make it."""
    return hash_password(PASSWORD)


@pytest.fixture(scope="module")
def cheap_hash():
    """A cost-4 hash: fast enough to guess at, for the rate-limit test."""
    return hash_password(PASSWORD, cost=4)


@pytest.fixture
def tls_files(tmp_path):
    """A self-signed certificate for localhost and 127.0.0.1, its key, and both in one."""
    cert, key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    both = str(tmp_path / "both.pem")
    with open(both, "w") as out:
        out.write(open(cert).read() + open(key).read())
    return {"cert": cert, "key": key, "both": both}


def users(password_hash):
    return f'[http.basic_auth_users]\nprometheus = "{password_hash}"\n'


def http_config(password_hash=None, tls_files=None, extra=""):
    """An [http] section with the given keys, then the users table when there is a hash."""
    text = "[http]\n" + extra + "\n"
    if tls_files:
        text += f'tls_certificate = "{tls_files["cert"]}"\ntls_key = "{tls_files["key"]}"\n'
    return text + (users(password_hash) if password_hash else "")


def wait_up(daemon, *options):
    wait_for(lambda: 'pg_lockwatch_up 1' in curl(daemon.base + "/metrics", *options).body,
             what="the first successful poll")


def run_briefly(config_path):
    """Runs the daemon expecting it to fail at start; returns (exit code, output)."""
    run = subprocess.run([BINARY, "run", "--config", config_path, "--listen", "127.0.0.1:0"],
                         capture_output=True, text=True, timeout=30)
    return run.returncode, run.stdout + run.stderr


def test_every_path_but_healthz_needs_the_password(start_daemon, bcrypt_hash):
    daemon = start_daemon(http_config(bcrypt_hash))
    good = ("-u", f"prometheus:{PASSWORD}")
    wait_up(daemon, *good)

    for path in ("/metrics", "/chains", "/", "/no-such-path"):
        bare = curl(daemon.base + path)
        assert bare.status == 401, path
        assert bare.headers["www-authenticate"].startswith('Basic realm="pg_lockwatch"')
        assert "pg_lockwatch_" not in bare.body
    assert curl(daemon.base + "/metrics", "-u", "prometheus:wrong").status == 401
    assert curl(daemon.base + "/metrics", "-u", f"nobody:{PASSWORD}").status == 401
    assert curl(daemon.base + "/metrics", "-H", "Authorization: Basic !!!").status == 401

    metrics = curl(daemon.base + "/metrics", *good)
    assert metrics.status == 200 and "pg_lockwatch_up 1" in metrics.body
    assert 'pg_lockwatch_http_auth_failures_total{reason="rejected"} 3' in metrics.body
    assert curl(daemon.base + "/chains", *good).status == 200
    # Open for load balancers and HEALTHCHECK, but without the error text.
    health = curl(daemon.base + "/healthz")
    assert (health.status, health.body) == (200, "ok\n")
    assert daemon.find(r'http: refused GET /metrics from 127\.0\.0\.1: wrong credentials for '
                       r'user "prometheus"')


def test_healthz_can_require_the_password_too(start_daemon, cheap_hash):
    daemon = start_daemon(http_config(cheap_hash, extra="healthz_requires_auth = true"))
    assert curl(daemon.base + "/healthz").status == 401
    wait_for(lambda: curl(daemon.base + "/healthz", "-u", f"prometheus:{PASSWORD}").status
             == 200, what="/healthz with the password")


def test_healthz_says_only_unhealthy_to_whoever_did_not_authenticate(start_daemon):
    # No auth at all: the poll error names the host and the role; /healthz must not.
    dsn = f"host=127.0.0.1 port={free_port()} user=secret_role dbname=secret_db"
    daemon = start_daemon(extra_args=["--dsn", dsn])
    wait_for(lambda: daemon.find("poll failed"), what="the failed poll")
    health = curl(daemon.base + "/healthz")
    assert (health.status, health.body) == (503, "unhealthy\n")


def test_healthz_behind_the_password_gives_the_reason(start_daemon, cheap_hash):
    dsn = f"host=127.0.0.1 port={free_port()} user=secret_role dbname=secret_db"
    daemon = start_daemon(http_config(cheap_hash, extra="healthz_requires_auth = true"),
                          extra_args=["--dsn", dsn])
    wait_for(lambda: daemon.find("poll failed"), what="the failed poll")
    health = curl(daemon.base + "/healthz", "-u", f"prometheus:{PASSWORD}")
    assert health.status == 503 and health.body.startswith("unhealthy: "), health.body
    assert "secret_role" not in curl(daemon.base + "/healthz").body


def test_password_guessing_is_slowed_down_and_logged_once(start_daemon, cheap_hash):
    daemon = start_daemon(http_config(cheap_hash))
    good = ("-u", f"prometheus:{PASSWORD}")
    assert curl(daemon.base + "/", *good).status == 200

    answers = [curl(daemon.base + "/", "-u", f"guess{i}:x") for i in range(25)]

    assert {a.status for a in answers} == {401, 429}
    assert all(a.headers["retry-after"] == "1" for a in answers if a.status == 429)
    # The scraper, once accepted, is remembered and never throttled.
    assert curl(daemon.base + "/", *good).status == 200
    refusals = [line for line in daemon.log().splitlines() if "http: refused" in line]
    assert len(refusals) == 1, refusals


def test_guessing_the_scrapers_password_is_throttled_too(start_daemon, cheap_hash):
    daemon = start_daemon(http_config(cheap_hash))
    good = ("-u", f"prometheus:{PASSWORD}")
    assert curl(daemon.base + "/", *good).status == 200  # remembered from now on

    answers = [curl(daemon.base + "/", "-u", f"prometheus:guess{i}") for i in range(25)]

    statuses = [a.status for a in answers]
    assert statuses.count(429) >= 15, statuses
    assert set(statuses) == {401, 429}
    wait_for(lambda: curl(daemon.base + "/", *good).status == 200, timeout=5,
             what="the scraper to get through once the guessing stops")


def test_tls_serves_https_and_refuses_plain_http(start_daemon, tls_files, cheap_hash):
    daemon = start_daemon(http_config(cheap_hash, tls_files))
    assert daemon.base.startswith("https://127.0.0.1:")
    https = ("--cacert", tls_files["cert"], "-u", f"prometheus:{PASSWORD}")
    wait_up(daemon, *https)

    assert curl(daemon.base + "/chains", *https).status == 200
    assert curl(daemon.base + "/metrics", "--cacert", tls_files["cert"]).status == 401
    plain = curl(daemon.base.replace("https://", "http://") + "/metrics",
                 "-u", f"prometheus:{PASSWORD}")
    assert plain.code != 0 and plain.status is None, plain.body
    # A client that does not trust the certificate gives up (curl: 60).
    assert curl(daemon.base + "/healthz").code != 0
    # None of that hurt the server.
    assert curl(daemon.base + "/metrics", *https).status == 200
    assert daemon.proc.poll() is None


def test_tls_certificate_may_hold_the_key(start_daemon, tls_files):
    daemon = start_daemon(f'[http]\ntls_certificate = "{tls_files["both"]}"\n')
    wait_for(lambda: curl(daemon.base + "/healthz", "--cacert", tls_files["cert"]).status
             == 200, what="/healthz over https")


def test_tls_start_up_errors_are_one_clear_line(tmp_path, tls_files):
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-out", str(tmp_path / "other.pem")],
                   check=True, capture_output=True)
    cases = {
        (str(tmp_path / "missing.pem"), tls_files["key"]):
            "tls_certificate " + str(tmp_path / "missing.pem") + ": cannot read",
        (tls_files["key"], tls_files["key"]): "not a PEM certificate",
        (tls_files["cert"], tls_files["cert"]): "no usable unencrypted PEM private key",
        (tls_files["cert"], str(tmp_path / "other.pem")): "the key does not match",
    }
    for (cert, key), expected in cases.items():
        path = write_config(tmp_path, f'[http]\ntls_certificate = "{cert}"\n'
                                      f'tls_key = "{key}"\n')
        code, output = run_briefly(path)
        assert code == 2, output
        last = output.strip().splitlines()[-1]
        assert last.startswith("pg_lockwatch: [http] tls_") and expected in last, output


def test_plaintext_passwords_are_refused_at_load(tmp_path):
    path = write_config(tmp_path, '[http.basic_auth_users]\nprometheus = "hunter2"\n')
    run = subprocess.run([BINARY, "config", "check", path], capture_output=True, text=True)
    assert run.returncode == 2
    assert "pg_lockwatch.toml:2: [http] basic_auth_users.prometheus: not a crypt(3) hash" \
        in run.stderr


def test_hash_password_reads_one_line_and_refuses_an_empty_one(bcrypt_hash):
    assert bcrypt_hash.startswith("$2b$12$") and len(bcrypt_hash) == 60
    empty = subprocess.run([BINARY, "hash-password"], input="\n", capture_output=True, text=True)
    assert empty.returncode == 2 and "empty password" in empty.stderr


def test_http_changes_on_sighup_wait_for_a_restart(start_daemon, tmp_path, cheap_hash):
    daemon = start_daemon(http_config(cheap_hash))
    config_path = os.path.join(str(tmp_path), "pg_lockwatch.toml")
    text = open(config_path).read()
    write_config(tmp_path, text.replace(cheap_hash, hash_password("new password", cost=4)))

    daemon.signal(signal.SIGHUP)

    wait_for(lambda: daemon.find(r"\[http\] basic_auth_users changed: takes effect at the next "
                                 r"restart"), what="the restart notice")
    assert curl(daemon.base + "/", "-u", f"prometheus:{PASSWORD}").status == 200


# These bind every interface for the moment it takes to read the log, then stop.
@pytest.mark.parametrize("auth,tls,warning", [
    (False, False, "without authentication: anyone who can reach it sees the query text"),
    (True, False, "with basic auth but without TLS: passwords and query text cross the network"),
    (True, True, None),
])
def test_all_interfaces_warn_about_what_is_missing(start_daemon, cheap_hash, tls_files,
                                                   auth, tls, warning):
    config = http_config(cheap_hash if auth else None, tls_files if tls else None)
    daemon = start_daemon(config, listen="0.0.0.0:0")
    try:
        # Warnings come right after the "metrics on" line, before the first poll's.
        wait_for(lambda: daemon.find("connected to PostgreSQL"), what="the first poll")
        line = daemon.find(r"http: listening on 0\.0\.0\.0:0 .*")
        if warning:
            assert line and warning in line.group(0), daemon.log()
        else:
            assert line is None, line.group(0)
    finally:
        daemon.stop()
