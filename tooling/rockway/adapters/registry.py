"""The engines rockway speaks, by name: the one module that imports the engine packages.

Importing adapters/starrocks/dialect.py and adapters/mysql/dialect.py registers their dialects
(EngineDialect.__init_subclass__); everything here looks an engine up by name (an adapter's `engine`, a DSN's
scheme, `--engine`), so nothing outside adapters/ needs to know which engines there are.
"""

from __future__ import annotations

from typing import Callable

from rockway.errors import ConfigError
from rockway.adapters.base import Adapter, Capabilities
from rockway.adapters.bulk import BulkTarget
from rockway.adapters.dialect import EngineDialect, MaterializedViewCatalog
from rockway.adapters.introspection import Introspection
from rockway.adapters.job_ops import JobOps
from rockway.adapters.mysql.dialect import MySQL
from rockway.adapters.starrocks.dialect import StarRocks

__all__ = ["dialect_for", "engine_names", "engine_named_by", "engine_for_dsn", "engine_capabilities", "job_ops",
           "offline_ops", "bulk_target", "introspection", "materialized_views", "DEFAULT_ENGINE", "ENGINES"]

ENGINES: tuple[type[EngineDialect], ...] = (StarRocks, MySQL)  # imported, so registered
DEFAULT_ENGINE = StarRocks.name  # what rockway renders for when no DSN names an engine


def engine_names() -> tuple[str, ...]:
    """The registered engines' names, sorted."""
    return tuple(sorted(EngineDialect.registered))


def dialect_for(engine: str) -> EngineDialect:
    """The dialect of an engine by name (`starrocks`, `mysql`); ConfigError for an engine rockway does not speak."""
    try:
        return EngineDialect.registered[engine]
    except KeyError:
        raise ConfigError(f"unknown engine {engine!r}: rockway speaks {' and '.join(engine_names())}") from None


def engine_named_by(dsn: str | None) -> str | None:
    """The engine a DSN's scheme names (`mysql://` and `mariadb://` name mysql), or None without a DSN or for a
    scheme no dialect claims; the rest of the DSN is neither read nor validated, and nothing connects."""
    scheme = (dsn or "").partition("://")[0].strip().lower()
    return next((d.name for d in EngineDialect.registered.values() if scheme in d.dsn_schemes), None)


def engine_for_dsn(dsn: str | None) -> str:
    """The engine to render for: the one the DSN's scheme names, else DEFAULT_ENGINE."""
    return engine_named_by(dsn) or DEFAULT_ENGINE


def engine_capabilities(engine: str) -> Capabilities:
    """What a script rendered for `engine` may rely on, without a connection (lint judges a rendering by them)."""
    return dialect_for(engine).features


def job_ops(adapter: Adapter) -> JobOps:
    """The job runner's operations for this connection's engine."""
    return dialect_for(adapter.engine).job_ops(adapter)


def offline_ops(engine: str) -> JobOps:
    """Job operations that only render SQL for `engine`."""
    return dialect_for(engine).job_ops(None)


def bulk_target(adapter: Adapter, *, timeout: float = 600.0, poll_interval: float = 2.0,
                sleep: Callable[[float], None] | None = None) -> BulkTarget:
    """Staged bulk loads for this connection's engine."""
    return dialect_for(adapter.engine).bulk_target(adapter, timeout=timeout, poll_interval=poll_interval, sleep=sleep)


def introspection(adapter: Adapter) -> Introspection:
    """The catalog reader for this connection's engine."""
    return dialect_for(adapter.engine).introspection(adapter)


def materialized_views(adapter: Adapter) -> MaterializedViewCatalog | None:
    """The connection's materialized views, or None when its engine has none (no query is sent)."""
    return dialect_for(adapter.engine).materialized_views(adapter)
