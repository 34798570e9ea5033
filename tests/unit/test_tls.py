"""TLS settings of a DSN (`ssl_mode`, `ssl_ca`) without a server: parsing and the settings that override them
(connections to TLS and plain MariaDB servers: tests/mariadb/test_tls_mariadb.py)."""

from __future__ import annotations

import pytest

from rockway.config import parse_dsn
from rockway.errors import ConfigError


def test_dsn_options_parse_and_settings_override_them() -> None:
    dsn = parse_dsn("starrocks://u@fe:9030/db?ssl_mode=VERIFY_CA&ssl_ca=%2Fetc%2Fsr%2Fca.pem&http_port=8030")
    assert (dsn.ssl_mode, dsn.ssl_ca, dsn.http_port) == ("verify_ca", "/etc/sr/ca.pem", 8030)
    assert parse_dsn("mysql://u@h/db").ssl_mode == "preferred"
    assert dsn.with_tls("required", None).ssl_mode == "required"
    assert dsn.with_tls(None, "/other.pem").ssl_ca == "/other.pem"
    assert "ca.pem" not in str(dsn)
    with pytest.raises(ConfigError, match="not supported"):
        parse_dsn("mysql://u@h/db?sslmode=require")
