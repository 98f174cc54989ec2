"""sd_notify as systemd would see it: the daemon runs with NOTIFY_SOCKET pointing at a
datagram socket this test owns, and READY, STATUS, WATCHDOG, RELOADING and STOPPING
arrive when they should."""

import os
import signal
import socket

from lockwatch_harness import create_app_user, stage_seed_incident, wait_for


class NotifySocket:
    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.05)
        self.messages = []

    def drain(self):
        try:
            while True:
                self.messages.append(self.sock.recv(4096).decode())
        except (socket.timeout, BlockingIOError):
            pass
        return self.messages

    def seen(self, text):
        return any(text in m for m in self.drain())

    def close(self):
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
        reload_at = max(i for i, m in enumerate(notify.messages) if "RELOADING=1" in m)
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
