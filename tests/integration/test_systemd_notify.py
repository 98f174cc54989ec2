"""sd_notify as systemd would see it: the daemon runs with NOTIFY_SOCKET pointing at a
datagram socket this test owns, and READY, STATUS, WATCHDOG, RELOADING and STOPPING
arrive when they should."""

import os
import signal
import socket
import threading
import time

from lockwatch_harness import FreezingProxy, create_app_user, stage_seed_incident, wait_for


class NotifySocket:
    """The datagram socket systemd would listen on; a thread reads it as messages arrive,
    so each is stamped with when it came."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.05)
        self.messages = []
        self.arrivals = []  # monotonic time each message arrived
        self._lock = threading.Lock()
        self._open = True
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        while self._open:
            try:
                message = self.sock.recv(4096).decode()
            except (socket.timeout, BlockingIOError):
                continue
            except OSError:
                return
            with self._lock:
                self.messages.append(message)
                self.arrivals.append(time.monotonic())

    def drain(self):
        with self._lock:
            return list(self.messages)

    def watchdog_gaps(self, since):
        """Seconds between `since` (monotonic), each WATCHDOG=1 after it, and now: the
        longest is how long systemd would have waited."""
        with self._lock:
            times = [t for m, t in zip(self.messages, self.arrivals)
                     if "WATCHDOG=1" in m and t > since]
        times = [since] + times + [time.monotonic()]
        return [b - a for a, b in zip(times, times[1:])]

    def seen(self, text):
        return any(text in m for m in self.drain())

    def close(self):
        self._open = False
        self._reader.join()
        self.sock.close()


def test_notify_protocol(start_daemon, cluster, sessions, tmp_path):
    notify = NotifySocket(os.path.join(str(tmp_path), "notify.sock"))
    try:
        user = create_app_user(cluster)
        stage_seed_incident(cluster, sessions, user=user)
        daemon = start_daemon(env={"NOTIFY_SOCKET": notify.path})

        wait_for(lambda: notify.seen("READY=1"), what="READY=1")
        wait_for(lambda: notify.seen("STATUS=up, 3 blocked, longest chain 4"), what="STATUS")
        watchdogs = sum("WATCHDOG=1" in m for m in notify.drain())
        wait_for(lambda: sum("WATCHDOG=1" in m for m in notify.drain()) >= watchdogs + 3,
                 what="WATCHDOG=1 after each poll")

        daemon.signal(signal.SIGHUP)
        wait_for(lambda: notify.seen("RELOADING=1"), what="RELOADING=1")
        reload_at = max(i for i, m in enumerate(notify.drain()) if "RELOADING=1" in m)
        wait_for(lambda: any("READY=1" in m for m in notify.drain()[reload_at:]),
                 what="READY=1 after the reload")

        cluster.stop()
        try:
            wait_for(lambda: notify.seen("STATUS=down:"), what="STATUS=down")
        finally:
            cluster.start()

        assert daemon.stop() == 0
        wait_for(lambda: notify.seen("STOPPING=1"), what="STOPPING=1")
    finally:
        notify.close()


# As systemd sets it for WatchdogSec=2s (no WATCHDOG_PID: the watchdog is ours).
WATCHDOG = {"WATCHDOG_USEC": "2000000"}


def test_watchdog_is_fed_between_polls_longer_than_its_period(start_daemon, tmp_path):
    notify = NotifySocket(os.path.join(str(tmp_path), "notify.sock"))
    try:
        daemon = start_daemon('[watch]\ninterval = "5s"\n',
                              env={"NOTIFY_SOCKET": notify.path, **WATCHDOG})
        wait_for(lambda: notify.seen("READY=1"), what="READY=1")
        since = time.monotonic()
        time.sleep(6)  # the observation window: more than one interval, three periods
        gaps = notify.watchdog_gaps(since)
        assert gaps and max(gaps) < 1.5, f"WATCHDOG=1 gaps {gaps} (period 2s, interval 5s)"
        assert daemon.find(r"systemd watchdog: every 2s"), daemon.log()
    finally:
        notify.close()


def test_watchdog_starves_while_a_poll_is_stuck_past_its_deadline(start_daemon, cluster,
                                                                 tmp_path):
    # libpq cannot be interrupted while it connects: six addresses that accept and then
    # say nothing hold the worker for 6 x 2 s, past the deadline (3.5 s) and grace (3 s).
    notify = NotifySocket(os.path.join(str(tmp_path), "notify.sock"))
    proxy = FreezingProxy(cluster, b"")
    try:
        hosts = ",".join(["127.0.0.1"] * 6)
        ports = ",".join([str(proxy.port)] * 6)
        watch = '[watch]\ninterval = "200ms"\nstatement_timeout = "500ms"\nconnect_timeout = "2s"\n'
        daemon = start_daemon(watch, env={"NOTIFY_SOCKET": notify.path, **WATCHDOG},
                              extra_args=["--dsn", f"host={hosts} port={ports} user=postgres "
                                                   "dbname=postgres"])
        since = time.monotonic()
        wait_for(lambda: proxy.frozen >= 6, timeout=20, what="the sixth frozen connect")
        gaps = notify.watchdog_gaps(since)
        assert gaps[:5] and max(gaps[:5]) < 1.5, f"fed while the poll was young: {gaps}"
        assert max(gaps) > 2.0, f"a stuck worker must starve the watchdog: {gaps}"
        assert daemon.find("poll exceeded its deadline")
    finally:
        notify.close()
        proxy.close()
