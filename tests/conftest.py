"""Puts ``tests/`` on ``sys.path`` so every test directory can import ``testkit`` (helpers shared by
the runtime, daemon CLI and HTTP API suites)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


# --------------------------------------------------------------------------- PostgreSQL
import hashlib  # noqa: E402

import pytest  # noqa: E402

POSTGRES_ENV = "GOFLOW_TEST_POSTGRES"


def postgres_opted_out() -> bool:
    return os.environ.get(POSTGRES_ENV, "").strip().lower() in ("0", "no", "false", "off")


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL server for the whole session (goflow.pgserver.ThrowawayServer: initdb into a
    temporary directory, 127.0.0.1 on a free port, stopped and removed at the end). A test that needs
    it FAILS when it cannot start -- unless GOFLOW_TEST_POSTGRES=0, then it skips saying so."""
    if postgres_opted_out():
        pytest.skip(f"PostgreSQL tests skipped: {POSTGRES_ENV}=0 is set")
    from goflow.pgserver import ThrowawayServer
    server = ThrowawayServer(fsync=False)
    try:
        server.start()
    except Exception as exc:
        pytest.fail(f"cannot start a PostgreSQL server for the tests ({exc}); install the 'postgresql' "
                    f"package or set {POSTGRES_ENV}=0 to skip these tests", pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server, request):
    """A fresh, empty database on the session's server, for this test alone."""
    name = "t_" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:16]
    return pg_server.create_database(name)
