"""MySQL / MariaDB SHOW CREATE output normalised for schema files and drift (rockway/adapters/mysql/introspection.py),
without a server (the StarRocks rules: tests/unit/test_schema_starrocks_normalize.py; dumps of the real MariaDB:
tests/mariadb/test_schema_files.py)."""

from __future__ import annotations

from rockway.adapters.mysql.introspection import normalize_mysql_ddl


def test_mysql_normaliser_drops_counters_definer_and_default_algorithm() -> None:
    table = ("CREATE TABLE `t` (\n  `id` int(11) NOT NULL AUTO_INCREMENT,\n  PRIMARY KEY (`id`)\n"
             ") ENGINE=InnoDB AUTO_INCREMENT=43 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin   ")
    assert normalize_mysql_ddl("table", table) == (
        "CREATE TABLE `t` (\n  `id` int(11) NOT NULL AUTO_INCREMENT,\n  PRIMARY KEY (`id`)\n"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin")
    view = ("CREATE ALGORITHM=UNDEFINED DEFINER=`deployer`@`%` SQL SECURITY INVOKER VIEW `v` AS select 1 AS `x`;")
    assert normalize_mysql_ddl("view", view) == "CREATE SQL SECURITY INVOKER VIEW `v` AS select 1 AS `x`"
    merge = "CREATE ALGORITHM=MERGE DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW `v` AS select 1 AS `x`"
    assert normalize_mysql_ddl("view", merge) == "CREATE ALGORITHM=MERGE SQL SECURITY DEFINER VIEW `v` AS select 1 AS `x`"
