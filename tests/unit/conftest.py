"""tests/unit: tests that need no server. A test here that asks for the MariaDB server (directly or through a
fixture built on it: db_dsn, sql, project, cli, jw) errors at set-up, naming the fixture and where the test belongs,
before anything connects; so `python3 -m pytest tests/unit` passes on a machine without a database."""

from __future__ import annotations

import pytest

from tests.conftest import SERVER_FIXTURE


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if SERVER_FIXTURE in getattr(item, "fixturenames", ()):
        pytest.fail(f"{item.nodeid} needs no server by where it lives (tests/unit) but asks for {SERVER_FIXTURE}: "
                    "move it to tests/mariadb", pytrace=False)
