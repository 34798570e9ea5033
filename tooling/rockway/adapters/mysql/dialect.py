"""The MySQL/MariaDB dialect: transactional loads, LOAD DATA, `#` comments, views standing in for MVs."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from rockway.config import Dsn
from rockway.adapters.base import Adapter, quote_ident, quote_string
from rockway.adapters.bulk import BulkTarget
from rockway.adapters.connection import Timeouts
from rockway.adapters.dialect import EngineDialect
from rockway.adapters.introspection import Introspection
from rockway.adapters.job_ops import JobOps
from rockway.adapters.mysql.base import MySQLAdapter
from rockway.adapters.mysql.bulk import MySQLBulk
from rockway.adapters.mysql.introspection import MySQLIntrospection
from rockway.adapters.mysql.jobs import MySQLJobOps


class MySQL(EngineDialect):
    """MySQL and MariaDB (the engine every local test and rehearsal runs against)."""

    name = MySQLAdapter.engine
    dsn_schemes = ("mysql", "mariadb")
    features = MySQLAdapter.capabilities
    hash_comments = MySQLAdapter.hash_comments

    def adapter(self, conn: Any, dsn: Dsn, timeouts: Timeouts, server_version: str) -> Adapter:
        return MySQLAdapter(conn, dsn, timeouts, server_version)

    def job_ops(self, adapter: Adapter | None) -> JobOps:
        return MySQLJobOps(adapter)

    def bulk_target(self, adapter: Adapter, *, timeout: float = 600.0, poll_interval: float = 2.0,
                    sleep: Callable[[float], None] | None = None) -> BulkTarget:
        return MySQLBulk(adapter, timeout=timeout, poll_interval=poll_interval, sleep=sleep)

    def introspection(self, adapter: Adapter) -> Introspection:
        return MySQLIntrospection(adapter)

    def materialized_view_sql(self, database: str | None, name: str, query: str, *, refresh: str = "MANUAL",
                              partition_by: str | None = None, distributed_by: str | Sequence[str] | None = None,
                              order_by: str | Sequence[str] | None = None, properties: Mapping[str, Any] | None = None,
                              comment: str = "", replication_num: Any = None) -> list[str]:
        """A plain view of the same name and columns (always fresh), so the warehouse's queries and RLS views run
        unchanged in the dev rehearsal; the refresh, layout and properties mean nothing here."""
        where = f"{quote_ident(database)}.{quote_ident(name)}" if database else quote_ident(name)
        return [f"-- MariaDB has no materialized views: a view of the same name and columns stands in.\n"
                f"CREATE OR REPLACE VIEW {where} AS\n{query}"]

    def principal_conditions(self, roles: Sequence[str]) -> list[str]:
        """The calling user, and the listed roles granted to it directly.

        The view is `SQL SECURITY DEFINER` (secure_view_statements), and inside such a view `CURRENT_USER()` and
        `CURRENT_ROLE()` describe the DEFINER, not the caller; `USER()` is still the caller (`alice@client-host`),
        so the user name is `SUBSTRING_INDEX(USER(), '@', 1)`. The caller's active role is not visible in DEFINER
        context either, so a ROLE entitlement applies when the role is granted directly to the caller
        (`mysql.roles_mapping`), active or not. That table is MariaDB's; MySQL 8 keeps role grants in
        `mysql.role_edges`, so this rendering is for MariaDB.
        """
        conditions = ["(e.`principal_type` = 'USER' AND e.`principal_name` = SUBSTRING_INDEX(USER(), '@', 1))"]
        if roles:
            listed = ", ".join(quote_string(r) for r in roles)
            conditions.append(
                f"(e.`principal_type` = 'ROLE' AND e.`principal_name` IN ({listed})\n"
                "             AND e.`principal_name` IN (SELECT m.`Role` FROM mysql.roles_mapping AS m\n"
                "                                        WHERE m.`User` = SUBSTRING_INDEX(USER(), '@', 1)"
                " AND m.`Host` <> ''))")
        return conditions

    def secure_view_statements(self, view: str, body: str, *, comment: str, grant_to: Sequence[str],
                               server_version: str | None) -> list[str]:
        """MariaDB views have no COMMENT; DEFINER makes the base readable through the view only."""
        return ([f"CREATE OR REPLACE SQL SECURITY DEFINER VIEW {view} AS\n{body}"]
                + [f"GRANT SELECT ON {view} TO {quote_ident(r)}" for r in grant_to])
