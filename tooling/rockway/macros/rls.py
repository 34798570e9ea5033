"""Row-level security through secure views, for StarRocks and MySQL/MariaDB (pure: returns SQL text).

Open-source StarRocks has no row access policies (those are CelerData's, or Apache Ranger's through a plugin;
starrocks-facts.md §6), so a policy is a view: it keeps the rows of a base relation whose key value the
querying principal is entitled to in an entitlement table, and users are granted the view, never the base.

The entitlement table has (at least) these columns, one row per principal and value:

    principal_type  'USER' or 'ROLE'
    principal_name  a user name without host ('alice'), or a role name
    scope           what the value restricts ('region', 'sales_group_code', …)
    scope_value     a value of the base relation's key column the principal may see

A row is visible when its key is IN the entitled values (a semi-join: a user entitled to a value both directly
and through a role still sees each row once; a NULL key is never visible).

Who is asking, per engine:

* StarRocks. ``current_user()`` returns the identity quoted, ``'alice'@'%'`` (facts §6, responses §10), so the
  user name is ``split_part(current_user(), '\\'', 2)``. A view is expanded in the querying session, so this is
  the querying user. Roles: ``is_role_in_session('r')`` (3.1.4+, counts nested roles) takes a string literal
  only — the analyzer rejects a column ("IS_ROLE_IN_SESSION currently only supports constant parameters",
  ExpressionAnalyzer), so ``is_role_in_session(e.role_name)`` is not possible: a policy lists the roles it
  honours and gets one constant test per role; entitlement rows of other roles are ignored. The view is
  ``SECURITY NONE`` (SELECT on the view suffices; CREATE_VIEW, 3.4.1+). Before 3.4.1 the clause does not parse
  and NONE-like behaviour is the only one, so the clause is left out when ``starrocks_version`` < 3.4.1.
* MariaDB. The view is ``SQL SECURITY DEFINER`` so callers need no privilege on the base. Inside such a view
  ``CURRENT_USER()`` and ``CURRENT_ROLE()`` describe the DEFINER, not the caller; ``USER()`` is still the
  caller (``alice@client-host``), so the user name is ``SUBSTRING_INDEX(USER(), '@', 1)``. The caller's active
  role is not visible in DEFINER context either, so a ROLE entitlement applies when the role is granted
  directly to the caller (``mysql.roles_mapping``), active or not. That table is MariaDB's; MySQL 8 keeps role
  grants in ``mysql.role_edges``, so this rendering is for MariaDB.

Either way a user is identified by name only: ``'alice'@'10.%'`` and ``'alice'@'%'`` are one principal.
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

__all__ = ["secure_view_sql", "parse_roles", "version_at_least", "SECURITY_CLAUSE_SINCE"]

SECURITY_CLAUSE_SINCE = (3, 4, 1)
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


def _literal(text: str) -> str:
    """A single-quoted string literal with backslash escapes (StarRocks and MariaDB read it alike)."""
    return "'" + str(text).replace("\\", "\\\\").replace("'", "\\'") + "'"


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


def version_at_least(version: str | None, minimum: tuple[int, ...]) -> bool:
    """True when a version such as '3.4.1' or '3.5.2-abc1234' is at least `minimum`; None counts as old."""
    if not version:
        return False
    numbers = [int(n) for n in re.findall(r"\d+", str(version).split("-")[0])[:len(minimum)]]
    numbers += [0] * (len(minimum) - len(numbers))
    return tuple(numbers) >= minimum


def _principal_sql(engine: str, roles: Sequence[str]) -> list[str]:
    """The OR-ed conditions that match an entitlement row `e` to the querying principal."""
    if engine == "starrocks":
        conditions = ["(e.`principal_type` = 'USER' AND e.`principal_name` = split_part(current_user(), '\\'', 2))"]
        conditions += [f"(e.`principal_type` = 'ROLE' AND e.`principal_name` = {_literal(r)} "
                       f"AND is_role_in_session({_literal(r)}))" for r in roles]
        return conditions
    conditions = ["(e.`principal_type` = 'USER' AND e.`principal_name` = SUBSTRING_INDEX(USER(), '@', 1))"]
    if roles:
        listed = ", ".join(_literal(r) for r in roles)
        conditions.append(
            f"(e.`principal_type` = 'ROLE' AND e.`principal_name` IN ({listed})\n"
            "             AND e.`principal_name` IN (SELECT m.`Role` FROM mysql.roles_mapping AS m\n"
            "                                        WHERE m.`User` = SUBSTRING_INDEX(USER(), '@', 1)"
            " AND m.`Host` <> ''))")
    return conditions


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
    matches = "\n        OR ".join(_principal_sql(engine, roles))
    body = (f"SELECT {select}\n"
            f"FROM {base_sql} AS b\n"
            f"WHERE b.{key_sql} IN (\n"
            f"    SELECT e.`scope_value`\n"
            f"    FROM {ent} AS e\n"
            f"    WHERE e.`scope` = {_literal(scope_value)}\n"
            f"      AND ({matches})\n"
            f")")
    if engine == "starrocks":
        head = f"CREATE OR REPLACE VIEW {view}"
        if comment:
            head += f"\nCOMMENT {_literal(comment)}"
        if version_at_least(starrocks_version, SECURITY_CLAUSE_SINCE):
            head += "\nSECURITY NONE"
        statements = [f"{head}\nAS\n{body}"]
        statements += [f"GRANT SELECT ON VIEW {view} TO ROLE `{r}`" for r in grantees]
    else:
        # MariaDB views have no COMMENT; DEFINER makes the base readable through the view only.
        statements = [f"CREATE OR REPLACE SQL SECURITY DEFINER VIEW {view} AS\n{body}"]
        statements += [f"GRANT SELECT ON {view} TO `{r}`" for r in grantees]
    return "".join(f"{s};\n" for s in statements).rstrip("\n")
