"""Template globals for SQL macro libraries: `rls`, `mv` and `fail`.

Registered through `extensions.register_globals`, built per settings and engine:

    {{ rls.secure_view(name=secure_db ~ '.v_sales', base=dw_db ~ '.v_sales_enriched', key='region_code',
                       scope='region', entitlement=dw_db ~ '.rls_entitlement', roles=rls_roles,
                       grant_to=[role_prefix ~ 'analyst'], comment='…') }}
        -> CREATE OR REPLACE VIEW … (+ GRANTs), see macros/rls.py. `starrocks_version` (a template variable)
           decides whether StarRocks gets the SECURITY NONE clause (3.4.1+); `roles` defaults to `rls_roles`.

    {% call mv.materialized_view(name=dw_db ~ '.mv_sales_daily', refresh='ASYNC EVERY (INTERVAL 1 HOUR)',
                                 max_staleness='2h', partition_by='billing_date',
                                 distributed_by=['billing_date']) %}
      SELECT …
    {% endcall %}
        -> StarRocks: create-if-missing placeholder, build `<name>__new`, SWAP, drop (see macros/mv.py);
           MariaDB: CREATE OR REPLACE VIEW. `replication_num` defaults to the template variable of that name.
           The query may also be passed as query='…' instead of a call block.

    {{ fail('message') }}  stops rendering with an input error naming the script and line.

Each macro's output ends with ';' after every statement; write no ';' after the call.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from rockway import extensions, templating
from rockway.config import Settings
from rockway.macros.mv import STALENESS_DIRECTIVE, materialized_view_sql
from rockway.macros.rls import secure_view_sql

__all__ = ["Rls", "Mv", "fail"]


def fail(message: str) -> str:
    """Raise from a template: rendering stops with an input error naming the script and line."""
    raise ValueError(str(message))


class Rls:
    """The `rls` template global."""

    def __init__(self, engine: str, variables: Mapping[str, Any]) -> None:
        self.engine = engine
        self.variables = variables

    def secure_view(self, *, name: str, base: str, key: str, entitlement: str, scope: str | None = None,
                    roles: Any = None, columns: Any = None, grant_to: Any = (), comment: str = "") -> str:
        """A row-level-security view over `base` (see macros/rls.py secure_view_sql)."""
        return secure_view_sql(self.engine, name=name, base=base, key=key, entitlement=entitlement, scope=scope,
                               roles=self.variables.get("rls_roles", ()) if roles is None else roles,
                               columns=columns, grant_to=grant_to, comment=comment,
                               starrocks_version=self.variables.get("starrocks_version"))


class Mv:
    """The `mv` template global."""

    def __init__(self, engine: str, variables: Mapping[str, Any]) -> None:
        self.engine = engine
        self.variables = variables

    def materialized_view(self, *, name: str, query: str | None = None, refresh: str = "MANUAL",
                          partition_by: str | None = None, distributed_by: Any = None, order_by: Any = None,
                          properties: Mapping[str, Any] | None = None, comment: str = "",
                          max_staleness: Any = None, replication_num: Any = None,
                          caller: Callable[[], str] | None = None) -> str:
        """Create or redefine a materialized view (see macros/mv.py materialized_view_sql)."""
        if (query is None) == (caller is None):
            raise ValueError(f"mv.materialized_view({name}): give the query either as query='…' or as a call block")
        text = query if query is not None else str(caller())  # type: ignore[misc]
        return materialized_view_sql(
            self.engine, name=name, query=text, refresh=refresh, partition_by=partition_by,
            distributed_by=distributed_by, order_by=order_by, properties=properties, comment=comment,
            max_staleness=max_staleness,
            replication_num=self.variables.get("replication_num") if replication_num is None else replication_num)


def _globals(settings: Settings, engine: str) -> dict[str, Any]:
    variables = dict(settings.vars)
    return {"rls": Rls(engine, variables), "mv": Mv(engine, variables), "fail": fail}


extensions.register_globals(_globals)
# `-- rockway:mv_max_staleness=<seconds>` (any value) is what mv.materialized_view writes for `rockway mv status`.
templating.DIRECTIVES.setdefault(STALENESS_DIRECTIVE, frozenset())
