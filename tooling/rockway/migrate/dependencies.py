"""The objects a statement creates and the tables it reads (the order of repeatables: planner.order_repeatables)."""

from __future__ import annotations

import re
from typing import NamedTuple, Sequence

from rockway.model import Statement
from rockway.sqlsplit import BACKTICKED

# a name part: `back``ticked` (anything inside) or bare (word characters of any script and $, as MySQL/MariaDB allow)
_NAME_PART = rf"(?:{BACKTICKED}|[\w$]+)"
_OBJECT_NAME = rf"{_NAME_PART}(?:\s*\.\s*{_NAME_PART}){{0,2}}"  # [catalog.][db.]name
# the head of a CREATE statement, after any leading /* */ comments or hints: the one reading of it (clean.py,
# outcome.py and rockway/docs/catalog.py too)
_CREATE = re.compile(
    r"^\s*(?:/\*.*?\*/\s*)*CREATE\s+(?P<replace>OR\s+REPLACE\s+)?"
    r"(?P<modifiers>(?:ALGORITHM\s*=\s*\w+\s+)?(?:DEFINER\s*=\s*\S+\s+)?(?:SQL\s+SECURITY\s+\w+\s+)?"
    r"(?:TEMPORARY\s+|EXTERNAL\s+)?)"
    r"(?P<kind>MATERIALIZED\s+VIEW|VIEW|TABLE|DATABASE|SCHEMA|ROLE)\s+(?P<guard>IF\s+NOT\s+EXISTS\s+)?"
    rf"(?P<name>{_OBJECT_NAME}|'[^']+'|\"[^\"]+\")",
    re.IGNORECASE | re.DOTALL)
_RELATIONS = frozenset({"TABLE", "VIEW", "MATERIALIZED VIEW"})
_AS_QUERY = re.compile(r"\bAS\s*(\(?\s*(?:SELECT|WITH)\b.*)$", re.IGNORECASE | re.DOTALL)
_RENAME_SWAP = re.compile(r"^\s*ALTER\s+(?:MATERIALIZED\s+VIEW|TABLE)\s+(?P<name>[`\w.$]+)\s+SWAP\s+WITH\s+(?P<other>[`\w.$]+)",
                          re.IGNORECASE)


class CreatedObject(NamedTuple):
    """What a CREATE statement makes."""

    kind: str  # upper-case, one space between words: TABLE, VIEW, MATERIALIZED VIEW, DATABASE, SCHEMA or ROLE
    name: str  # as written
    end: int  # offset just after the name
    or_replace: bool = False  # CREATE OR REPLACE …
    if_not_exists: bool = False  # … IF NOT EXISTS name
    modifiers: str = ""  # what stands before the kind: TEMPORARY, EXTERNAL, a view's ALGORITHM= / DEFINER= / SQL SECURITY


def created_object(sql: str) -> CreatedObject | None:
    """The object a CREATE TABLE/VIEW/MATERIALIZED VIEW/DATABASE/SCHEMA/ROLE statement makes; None for others."""
    m = _CREATE.match(sql)
    if m is None:
        return None
    return CreatedObject(" ".join(m.group("kind").upper().split()), m.group("name"), m.end(),
                         or_replace=bool(m.group("replace")), if_not_exists=bool(m.group("guard")),
                         modifiers=" ".join(m.group("modifiers").split()))


def _created_relation(sql: str) -> CreatedObject | None:
    created = created_object(sql)
    return created if created and created.kind in _RELATIONS else None


def _norm(name: str) -> str:
    """Lower-case name without backticks or database prefix."""
    parts = re.findall(_NAME_PART, name)
    last = parts[-1] if parts else name
    return (last[1:-1].replace("``", "`") if last.startswith("`") else last).lower()


def created_objects(statements: Sequence[Statement]) -> set[str]:
    """Tables, views and MVs a script creates (or swaps into place)."""
    names: set[str] = set()
    for stmt in statements:
        created = _created_relation(stmt.sql)
        if created:
            names.add(_norm(created.name))
        m = _RENAME_SWAP.match(stmt.sql)
        if m:
            names.update({_norm(m.group("name")), _norm(m.group("other"))})
    return names


def referenced_tables(sql: str) -> set[str]:
    """Tables a statement reads, from sqlglot's StarRocks parser (query part only for CREATE … AS)."""
    import sqlglot
    from sqlglot import exp

    text = sql
    target: str | None = None
    created = _created_relation(sql)
    if created:
        target = _norm(created.name)
        q = _AS_QUERY.search(sql[created.end:])
        if not q:
            return set()
        text = q.group(1)
    try:
        trees = sqlglot.parse(text, read="starrocks")
    except sqlglot.errors.SqlglotError:
        return set()
    names: set[str] = set()
    for tree in trees:
        if tree is None:
            continue
        ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
        for table in tree.find_all(exp.Table):
            name = table.name.lower()
            if name and name not in ctes:
                names.add(name)
    if target:
        names.discard(target)
    return names
