"""The StarRocks dialect: asynchronous DDL, labelled loads, Stream Load, materialized views, SECURITY NONE views."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from rockway.config import Dsn
from rockway.adapters.base import Adapter, quote_ident, quote_string
from rockway.adapters.bulk import BulkTarget
from rockway.adapters.connection import Timeouts
from rockway.adapters.dialect import EngineDialect, MaterializedViewCatalog
from rockway.adapters.introspection import Introspection
from rockway.adapters.job_ops import JobOps
from rockway.adapters.starrocks.base import StarRocksAdapter
from rockway.adapters.starrocks.introspection import StarRocksIntrospection
from rockway.adapters.starrocks.jobs import StarRocksJobOps
from rockway.adapters.starrocks.mv import deploy_statements, materialized_views
from rockway.adapters.starrocks.sql import version_at_least
from rockway.adapters.starrocks.stream_load import StarRocksBulk

# `SECURITY NONE` on a view parses from 3.4.1; older releases behave that way without the clause.
SECURITY_CLAUSE_SINCE = (3, 4, 1)


class StarRocks(EngineDialect):
    """StarRocks over the MySQL protocol (FE query port, default 9030)."""

    name = StarRocksAdapter.engine
    dsn_schemes = ("starrocks",)
    features = StarRocksAdapter.capabilities
    hash_comments = StarRocksAdapter.hash_comments

    def adapter(self, conn: Any, dsn: Dsn, timeouts: Timeouts, server_version: str) -> Adapter:
        return StarRocksAdapter(conn, dsn, timeouts, server_version)

    def job_ops(self, adapter: Adapter | None) -> JobOps:
        return StarRocksJobOps(adapter)

    def bulk_target(self, adapter: Adapter, *, timeout: float = 600.0, poll_interval: float = 2.0,
                    sleep: Callable[[float], None] | None = None) -> BulkTarget:
        return StarRocksBulk(adapter, timeout=timeout, poll_interval=poll_interval, sleep=sleep)

    def introspection(self, adapter: Adapter) -> Introspection:
        return StarRocksIntrospection(adapter)

    def materialized_views(self, adapter: Adapter) -> MaterializedViewCatalog | None:
        return materialized_views(adapter)

    def materialized_view_sql(self, database: str | None, name: str, query: str, *, refresh: str = "MANUAL",
                              partition_by: str | None = None, distributed_by: str | Sequence[str] | None = None,
                              order_by: str | Sequence[str] | None = None, properties: Mapping[str, Any] | None = None,
                              comment: str = "", replication_num: Any = None) -> list[str]:
        return deploy_statements(database, name, query, refresh=refresh, partition_by=partition_by,
                                 distributed_by=distributed_by, order_by=order_by, properties=properties,
                                 comment=comment, replication_num=replication_num)

    def principal_conditions(self, roles: Sequence[str]) -> list[str]:
        """The querying user and the listed roles active in the session.

        `current_user()` returns the identity quoted, `'alice'@'%'` (tests/project/test_warehouse_macros.py), so the user
        name is `split_part(current_user(), '\\'', 2)`. A view is expanded in the querying session, so this is the
        querying user. Roles: `is_role_in_session('r')` (3.1.4+, counts nested roles) takes a string literal only
        (the analyzer rejects a column: "IS_ROLE_IN_SESSION currently only supports constant parameters"), so a
        policy lists the roles it honours and gets one constant test per role; entitlement rows of other roles are
        ignored.
        """
        conditions = ["(e.`principal_type` = 'USER' AND e.`principal_name` = split_part(current_user(), '\\'', 2))"]
        conditions += [f"(e.`principal_type` = 'ROLE' AND e.`principal_name` = {quote_string(r)} "
                       f"AND is_role_in_session({quote_string(r)}))" for r in roles]
        return conditions

    def secure_view_statements(self, view: str, body: str, *, comment: str, grant_to: Sequence[str],
                               server_version: str | None) -> list[str]:
        """`SECURITY NONE`: SELECT on the view suffices (3.4.1+). Before 3.4.1 the clause does not parse and that
        behaviour is the only one, so the clause is left out for an older (or unknown) `server_version`."""
        head = f"CREATE OR REPLACE VIEW {view}"
        if comment:
            head += f"\nCOMMENT {quote_string(str(comment))}"
        if version_at_least(server_version, SECURITY_CLAUSE_SINCE):
            head += "\nSECURITY NONE"
        return [f"{head}\nAS\n{body}"] + [f"GRANT SELECT ON VIEW {view} TO ROLE {quote_ident(r)}" for r in grant_to]
