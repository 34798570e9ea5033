"""The one reading of a CREATE statement (rockway/migrate/dependencies.py created_object), used by the repeatables'
order, `migrate clean`, the catalog judgement of an interrupted statement (migrate/outcome.py) and the README's
table catalog (docs/catalog.py)."""

from __future__ import annotations

from hypothesis import given, strategies as st

from rockway.migrate.dependencies import created_object, created_objects
from rockway.model import Statement

_BARE = st.sampled_from(["t", "fact_sales", "données", "v$1", "X9"])
_QUOTED = st.sampled_from(["`sales view`", "`a.b`", "`it``s`", "`t`"])
_PART = st.one_of(_BARE, _QUOTED)
_DOT = st.sampled_from([".", " . "])
_KINDS = st.sampled_from(["TABLE", "VIEW", "MATERIALIZED VIEW", "DATABASE", "SCHEMA"])
_MODIFIERS = st.sampled_from(["", "TEMPORARY", "EXTERNAL", "ALGORITHM=MERGE", "DEFINER=`me`@`%` SQL SECURITY INVOKER"])


def _unquoted(part: str) -> str:
    return part[1:-1].replace("``", "`") if part.startswith("`") else part


@given(st.booleans(), st.booleans(), _MODIFIERS, _KINDS, st.booleans(), st.lists(_PART, min_size=1, max_size=2),
       _DOT, st.sampled_from([" (id INT)", " AS SELECT 1", "(id INT)", ""]))
def test_created_object_reads_every_spelling_of_the_head(comment: bool, replace: bool, modifiers: str, kind: str,
                                                          guard: bool, parts: list[str], dot: str, rest: str) -> None:
    name = dot.join(parts)
    sql = (("/* why */ " if comment else "") + "create " + ("or replace " if replace else "")
           + (modifiers + " " if modifiers else "") + kind.lower() + " " + ("if not exists " if guard else "")
           + name + rest)
    created = created_object(sql)
    assert created is not None, sql
    assert (created.kind, created.name, created.or_replace, created.if_not_exists, created.modifiers) == \
        (kind, name, replace, guard, modifiers)
    assert sql[created.end:] == rest
    if kind in ("TABLE", "VIEW", "MATERIALIZED VIEW"):
        assert created_objects([Statement(1, sql, 1)]) == {_unquoted(parts[-1]).lower()}


def test_statements_that_create_nothing() -> None:
    for sql in ("CREATE INDEX i ON t (a)", "INSERT INTO t SELECT 1", "ALTER TABLE t ADD COLUMN c INT", "-- CREATE TABLE t"):
        assert created_object(sql) is None, sql
