"""The README's first command, `scripts/run.sh`, run as a newcomer runs it: without a
terminal and in one (a pseudo-terminal, where Ctrl-C is the byte 0x03 that the terminal
turns into SIGINT for the whole foreground process group), to its end and interrupted.

Each run must show the staged incident (the tree with the staged pids in chain order,
the chain metrics, the dry-run policy decision) and leave nothing behind: no process of
its session, none that mentions its temp dir or its cluster's port, and no temp dir."""

import os
import pty
import re
import select
import signal
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN = [str(ROOT / "scripts" / "run.sh")]
DEADLINE = 300  # seconds for one run; it builds (a no-op once built) before the demo
STAGED_APPS = ["api", "migrate", "migrate2", "api-read"]


class Run:
    """scripts/run.sh in its own session, read line by line, with or without a terminal."""

    def __init__(self, args, terminal):
        self.output = ""
        self.terminal = terminal
        if terminal:
            self.pid, self.fd = pty.fork()
            if self.pid == 0:
                os.chdir(ROOT)
                os.execv(RUN[0], RUN + args)
        else:
            self.proc = subprocess.Popen(RUN + args, cwd=ROOT, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                         start_new_session=True)
            self.pid, self.fd = self.proc.pid, self.proc.stdout.fileno()
        self.deadline = time.monotonic() + DEADLINE

    def read_until(self, pattern):
        """Reads until `pattern` appears (True) or the output ends (False)."""
        while not re.search(pattern, self.output, re.M):
            if not self._read_some():
                return False
        return True

    def _read_some(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            self.kill()
            raise AssertionError("run.sh still running after %ds:\n%s" % (DEADLINE, self.output))
        ready, _, _ = select.select([self.fd], [], [], left)
        if not ready:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the terminal's other side has closed
            data = b""
        self.output += data.decode(errors="replace").replace("\r\n", "\n")
        return bool(data)

    def kill(self):
        """Ends a run that hangs (its session's process group; what it detached stays)."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def ctrl_c(self):
        os.write(self.fd, b"\x03")

    def close_stdout(self):
        self.proc.stdout.close()
        self.fd = None

    def finish(self):
        """Reads to the end of the output and returns the exit status."""
        if self.fd is not None:
            while self._read_some():
                pass
        if self.terminal:
            _, status = os.waitpid(self.pid, 0)
            os.close(self.fd)
            return os.waitstatus_to_exitcode(status)
        return self.proc.wait(timeout=max(1, self.deadline - time.monotonic()))


def processes():
    """pid -> (session id, command line, environment) of every process we can read."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            environ = (entry / "environ").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z":
            out[int(entry.name)] = (int(fields[3]), cmdline, environ)
    return out


def demo_dir(output):
    found = re.search(r"throwaway PostgreSQL in (/\S+)/pg$", output, re.M)
    return found.group(1) if found else None


def cluster_port(output):
    found = re.search(r"watching host=\S+ port=(\d+)", output)
    return found.group(1) if found else None


def assert_nothing_left(run):
    """No process of the run's session, none that names its temp dir or has its cluster's
    port in its environment (the staged psql sessions), and no temp dir."""
    work, port = demo_dir(run.output), cluster_port(run.output)
    assert work, "run.sh did not say where its cluster is:\n" + run.output
    left = []
    for pid, (session, cmdline, environ) in processes().items():
        if session == run.pid or work in cmdline or (port and f"PGPORT={port}" in environ):
            left.append(f"{pid}: {cmdline}")
    assert not left, "left running:\n" + "\n".join(left)
    assert not os.path.exists(work), f"{work} was not removed"


def staged_pids(output):
    pids = {}
    for app in STAGED_APPS:
        found = re.search(rf"^\s+{re.escape(app)} (\d+)$", output, re.M)
        assert found, f"the staged session {app} is not listed:\n{output}"
        pids[app] = found.group(1)
    return [pids[app] for app in STAGED_APPS]


def assert_shows_incident(output):
    pids = staged_pids(output)
    tree = output[output.index("\nblocking chains:"):output.index("the same as JSON")]
    # Each staged session on its own tree line, in chain order, each deeper than the last.
    depths, rows = [], []
    for pid in pids:
        found = re.search(rf"^([ │├└─]*){pid}\b", tree, re.M)
        assert found, f"pid {pid} is not in the tree:\n{tree}"
        rows.append(found.start())
        depths.append(len(found.group(1)))
    assert rows == sorted(rows) and depths == sorted(set(depths)), f"not in chain order:\n{tree}"
    assert re.search(r"^pg_lockwatch_max_chain_length 4$", output, re.M), output
    assert re.search(r"^pg_lockwatch_blocked_backends 3$", output, re.M), output
    assert re.search(rf'^pg_lockwatch_root_blocker_blocked_backends\{{.*pid="{pids[0]}".*\}} 3$',
                     output, re.M), output
    decision = re.search(r"^.*policy action:.*$", output, re.M)
    assert decision, "no policy decision:\n" + output
    assert "outcome=dry_run" in decision.group(0) and f"pid={pids[0]}" in decision.group(0)


@pytest.mark.parametrize("terminal", [False, True], ids=["no-terminal", "terminal"])
def test_seconds_runs_to_the_end_and_cleans_up(terminal):
    run = Run(["--seconds", "5"], terminal)
    status = run.finish()
    assert status == 0, run.output
    assert_shows_incident(run.output)
    assert "running for 5s more" in run.output
    assert_nothing_left(run)


def test_ctrl_c_in_a_terminal_stops_and_cleans_up():
    run = Run([], terminal=True)
    assert run.read_until(r"Ctrl-C stops and removes everything"), run.output
    run.ctrl_c()
    assert run.finish() == 0, run.output
    assert_shows_incident(run.output)
    assert_nothing_left(run)


def test_ctrl_c_while_staging_stops_and_cleans_up():
    run = Run([], terminal=True)
    assert run.read_until(r"^== staging the seed incident"), run.output
    run.ctrl_c()
    assert run.finish() == 128 + signal.SIGINT, run.output  # stopped before it was shown
    assert_nothing_left(run)


def test_sigterm_without_a_terminal_stops_and_cleans_up():
    run = Run([], terminal=False)
    assert run.read_until(r"Ctrl-C stops and removes everything"), run.output
    os.kill(run.pid, signal.SIGTERM)
    assert run.finish() == 0, run.output
    assert_nothing_left(run)


def test_a_reader_that_goes_away_ends_the_demo_and_cleans_up():
    run = Run(["--seconds", "600"], terminal=False)
    assert run.read_until(r"^== the blocking tree"), run.output
    run.close_stdout()  # like `scripts/run.sh | head`
    assert run.finish() == 0  # a running demo that is stopped ends well
    assert_nothing_left(run)
