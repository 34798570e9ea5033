"""tests/mariadb: tests that need the MariaDB server of ROCKWAY_TEST_DSN (fixtures in tests/conftest.py). Each test
here carries the `mariadb` marker, also the few that reach the server without those fixtures, so
`python3 -m pytest -m "not mariadb"` runs the rest of the suite without a server."""

from __future__ import annotations

import pytest


def pytest_itemcollected(item: pytest.Item) -> None:
    item.add_marker(pytest.mark.mariadb)
