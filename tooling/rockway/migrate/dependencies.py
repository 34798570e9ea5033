"""Order repeatable scripts so that an object is created before the scripts that read it."""

from __future__ import annotations

import re
from typing import Sequence

from rockway.errors import InputError
from rockway.model import Script, Statement

_CREATE = re.compile(
    r"^\s*(?:/\*.*?\*/\s*)*CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMPORARY\s+|EXTERNAL\s+)?"
    r"(?P<kind>MATERIALIZED\s+VIEW|VIEW|TABLE)\s+(?:IF\s+NOT\s+EXISTS\s+)?(?P<name>[`\w.$]+)",
    re.IGNORECASE | re.DOTALL)
_AS_QUERY = re.compile(r"\bAS\s*(\(?\s*(?:SELECT|WITH)\b.*)$", re.IGNORECASE | re.DOTALL)
_RENAME_SWAP = re.compile(r"^\s*ALTER\s+(?:MATERIALIZED\s+VIEW|TABLE)\s+(?P<name>[`\w.$]+)\s+SWAP\s+WITH\s+(?P<other>[`\w.$]+)",
                          re.IGNORECASE)


def _norm(name: str) -> str:
    """Lower-case name without backticks or database prefix."""
    return name.replace("`", "").split(".")[-1].lower()


def created_objects(statements: Sequence[Statement]) -> set[str]:
    """Tables, views and MVs a script creates (or swaps into place)."""
    names: set[str] = set()
    for stmt in statements:
        m = _CREATE.match(stmt.sql)
        if m:
            names.add(_norm(m.group("name")))
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
    m = _CREATE.match(sql)
    if m:
        target = _norm(m.group("name"))
        q = _AS_QUERY.search(sql[m.end():])
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


def order_repeatables(items: Sequence[tuple[Script, Sequence[Statement]]]) -> list[Script]:
    """Topologically sort scripts (stable by description); a cycle is an InputError naming the scripts."""
    creates = {script.name: created_objects(stmts) for script, stmts in items}
    producer: dict[str, str] = {}
    for name, objs in creates.items():
        for obj in objs:
            producer.setdefault(obj, name)
    by_name = {script.name: script for script, _ in items}
    deps: dict[str, set[str]] = {}
    for script, stmts in items:
        reads: set[str] = set()
        for stmt in stmts:
            reads |= referenced_tables(stmt.sql)
        deps[script.name] = {producer[r] for r in reads if r in producer and producer[r] != script.name}
    ordered: list[str] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = path[path.index(name):] + [name]
            raise InputError(by_name[name].name, "repeatable scripts depend on each other in a cycle: "
                             + " -> ".join(cycle), hint="Break the cycle: no view may (indirectly) read itself.")
        state[name] = 1
        for dep in sorted(deps[name], key=lambda n: by_name[n].description):
            visit(dep, path + [name])
        state[name] = 2
        ordered.append(name)

    for script, _ in sorted(items, key=lambda it: it[0].description):
        visit(script.name, [])
    return [by_name[n] for n in ordered]
