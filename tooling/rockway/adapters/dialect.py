"""One dialect object per engine, registered by name: what code outside adapters/ asks instead of "is this StarRocks".

Modelled on Alembic's DefaultImpl (one subclass per database, registered by a class attribute, here `name`) and on
Django's database backends (`features`: capability flags; operations; introspection). Each engine package defines
its subclass in dialect.py (adapters/starrocks/dialect.py, adapters/mysql/dialect.py); adapters/registry.py imports
them and answers `dialect_for(engine)`. This module and the other base modules never import an engine package.
"""

from __future__ import annotations

import abc
from typing import Any, Callable, ClassVar, Mapping, Protocol, Sequence

from rockway import extensions
from rockway.config import Dsn
from rockway.adapters.base import Adapter, Capabilities, StatementResult, quote_string
from rockway.adapters.bulk import BulkTarget
from rockway.adapters.connection import Timeouts
from rockway.adapters.introspection import Introspection
from rockway.adapters.job_ops import JobOps


class MaterializedViewCatalog(Protocol):
    """An engine's asynchronous materialized views as rockway/mv/ reads them (rows keyed by upper-case column name)."""

    def columns(self) -> tuple[str, ...]: ...

    def now(self) -> Any: ...

    def last_success(self, task_name: str) -> Any: ...

    def activate(self, database: str | None, name: str) -> StatementResult: ...

    def refresh(self, database: str | None, name: str) -> StatementResult: ...

    def list(self, databases: Sequence[str] = ()) -> list[dict[str, Any]]: ...


class EngineDialect(abc.ABC):
    """One engine: its capability flags, lexer flags, adapter, job operations, bulk loader, catalog readers and the
    SQL of the warehouse macros (materialized views, secure views)."""

    name: ClassVar[str] = ""  # the registry key, the engine name adapters report (Adapter.engine)
    dsn_schemes: ClassVar[tuple[str, ...]] = ()  # DSN schemes that name this engine
    features: ClassVar[Capabilities] = Capabilities()
    hash_comments: ClassVar[bool] = False  # lexer flag: `#` starts a comment (sqlsplit.split)
    registered: ClassVar[dict[str, EngineDialect]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("name"):
            EngineDialect.registered[cls.name] = cls()
            extensions.register_lexer_flags(cls.name, hash_comments=cls.hash_comments)  # the templates' splitter asks

    # --- connections and engine operations ------------------------------------------------------------
    @abc.abstractmethod
    def adapter(self, conn: Any, dsn: Dsn, timeouts: Timeouts, server_version: str) -> Adapter:
        """The adapter over an open connection to a server of this engine."""

    @abc.abstractmethod
    def job_ops(self, adapter: Adapter | None) -> JobOps:
        """The job runner's operations over `adapter`; without one they only render SQL."""

    @abc.abstractmethod
    def bulk_target(self, adapter: Adapter, *, timeout: float = 600.0, poll_interval: float = 2.0,
                    sleep: Callable[[float], None] | None = None) -> BulkTarget:
        """Staged bulk loads into this engine."""

    @abc.abstractmethod
    def introspection(self, adapter: Adapter) -> Introspection:
        """The catalog reader for schema files and drift."""

    def materialized_views(self, adapter: Adapter) -> MaterializedViewCatalog | None:
        """The adapter's materialized views, or None for an engine without them (no query is sent)."""
        return None

    # --- warehouse macros (rockway/macros/) -----------------------------------------------------------
    @abc.abstractmethod
    def materialized_view_sql(self, database: str | None, name: str, query: str, *, refresh: str = "MANUAL",
                              partition_by: str | None = None, distributed_by: str | Sequence[str] | None = None,
                              order_by: str | Sequence[str] | None = None, properties: Mapping[str, Any] | None = None,
                              comment: str = "", replication_num: Any = None) -> list[str]:
        """The statements (without ';') that create or redefine materialized view `database.name` as `query`."""

    def secure_view_sql(self, *, view: str, base: str, key: str, entitlement: str, scope: str, select: str,
                        roles: Sequence[str], grant_to: Sequence[str], comment: str = "",
                        server_version: str | None = None) -> list[str]:
        """The statements (without ';') of a row-level-security view: `select` (quoted columns of alias b, or b.*)
        of `base` whose `key` value the querying principal is entitled to in `entitlement` for `scope`
        (rockway/macros/rls.py); names come quoted, `roles` and `grant_to` as validated plain names."""
        matches = "\n        OR ".join(self.principal_conditions(roles))
        body = (f"SELECT {select}\n"
                f"FROM {base} AS b\n"
                f"WHERE b.{key} IN (\n"
                f"    SELECT e.`scope_value`\n"
                f"    FROM {entitlement} AS e\n"
                f"    WHERE e.`scope` = {quote_string(scope)}\n"
                f"      AND ({matches})\n"
                f")")
        return self.secure_view_statements(view, body, comment=comment, grant_to=grant_to,
                                           server_version=server_version)

    @abc.abstractmethod
    def principal_conditions(self, roles: Sequence[str]) -> list[str]:
        """The OR-ed conditions that match an entitlement row `e` to the querying principal."""

    @abc.abstractmethod
    def secure_view_statements(self, view: str, body: str, *, comment: str, grant_to: Sequence[str],
                               server_version: str | None) -> list[str]:
        """CREATE OR REPLACE the view `view` AS `body`, then GRANT SELECT on it to each role of `grant_to`."""
