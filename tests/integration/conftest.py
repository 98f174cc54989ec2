import os
import tempfile

import pytest

from lockwatch_harness import Cluster, Daemon, Sessions, write_config


@pytest.fixture(scope="session")
def cluster():
    """The shared throwaway cluster: the one CTest's fixture started, or our own."""
    shared = os.environ.get("LOCKWATCH_TEST_CLUSTER_DIR")
    if shared and os.path.exists(os.path.join(shared, "port")):
        c = Cluster(shared)
        c.adopt()
        yield c
        return
    c = Cluster(tempfile.mkdtemp(prefix="lockwatch-pg-"))
    c.start()
    yield c
    c.destroy()


@pytest.fixture
def sessions(cluster):
    s = Sessions(cluster)
    yield s
    s.close()


@pytest.fixture
def start_daemon(cluster, tmp_path):
    """Starts the daemon on the cluster with `config` (TOML without [database])."""
    daemons = []

    def start(config="", extra_args=(), env=None, listen="127.0.0.1:0"):
        watch = "" if "[watch]" in config else '[watch]\ninterval = "200ms"\n'
        text = f'[database]\ndsn = "{cluster.dsn}"\n' + watch + config
        daemon = Daemon(write_config(tmp_path, text), extra_args, env, listen)
        daemons.append(daemon)
        return daemon

    yield start
    for d in daemons:
        d.stop()


@pytest.fixture
def pgbouncer(cluster):
    """A real pgbouncer (session pooling) in front of the test cluster; skips when absent
    (scripts/install-deps.sh --test installs it)."""
    from lockwatch_harness import PGBOUNCER, Pgbouncer
    if PGBOUNCER is None:
        pytest.skip("pgbouncer is not installed (scripts/install-deps.sh --test)")
    bouncer = Pgbouncer(cluster)
    yield bouncer
    bouncer.stop()
