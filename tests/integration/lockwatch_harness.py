"""Shared pieces of the integration tests: the test cluster, the daemon under test, and
real client sessions that stage lock incidents. Nothing here is mocked."""

import os
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request

import psycopg2
import psycopg2.extensions

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("LOCKWATCH_BIN", os.path.join(ROOT, "build", "pg_lockwatch"))


def wait_for(predicate, timeout=20.0, interval=0.05, what="condition"):
    """Polls `predicate` until it returns a truthy value or `timeout` passes."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except Exception as exc:  # the thing polled may not be up yet
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")


class Cluster:
    """A throwaway PostgreSQL cluster (scripts/pg-cluster.sh)."""

    def __init__(self, directory):
        self.directory = directory
        self.port = None

    def start(self):
        out = subprocess.run([os.path.join(ROOT, "scripts", "pg-cluster.sh"), "start",
                              self.directory] + ([str(self.port)] if self.port else []),
                             check=True, capture_output=True, text=True).stdout
        self.port = int(re.search(r"PGPORT=(\d+)", out).group(1))

    def adopt(self):
        with open(os.path.join(self.directory, "port")) as f:
            self.port = int(f.read().strip())

    def stop(self):
        subprocess.run([os.path.join(ROOT, "scripts", "pg-cluster.sh"), "stop", self.directory],
                       check=True)

    def destroy(self):
        subprocess.run([os.path.join(ROOT, "scripts", "pg-cluster.sh"), "destroy",
                        self.directory], check=True)

    @property
    def dsn(self):
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    def connect(self, application_name="pytest", user="postgres", autocommit=True, **kw):
        conn = psycopg2.connect(self.dsn.replace("user=postgres", f"user={user}"),
                                application_name=application_name, **kw)
        if not kw.get("async_"):
            conn.autocommit = autocommit
        return conn

    def query(self, sql, params=None):
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else None

    def pg_ctl(self, *args):
        binary = subprocess.run("ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1",
                                shell=True, capture_output=True, text=True).stdout.strip()
        cmd = [f"{binary}/pg_ctl", "-D", os.path.join(self.directory, "data")] + list(args)
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        subprocess.run(cmd, check=True, capture_output=True)


class Daemon:
    """`pg_lockwatch run` as a child process, with its log captured line by line."""

    def __init__(self, config_path, extra_args=(), env=None, listen="127.0.0.1:0"):
        self.lines = []
        self._lock = threading.Lock()
        self.proc = subprocess.Popen([BINARY, "run", "--config", config_path,
                                      "--listen", listen, *extra_args],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     env={**os.environ, **(env or {})})
        threading.Thread(target=self._read, daemon=True).start()
        match = wait_for(lambda: self.find(r"metrics on (https?)://([\d.]+:\d+)/metrics")
                         or self._exited(), timeout=15, what="the daemon to listen")
        self.base = f"{match.group(1)}://{match.group(2)}"

    def _exited(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"daemon exited {self.proc.returncode}: {self.log()}")

    def _read(self):
        for line in self.proc.stdout:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def log(self):
        with self._lock:
            return "\n".join(self.lines)

    def find(self, pattern):
        with self._lock:
            for line in self.lines:
                m = re.search(pattern, line)
                if m:
                    return m
        return None

    def get(self, path, timeout=5):
        """(status, body) of GET path; a non-2xx status is returned, not raised."""
        try:
            with urllib.request.urlopen(self.base + path, timeout=timeout) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def metrics(self):
        status, body = self.get("/metrics")
        assert status == 200, body
        return body

    def metric(self, name, labels=None):
        """The value of one series, or None when absent."""
        for line in self.metrics().splitlines():
            if line.startswith("#"):
                continue
            m = re.match(r"([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$", line)
            if not m or m.group(1) != name:
                continue
            got = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
            if all(got.get(k) == v for k, v in (labels or {}).items()):
                return float(m.group(3))
        return None

    def backend_pid(self):
        """The daemon's main session, as its log names it at the last connect."""
        with self._lock:
            pids = [int(m.group(1)) for l in self.lines
                    if (m := re.search(r"connected to PostgreSQL .*\(watchdog backend pid (\d+)\)", l))]
        return pids[-1] if pids else None

    def standby_pid(self):
        """The standby session's backend, once the log says it is ready."""
        with self._lock:
            pids = [int(m.group(1)) for l in self.lines
                    if (m := re.search(r"standby session ready \(backend pid (\d+)\)", l))]
        return pids[-1] if pids else None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def wait_ready(conn):
    """Waits for an async psycopg2 connection or query to complete one step."""
    import select
    while True:
        state = conn.poll()
        if state == psycopg2.extensions.POLL_OK:
            return
        if state == psycopg2.extensions.POLL_READ:
            select.select([conn.fileno()], [], [], 5)
        elif state == psycopg2.extensions.POLL_WRITE:
            select.select([], [conn.fileno()], [], 5)


class Sessions:
    """Real client sessions for staging incidents; closes them all at the end."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.conns = []
        self.cursors = []  # an async query dies with its cursor: keep them

    def idle_in_transaction(self, sql, application_name, user="postgres"):
        """A session that ran `sql` inside a transaction it leaves open. Returns its pid."""
        conn = self.cluster.connect(application_name, user=user, autocommit=False)
        self.conns.append(conn)
        with conn.cursor() as cur:
            cur.execute(sql)
        return conn.get_backend_pid()

    def blocked(self, sql, application_name, user="postgres"):
        """Starts `sql` on a new session without waiting for it; returns (pid, conn)
        once the server shows it waiting on a lock."""
        conn = self.cluster.connect(application_name, user=user, async_=True)
        wait_ready(conn)
        self.conns.append(conn)
        pid = conn.get_backend_pid()
        self.start(conn, sql)
        wait_for(lambda: self.cluster.query(
            "SELECT 1 FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'",
            (pid,)), what=f"pid {pid} to wait on a lock")
        return pid, conn

    def start(self, conn, sql):
        """Sends `sql` on an async connection without waiting for its result."""
        cur = conn.cursor()
        self.cursors.append(cur)
        cur.execute(sql)

    def close(self):
        for conn in self.conns:
            try:
                conn.close()
            except Exception:
                pass
        self.conns = []


APP_USER = "lw_app"


def create_app_user(cluster):
    """A non-superuser role for client sessions (superusers are protected by default)."""
    cluster.query(f"DO $$BEGIN CREATE ROLE {APP_USER} LOGIN; "
                  "EXCEPTION WHEN duplicate_object THEN NULL; END$$")
    return APP_USER


def create_table(cluster, table, owner="postgres"):
    cluster.query(f"DROP TABLE IF EXISTS {table}; CREATE TABLE {table} "
                  "(id int PRIMARY KEY, balance int); "
                  f"INSERT INTO {table} SELECT g, 100 FROM generate_series(1, 10) g; "
                  f"ALTER TABLE {table} OWNER TO {owner}")


def stage_seed_incident(cluster, sessions, table="accounts", user="postgres"):
    """The incident of shared/seeds: an idle-in-transaction SELECT holding a lock, two
    ALTER TABLEs queued behind it and a reader queued behind them, all as `user`.
    Returns the pids in chain order."""
    create_table(cluster, table, owner=user)
    root = sessions.idle_in_transaction(f"SELECT count(*) FROM {table}", "api", user)
    alter1, _ = sessions.blocked(f"ALTER TABLE {table} ADD COLUMN note text", "migrate", user)
    alter2, _ = sessions.blocked(f"ALTER TABLE {table} ADD COLUMN note2 text", "migrate2", user)
    reader, _ = sessions.blocked(f"SELECT count(*) FROM {table}", "api-read", user)
    return [root, alter1, alter2, reader]


def alive(cluster, pid):
    return bool(cluster.query("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)))


def write_config(tmp_path, text):
    """Writes pg_lockwatch.toml atomically (as config management does): a SIGHUP never
    sees a half-written file."""
    path = os.path.join(str(tmp_path), "pg_lockwatch.toml")
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)
    return path


def run_cli(*args, dsn=None, env=None, input=None, timeout=120):
    """Runs `pg_lockwatch ARGS [--dsn DSN]` to completion; returns the CompletedProcess."""
    return subprocess.run([BINARY, *args] + (["--dsn", dsn] if dsn else []),
                          capture_output=True, text=True, input=input, timeout=timeout,
                          env={**os.environ, **(env or {})})


def start_cli(*args, dsn=None):
    """Starts `pg_lockwatch ARGS [--dsn DSN]` with stdout and stderr piped (line-buffered
    text); the caller reads and waits."""
    return subprocess.Popen([BINARY, *args] + (["--dsn", dsn] if dsn else []),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            bufsize=1, stdin=subprocess.DEVNULL)


def run_cli_on_terminal(args, answer, timeout=30):
    """Runs `pg_lockwatch ARGS` with a pseudo-terminal as stdin/stdout, waits for its
    "[y/N]" prompt and types `answer`. Returns (exit code, everything it printed)."""
    import pty
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execv(BINARY, [BINARY, *args])
        finally:
            os._exit(127)
    output = b""
    deadline = time.monotonic() + timeout
    answered = False
    while time.monotonic() < deadline:
        if not answered and b"[y/N]" in output:
            os.write(fd, answer.encode() + b"\n")
            answered = True
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PGBOUNCER = next((p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer")
                  if os.path.exists(p)), None)


class Pgbouncer:
    """Debian's pgbouncer as a child process on a free port in front of `cluster`: a real
    pooler, so pooler detection is shown to fire through it. Trust auth, like the cluster;
    runs as postgres when we are root (pgbouncer refuses to run as root)."""

    def __init__(self, cluster, pool_mode="session", listen_addr="127.0.0.1", port=None):
        import tempfile
        self.cluster = cluster
        self.listen_addr = listen_addr
        self.port = port or free_port()
        self.directory = tempfile.mkdtemp(prefix="lockwatch-pgbouncer-")
        self._write_config(pool_mode)
        as_postgres = {"user": "postgres", "group": "postgres"} if os.geteuid() == 0 else {}
        if as_postgres:
            import shutil
            shutil.chown(self.directory, "postgres", "postgres")
        self.proc = subprocess.Popen([PGBOUNCER, os.path.join(self.directory, "pgbouncer.ini")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     **as_postgres)
        wait_for(self._answers, timeout=15, what="pgbouncer to accept connections")

    def _write_config(self, pool_mode):
        d = self.directory
        with open(os.path.join(d, "userlist.txt"), "w") as f:
            f.write(f'"postgres" ""\n"{APP_USER}" ""\n')
        with open(os.path.join(d, "pgbouncer.ini"), "w") as f:
            f.write(f"""[databases]
* = host=127.0.0.1 port={self.cluster.port}

[pgbouncer]
listen_addr = {self.listen_addr}
listen_port = {self.port}
admin_users = postgres
unix_socket_dir =
auth_type = trust
auth_file = {d}/userlist.txt
pool_mode = {pool_mode}
logfile = {d}/pgbouncer.log
pidfile = {d}/pgbouncer.pid
""")
        os.chmod(d, 0o755)

    def _answers(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"pgbouncer exited {self.proc.returncode}: {self.log()}")
        conn = psycopg2.connect(self.dsn, connect_timeout=2)
        conn.close()
        return True

    def log(self):
        try:
            with open(os.path.join(self.directory, "pgbouncer.log")) as f:
                return f.read()
        except OSError:
            return ""

    @property
    def dsn(self):
        return f"host={self.listen_addr} port={self.port} user=postgres dbname=postgres"

    def dsn_for(self, user, dbname="postgres"):
        return f"host={self.listen_addr} port={self.port} user={user} dbname={dbname}"

    @property
    def console_dsn(self):
        """Its admin console: SHOW SERVERS and SHOW CLIENTS name the client behind a pid."""
        return f"host={self.listen_addr} port={self.port} user=postgres dbname=pgbouncer"

    def freeze(self):
        """SIGSTOP: it keeps every socket open but answers nothing."""
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self):
        import shutil
        if self.proc.poll() is None:
            self.thaw()
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


class FreezingProxy:
    """A TCP proxy in front of the cluster that passes bytes both ways until the client
    sends `freeze_on` (bytes), then stops forwarding on that connection in both
    directions while keeping it open: to the client, a server that froze mid-session.
    The triggering chunk still reaches the server (so a statement in it runs; only the
    answer never comes back). `frozen_connections` connections freeze, later ones pass
    through (the freeze is the same on all of them with None). Real sockets, no mocks."""

    def __init__(self, cluster, freeze_on, frozen_connections=None):
        import socket
        self.cluster = cluster
        self.freeze_on = freeze_on
        self.frozen_left = frozen_connections
        self.frozen = 0  # connections frozen so far
        self.accepted = 0
        self._lock = threading.Lock()
        self._sockets = []
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port = self._listener.getsockname()[1]
        self._closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def dsn(self):
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    def _accept(self):
        import socket
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.cluster.port))
            with self._lock:
                self.accepted += 1
                freezes = self.frozen_left is None or self.frozen_left > 0
                if self.frozen_left is not None and freezes:
                    self.frozen_left -= 1
                self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, freezes),
                             daemon=True).start()

    def _pump(self, client, upstream, freezes):
        import select
        seen = b""
        while not self._closing:
            try:
                readable, _, _ = select.select([client, upstream], [], [], 0.2)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    other = upstream if sock is client else client
                    other.sendall(data)
                    if sock is client and freezes:
                        seen = (seen + data)[-65536:]
                        if self.freeze_on in seen:
                            with self._lock:
                                self.frozen += 1
                            return  # forward nothing more; the sockets stay open
            except OSError:
                return

    def close(self):
        self._closing = True
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                try:
                    sock.close()
                except OSError:
                    pass
