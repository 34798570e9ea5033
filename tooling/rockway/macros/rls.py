"""Row-level security through secure views, for StarRocks and MySQL/MariaDB (pure: returns SQL text).

Open-source StarRocks has no row access policies (those are CelerData's, or Apache Ranger's through a plugin), so
a policy is a view: it keeps the rows of a base relation whose key value the querying principal is entitled to in
an entitlement table, and users are granted the view, never the base.

The entitlement table has (at least) these columns, one row per principal and value:

    principal_type  'USER' or 'ROLE'
    principal_name  a user name without host ('alice'), or a role name
    scope           what the value restricts ('region', 'sales_group_code', …)
    scope_value     a value of the base relation's key column the principal may see

A row is visible when its key is IN the entitled values (a semi-join: a user entitled to a value both directly
and through a role still sees each row once; a NULL key is never visible).

Who is asking differs per engine, and so do the view's head and grants: each engine's dialect writes them
(`principal_conditions` and `secure_view_statements` in rockway/adapters/starrocks/dialect.py and
rockway/adapters/mysql/dialect.py). On StarRocks the view is `SECURITY NONE` from 3.4.1 (the template variable
`starrocks_version` says which release renders it); on MariaDB it is `SQL SECURITY DEFINER`. Either way a user is
identified by name only: ``'alice'@'10.%'`` and ``'alice'@'%'`` are one principal.
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

from rockway.adapters.registry import dialect_for

__all__ = ["secure_view_sql", "parse_roles"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


def _parts(name: str, what: str, *, max_parts: int = 2) -> list[str]:
    parts = str(name).split(".")
    if not 1 <= len(parts) <= max_parts or not all(_NAME.match(p) for p in parts):
        raise ValueError(f"{what} {name!r} is not a plain name (letters, digits, _ and $; `db.name` at most)")
    return parts


def _qualified(name: str, what: str) -> str:
    return ".".join(f"`{p}`" for p in _parts(name, what))


def _column(name: str, what: str) -> str:
    return f"`{_parts(name, what, max_parts=1)[0]}`"


def parse_roles(roles: str | Iterable[str] | None) -> list[str]:
    """Role names from a list or a comma-separated string (as ROCKWAY_VAR_* values are); duplicates dropped."""
    if roles is None:
        return []
    items = roles.split(",") if isinstance(roles, str) else list(roles)
    out: list[str] = []
    for item in items:
        role = str(item).strip()
        if not role:
            continue
        _parts(role, "role", max_parts=1)
        if role not in out:
            out.append(role)
    return out


def secure_view_sql(engine: str, *, name: str, base: str, key: str, entitlement: str, scope: str | None = None,
                    roles: str | Iterable[str] | None = (), columns: Sequence[str] | None = None,
                    grant_to: str | Iterable[str] | None = (), comment: str = "",
                    starrocks_version: str | None = None) -> str:
    """CREATE OR REPLACE the secure view `name` over `base`, then GRANT SELECT on it to each role in `grant_to`.

    `key` is the base column compared with the entitlement's scope_value for rows whose scope is `scope`
    (default: `key`). `roles` are the roles whose entitlement rows count (see the module docstring);
    `columns` the base columns the view exposes (default all). Every statement ends with ';'.
    """
    roles = parse_roles(roles)
    grantees = parse_roles(grant_to)
    view, base_sql, ent = _qualified(name, "view"), _qualified(base, "base"), _qualified(entitlement, "entitlement")
    key_sql = _column(key, "key column")
    scope_value = scope if scope is not None else key
    select = ", ".join(f"b.{_column(c, 'column')}" for c in columns) if columns else "b.*"
    statements = dialect_for(engine).secure_view_sql(
        view=view, base=base_sql, key=key_sql, entitlement=ent, scope=str(scope_value), select=select, roles=roles,
        grant_to=grantees, comment=comment, server_version=starrocks_version)
    return "".join(f"{s};\n" for s in statements).rstrip("\n")
