"""Statements whose effect the catalog shows unambiguously, and what the catalog says about an unknown outcome.

When a run dies while statement k is on the server, the journal cannot know whether k took effect. For a
few kinds of statement information_schema can: CREATE / DROP of a database, table or view, CREATE of an
asynchronous materialized view, ALTER TABLE … ADD / DROP COLUMN of one column, and renaming one table.
Every other statement (and these with IF [NOT] EXISTS, OR REPLACE, several targets or a query that fills a
new table) is not classified: the catalog would show the object whether or not the statement ran, or only
part of its effect.

Nothing here talks to a server: `judge` takes the lookup as a function (the adapter's `catalog_has`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from rockway.adapters.base import CatalogObject
from rockway.migrate.dependencies import created_object
from rockway.adapters.starrocks.sql import IDENT, TABLE_REF, Kind, classify, mask, parse_table_ref, split_top_level, \
    strip_leading_comments, unquote_ident


@dataclass(frozen=True)
class Expectation:
    """One object the statement creates (exists once done) or removes (absent once done)."""

    obj: CatalogObject
    exists_when_done: bool


@dataclass(frozen=True)
class Checkable:
    """A statement whose effect is visible in the catalog."""

    what: str  # e.g. "CREATE TABLE", for messages
    expectations: tuple[Expectation, ...]


@dataclass(frozen=True)
class Verdict:
    """What the catalog says about a statement whose outcome was unknown."""

    took_effect: bool
    evidence: str  # e.g. "table sales_dw.x exists"


_F = re.IGNORECASE | re.DOTALL
# the kinds whose creation information_schema shows (migrate/dependencies.py created_object reads the statement)
_CATALOGED = frozenset({"DATABASE", "SCHEMA", "TABLE", "VIEW", "MATERIALIZED VIEW"})
_DROP = re.compile(rf"DROP\s+(?P<kind>DATABASE|SCHEMA|TABLE|VIEW)\s+(?P<guard>IF\s+EXISTS\s+)?(?P<name>{TABLE_REF})"
                   r"(?:\s+(?:FORCE|RESTRICT|CASCADE))?\s*", _F)
_COLUMN = re.compile(rf"ALTER\s+TABLE\s+(?P<table>{TABLE_REF})\s+(?P<op>ADD|DROP)\s+COLUMN\s+"
                     rf"(?P<guard>IF\s+(?:NOT\s+)?EXISTS\s+)?(?P<column>{IDENT})(?P<rest>.*)", _F)
_RENAME = re.compile(rf"RENAME\s+TABLE\s+(?P<old>{TABLE_REF})\s+TO\s+(?P<new>{TABLE_REF})\s*", _F)
_ALTER_RENAME = re.compile(rf"ALTER\s+TABLE\s+(?P<old>{TABLE_REF})\s+RENAME\s+(?:(?:TO|AS)\s+)?(?P<new>{TABLE_REF})\s*", _F)
# a query that fills the new table (CREATE TABLE … AS SELECT, MySQL's CREATE TABLE … SELECT): the table can exist
# while its rows are not all there, so existence proves nothing
_FILLS = re.compile(r"\b(?:SELECT|WITH)\b", re.IGNORECASE)
# a column clause aimed at a rollup index (StarRocks: ADD COLUMN … TO r, DROP COLUMN … FROM r)
_ROLLUP_TARGET = re.compile(r"\b(?:TO|FROM|IN)\b", re.IGNORECASE)


def _kind(word: str) -> str:
    word = " ".join(word.lower().split())
    return "database" if word == "schema" else word


def _obj(kind: str, ref_text: str, column: str | None = None) -> CatalogObject:
    ref = parse_table_ref(ref_text)
    if kind == "database":
        return CatalogObject("database", None, ref.name)
    return CatalogObject(kind, ref.database, ref.name, column)


def classify_statement(sql: str) -> Checkable | None:
    """The catalog trace of one statement, or None when the catalog cannot tell whether it ran."""
    text = strip_leading_comments(sql).rstrip().rstrip(";").rstrip()
    created = created_object(text)
    if created is not None and created.kind in _CATALOGED:
        kind = _kind(created.kind)
        # OR REPLACE / IF NOT EXISTS: the object exists either way; TEMPORARY or EXTERNAL ones, views with
        # ALGORITHM / DEFINER / SQL SECURITY and quoted-string names are left to the operator
        if created.or_replace or created.if_not_exists or created.modifiers or created.name[0] in "'\"":
            return None
        if kind == "table" and _FILLS.search(mask(text[created.end:])):
            return None
        if kind == "materialized view" and classify(text).kind is not Kind.CREATE_ASYNC_MV:
            return None  # a synchronous MV is a rollup index, not listed among materialized views
        return Checkable(f"CREATE {kind.upper()}", (Expectation(_obj(kind, created.name), True),))
    m = _DROP.fullmatch(text)
    if m:
        if m.group("guard"):
            return None
        kind = _kind(m.group("kind"))
        return Checkable(f"DROP {kind.upper()}", (Expectation(_obj(kind, m.group("name")), False),))
    m = _COLUMN.fullmatch(text)
    if m:
        rest = m.group("rest")
        masked = mask(rest)
        if m.group("guard") or len(split_top_level(rest, masked)) > 1 or _ROLLUP_TARGET.search(masked):
            return None  # several clauses, or a rollup's column: more than one column's presence to read
        op = m.group("op").upper()
        column = unquote_ident(m.group("column"))
        return Checkable(f"{op} COLUMN", (Expectation(_obj("column", m.group("table"), column), op == "ADD"),))
    for pattern in (_RENAME, _ALTER_RENAME):
        m = pattern.fullmatch(text)
        if m:
            old = _obj("table", m.group("old"))
            new = _obj("table", m.group("new"))
            if new.database is None and old.database is not None:
                new = CatalogObject("table", old.database, new.name)  # ALTER TABLE db.a RENAME b stays in db
            return Checkable("RENAME TABLE", (Expectation(old, False), Expectation(new, True)))
    return None


def judge(check: Checkable, lookup: Callable[[CatalogObject], bool | None], database: str | None) -> Verdict | None:
    """Took effect when every object is as the statement leaves it, did not when every one is as it found it;
    None when the catalog cannot tell (yet) or the objects disagree (someone else changed them)."""
    seen: list[tuple[Expectation, bool]] = []
    for expectation in check.expectations:
        present = lookup(expectation.obj)
        if present is None:
            return None
        seen.append((expectation, present))
    evidence = " and ".join(f"{e.obj.describe(database)} {'exists' if present else 'does not exist'}"
                            for e, present in seen)
    if all(present == e.exists_when_done for e, present in seen):
        return Verdict(True, evidence)
    if all(present != e.exists_when_done for e, present in seen):
        return Verdict(False, evidence)
    return None
