"""Bad input gets one clear line and a non-zero exit, and loses nothing: the config file,
the command line, DSNs and HTTP requests. docs/BAD_INPUT.md lists what each test shows."""

import socket
import subprocess

import pytest

from lockwatch_harness import BINARY, wait_for, write_config


def run(*args, timeout=10):
    return subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def one_error_line(result):
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pg_lockwatch: "), lines[0]
    return lines[0]


@pytest.mark.parametrize("text, expected", [
    ('[watch]\nintervall = "1s"\n', ':2: [watch] intervall: unknown key'),
    ('[watch]\ninterval = 5\n', ':2: [watch] interval: expected a duration string'),
    ('[watch]\ninterval = "5 parsecs"\n', ':2: [watch] interval: invalid duration'),
    ('[watch]\ntop_roots = -1\n', ':2: [watch] top_roots: must be between 0 and 100'),
    ('[log]\nformat = "xml"\n', ':2: [log] format: "xml" is not one of: text, json'),
    ('[http\nlisten = "x"\n', ':1:'),
    ('[database]\ndsn = "a"\ndsn_file = "b"\n', ':3: [database] dsn_file: set either dsn'),
    ('[[policy]]\naction = "terminate"\n', '[[policy]] #1 name: every policy needs a name'),
    ('[[policy]]\nname = "x"\nstates = ["sleeping"]\n', '"sleeping" is not a pg_stat_activity'),
    ('\x00\xff\xfe garbage', ':1:'),
    ('[[pooler]]\nname = "edge"\nkind = "pgpool"\ndsn = "port=6432"\n',
     ':3: [[pooler]] #1 kind: "pgpool" is not one of: pgbouncer'),
    ('[[pooler]]\nname = "edge"\n', '[[pooler]] #1 dsn: set dsn'),
])
def test_config_check_names_file_line_and_key(tmp_path, text, expected):
    path = write_config(tmp_path, text)
    result = run("config", "check", path)
    assert result.returncode == 2
    line = one_error_line(result)
    assert f"{path}:" in line and expected in line, line


def test_config_check_counts_policies_and_poolers(tmp_path):
    path = write_config(tmp_path, '[[policy]]\nname = "p"\n'
                                  '[[pooler]]\nname = "a"\ndsn = "port=6432"\n'
                                  '[[pooler]]\nname = "b"\ndsn = "port=6433"\n')
    result = run("config", "check", path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{path}: ok (1 policy, 2 poolers)\n"


def test_run_with_a_bad_config_exits_2_before_doing_anything(tmp_path):
    result = run("run", "--config", write_config(tmp_path, "[watch]\nfoo = 1\n"))
    assert result.returncode == 2
    assert ":2: [watch] foo: unknown key" in one_error_line(result)


def test_missing_config_file(tmp_path):
    result = run("config", "check", str(tmp_path / "absent.toml"))
    assert result.returncode == 2
    assert "cannot read" in one_error_line(result)


@pytest.mark.parametrize("args, expected", [
    (["frobnicate"], 'unknown command "frobnicate"'),
    (["run", "--bogus"], "unknown option --bogus"),
    (["run", "--dsn"], "--dsn needs a value"),
    (["run", "--listen", "nonsense"], 'expected HOST:PORT'),
    (["run", "--dsn", "host='unterminated password=hunter2"], "invalid DSN"),
    (["run", "extra"], "unexpected extra"),
])
def test_command_line_errors_are_one_line_and_exit_2(args, expected):
    result = run(*args)
    assert result.returncode == 2
    line = one_error_line(result)
    assert expected in line, line
    assert "hunter2" not in result.stderr + result.stdout


def test_listen_address_in_use_is_fatal_and_clear(start_daemon, cluster):
    daemon = start_daemon()
    address = daemon.base.replace("http://", "")
    result = run("run", "--dsn", cluster.dsn, "--listen", address)
    assert result.returncode == 2
    assert "cannot listen" in result.stderr


def raw_http(daemon, request, read=65536):
    host, port = daemon.base.replace("http://", "").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(request)
        chunks = []
        try:
            while True:
                chunk = s.recv(read)
                if not chunk:
                    break
                chunks.append(chunk)
        except (ConnectionResetError, socket.timeout):
            pass
    return b"".join(chunks).decode(errors="replace")


def test_http_rejects_what_it_does_not_serve(start_daemon):
    daemon = start_daemon()
    wait_for(lambda: daemon.metric("pg_lockwatch_up") == 1, what="up")
    assert daemon.get("/nope")[0] == 404
    assert daemon.get("/../../etc/passwd")[0] == 404
    assert daemon.get("/chains?x=%00%ff")[0] == 200
    post = raw_http(daemon, b"POST /chains HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    assert post.startswith("HTTP/1.1 405"), post[:80]
    huge = raw_http(daemon, b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000
                    + b"\r\n\r\n")
    assert not huge.startswith("HTTP/1.1 200"), huge[:80]
    garbage = raw_http(daemon, b"\x16\x03\x01\x02\x00garbage\r\n\r\n")
    assert "200 OK" not in garbage
    # ... and the daemon is unharmed by all of it.
    assert daemon.get("/healthz")[0] == 200
    assert daemon.proc.poll() is None
