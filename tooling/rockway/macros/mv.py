"""The materialized-view macro (template global `mv.materialized_view`): one call, each engine's deployment.

The engine's dialect writes the statements: on StarRocks a create-if-missing placeholder, a `<name>__new` twin built
with the new definition, a SWAP and a drop (rockway/adapters/starrocks/mv.py explains each step); MySQL/MariaDB have
no MVs, so the same call renders a plain view with the same name and columns (always fresh), and the warehouse's
queries and RLS views run unchanged in the dev rehearsal.

Freshness limits are declared in the macro call (`max_staleness='2h'`), next to the refresh scheme, and travel
with the rendered SQL as the directive `-- rockway:mv_max_staleness=<seconds>` on the first statement;
`rockway mv status` renders the repeatable scripts (no database needed for that) to find them (rockway/mv/status.py).
Declare limits for MVs refreshed on a schedule (ASYNC EVERY …) or by a job (MANUAL): an MV refreshed on base-table
change (bare ASYNC) is not refreshed while its bases do not change, so its age says nothing about staleness.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from rockway.durations import positive_duration
from rockway.adapters.registry import dialect_for

__all__ = ["materialized_view_sql", "STALENESS_DIRECTIVE"]

STALENESS_DIRECTIVE = "mv_max_staleness"

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


def _name_parts(name: str) -> tuple[str | None, str]:
    parts = str(name).split(".")
    if not 1 <= len(parts) <= 2 or not all(_NAME.match(p) for p in parts):
        raise ValueError(f"materialized view name {name!r} is not a plain `db.name` or `name`")
    return (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])


def materialized_view_sql(engine: str, *, name: str, query: str, refresh: str = "MANUAL",
                          partition_by: str | None = None, distributed_by: str | Sequence[str] | None = None,
                          order_by: str | Sequence[str] | None = None, properties: Mapping[str, Any] | None = None,
                          comment: str = "", max_staleness: str | int | float | None = None,
                          replication_num: Any = None) -> str:
    """The statements that create or redefine an MV on `engine` (see the module docstring); each ends with ';'."""
    database, mv = _name_parts(name)
    query = query.strip().rstrip(";").strip()
    if not query:
        raise ValueError(f"materialized view {name}: the query is empty")
    directive = ""
    if max_staleness is not None:
        directive = f"-- rockway:{STALENESS_DIRECTIVE}={positive_duration(max_staleness):g}\n"
    statements = dialect_for(engine).materialized_view_sql(
        database, mv, query, refresh=refresh, partition_by=partition_by, distributed_by=distributed_by,
        order_by=order_by, properties=properties, comment=comment, replication_num=replication_num)
    statements[0] = directive + statements[0]
    return "".join(f"{s};\n" for s in statements).rstrip("\n")
