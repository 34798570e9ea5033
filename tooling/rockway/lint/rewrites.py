"""Table rewrites a release starts on StarRocks, and merging a script's consecutive column changes into one ALTER.

On StarRocks a column, bucket or rollup change is an asynchronous job that rewrites the table's data, and a
table runs one such job at a time (README, "StarRocks specifics"). Which job a statement starts is decided in
one place, statement_kinds.py; this module adds up those jobs per table across the scripts of a release, and
rewrites the text of a script so that adjacent `ALTER TABLE t <column clauses>` statements become one statement.

The merge relies on how StarRocks applies one ALTER TABLE: its FE applies the clauses in order to one working
copy of the table's schema and submits one schema-change job for the result (every clause edits the same
schema; `ADD COLUMN … AFTER c` looks `c` up in that copy, so it may name a column an earlier clause added;
tests/mariadb/test_rewrites.py checks merged scripts against unmerged ones). Partition, column and rollup operations cannot share one ALTER, so only
`ADD COLUMN`, `DROP COLUMN` and `MODIFY COLUMN` clauses are merged. A merge is refused when it could change what
the statements mean: a later clause that adds, drops or modifies a column an earlier statement of the run
already touched (the FE checks new names against the table as it was before the ALTER), or that positions a
column after one an earlier statement dropped or modified.

The fixer edits the script's raw text, never the rendered one: a statement with template syntax (`{{`, `{%`,
`{#`) or a `-- rockway:` directive is left as it is and ends a run. Comments between statements stay where
they are; only the `;` between two merged statements becomes `,` and the second `ALTER TABLE name` goes.
"""

from __future__ import annotations

import bisect
import difflib
import re
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from rockway.model import Statement
from rockway.sqlsplit import SplitError, comma_spans, segments, split
from rockway.adapters.starrocks.statement_kinds import IDENT, JobType, Kind, TableRef, classify, mask, parse_table_ref, unquote_ident

_TEMPLATE = re.compile(r"\{[{%#]")
_ALTER_PREFIX = re.compile(r"ALTER\s+TABLE\s+(" + IDENT + r"(?:\s*\.\s*" + IDENT + r"){0,2})\s*", re.I)


# ---------------------------------------------------------------------------------------- rewrites

@dataclass(frozen=True)
class Rewrite:
    """One statement that starts a table-rewriting job."""

    script: str
    statement: int  # 1-based index in the rendered script
    line: int
    table: str  # as the statement names it, unquoted: `db.t` or `t`
    job: JobType
    first_line: str

    def to_dict(self) -> dict[str, Any]:
        """Plain data for --json."""
        return {"script": self.script, "statement": self.statement, "line": self.line, "table": self.table,
                "job": self.job.value, "first_line": self.first_line}


def _display(ref: TableRef) -> str:
    return f"{ref.database}.{ref.name}" if ref.database else ref.name


def statement_rewrite(sql: str) -> tuple[TableRef, JobType] | None:
    """The table a statement rewrites and the job kind, or None (statement_kinds.classify decides)."""
    found = classify(sql)
    if found.kind is Kind.ALTER_ASYNC and found.table is not None and found.job_type is not None:
        return found.table, found.job_type
    if found.kind is Kind.CREATE_SYNC_MV and found.base_table is not None:
        return found.base_table, JobType.ROLLUP  # a synchronous MV is a rollup built on its base table
    return None


def script_rewrites(script: str, statements: Sequence[Statement]) -> list[Rewrite]:
    """Every statement of one rendered script that starts a rewrite, in order."""
    out = []
    for stmt in statements:
        hit = statement_rewrite(stmt.sql)
        if hit:
            out.append(Rewrite(script, stmt.index, stmt.line, _display(hit[0]), hit[1], stmt.first_line[:100]))
    return out


def repeated_rewrites(rewrites: Iterable[Rewrite]) -> dict[str, list[Rewrite]]:
    """Tables rewritten more than once, with the statements that start each rewrite, in release order.

    `t` and `db.t` count as different tables: which database an unqualified name means depends on the connection.
    """
    by_table: dict[str, list[Rewrite]] = {}
    for rewrite in rewrites:
        by_table.setdefault(rewrite.table, []).append(rewrite)
    return {table: found for table, found in by_table.items() if len(found) > 1}


# ---------------------------------------------------------------------------------------- column clauses

@dataclass(frozen=True)
class ColumnChange:
    """One ADD / DROP / MODIFY COLUMN clause: the columns it changes and the column it positions after."""

    op: str  # ADD, DROP or MODIFY
    names: tuple[str, ...]  # lower-cased: StarRocks and MySQL compare column names without case
    after: str | None = None


_CLAUSE_HEAD = re.compile(r"\s*(ADD|DROP|MODIFY)\s+COLUMNS?\b", re.I)
_NAME = re.compile(r"\s*(" + IDENT + r")", re.I)
# words after which a clause is not a plain column change: rollup targets, per-clause properties, generated columns
_REFUSED_WORDS = re.compile(r"\b(?:TO|FROM|IN|PROPERTIES|AS)\b", re.I)
_AFTER = re.compile(r"\bAFTER\b", re.I)
_VERB = {"ADD": "adds", "DROP": "drops", "MODIFY": "modifies"}


def _spans(text: str, masked: str, start: int) -> list[tuple[int, int]]:
    """(start, end) of each top-level comma-separated piece after `start` (sqlsplit.comma_spans), whitespace trimmed.

    Commas are found in the masked text (not inside strings, comments or brackets); the trimming looks at the
    text itself, where the mask blanked quoted names.
    """
    spans = []
    for a, b in comma_spans(masked, start):
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        spans.append((a, b))
    return spans


def column_change(clause: str) -> ColumnChange | None:
    """Parse one clause the fixer may merge; None for anything else (index, partition, rollup, ORDER BY, …)."""
    masked = mask(clause)
    head = _CLAUSE_HEAD.match(masked)
    if not head:
        return None
    op = head.group(1).upper()
    rest_masked = masked[head.end():]
    if _REFUSED_WORDS.search(rest_masked):
        return None
    if rest_masked.lstrip().startswith("("):  # ADD COLUMN (a INT, b INT): several columns, no position
        if op != "ADD":
            return None
        opening = head.end() + rest_masked.index("(")
        inner = clause[opening + 1:masked.index(")", opening)]
        inner_masked = mask(inner)
        if _REFUSED_WORDS.search(inner_masked):
            return None
        names = []
        for a, b in _spans(inner, inner_masked, 0):
            m = _NAME.match(inner, a, b)
            if not m:
                return None
            names.append(unquote_ident(m.group(1)).lower())
        return ColumnChange(op, tuple(names)) if names else None
    m = _NAME.match(clause, head.end())
    if not m or m.group(1).upper() == "IF":  # DROP COLUMN IF EXISTS: not StarRocks syntax, left alone
        return None
    after = None
    found = _AFTER.search(masked, m.end())
    if found:
        target = _NAME.match(clause, found.end())
        if not target:
            return None
        after = unquote_ident(target.group(1)).lower()
    return ColumnChange(op, (unquote_ident(m.group(1)).lower(),), after)


# ---------------------------------------------------------------------------------------- the fixer

@dataclass(frozen=True)
class _Located:
    stmt: Statement
    start: int  # offset of the statement's text in the script
    end: int  # offset just after it (before its `;`)


@dataclass(frozen=True)
class _Alter:
    table: TableRef
    clause_start: int  # offset (in the script) of the first clause
    changes: tuple[ColumnChange, ...]


@dataclass(frozen=True)
class Merge:
    """Adjacent statements of one script merged into the first of them."""

    table: str
    statements: tuple[int, ...]  # 1-based indexes in the script before the merge
    line: int  # line of the first statement

    def to_dict(self) -> dict[str, Any]:
        """Plain data for --json."""
        return {"table": self.table, "statements": list(self.statements), "line": self.line}


@dataclass(frozen=True)
class Kept:
    """A statement left apart from the run before it, and why."""

    statement: int
    line: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Plain data for --json."""
        return {"statement": self.statement, "line": self.line, "reason": self.reason}


@dataclass(frozen=True)
class MergeResult:
    """What merging did to one script's text."""

    text: str
    merges: tuple[Merge, ...]
    kept: tuple[Kept, ...]

    @property
    def changed(self) -> bool:
        """True when at least two statements were merged."""
        return bool(self.merges)


def _locate(text: str, statements: Sequence[Statement]) -> list[_Located]:
    out, cursor = [], 0
    for stmt in statements:
        at = text.find(stmt.sql, cursor)
        if at < 0:  # split() returns slices of the text, so this cannot happen for its own output
            raise ValueError(f"statement {stmt.index} not found in the script text")
        out.append(_Located(stmt, at, at + len(stmt.sql)))
        cursor = at + len(stmt.sql)
    return out


def _alter(text: str, located: _Located) -> _Alter | str:
    """The column changes of a mergeable ALTER TABLE, or why the statement cannot take part in a merge."""
    sql = located.stmt.sql
    if _TEMPLATE.search(sql):
        return "it contains template syntax; merge it by hand if its rendered text allows"
    if located.stmt.directives:
        return "it carries a `-- rockway:` directive"
    head = _ALTER_PREFIX.match(sql)
    if not head or classify(sql).kind is not Kind.ALTER_ASYNC:
        return "it is not an ALTER TABLE that starts a job"
    if re.search(r"--|/\*|#", sql[:head.end()]):
        return "a comment sits inside its ALTER TABLE name"
    masked = mask(sql)
    changes = []
    for a, b in _spans(sql, masked, head.end()):
        change = column_change(sql[a:b])
        if change is None:
            return f"its clause `{' '.join(sql[a:b].split())[:60]}` is not a plain ADD/DROP/MODIFY COLUMN"
        changes.append(change)
    return _Alter(parse_table_ref(head.group(1)), located.start + head.end(), tuple(changes))


def _conflict(run: Sequence[_Alter], candidate: _Alter) -> str | None:
    """Why merging `candidate` into the run could change its meaning, or None."""
    touched: set[str] = set()
    replaced: set[str] = set()
    for alter in run:
        for change in alter.changes:
            touched.update(change.names)
            if change.after:
                touched.add(change.after)
            if change.op in ("DROP", "MODIFY"):
                replaced.update(change.names)
    for change in candidate.changes:
        again = sorted(set(change.names) & touched)
        if again:
            return (f"it {_VERB[change.op]} column {again[0]}, which an earlier statement of the run already "
                    "names; one ALTER checks its columns against the table as it was before the ALTER")
        if change.after and change.after in replaced:
            return f"it places a column AFTER {change.after}, which an earlier statement of the run drops or modifies"
    return None


def merge_column_changes(text: str) -> MergeResult:
    """Merge each run of adjacent, mergeable ALTER TABLE statements on one table into its first statement."""
    try:
        statements = split(text)
    except SplitError as exc:  # template text (e.g. a quote inside `{% … %}`) need not split before rendering
        if not re.search(r"\bALTER\s+TABLE\b", text, re.I):
            return MergeResult(text, (), ())
        return MergeResult(text, (), (Kept(0, exc.line, "the script's text before rendering cannot be split "
                                                        f"into statements ({exc.message}); left as it is"),))
    located = _locate(text, statements)
    runs: list[list[tuple[_Located, _Alter]]] = []
    kept: list[Kept] = []
    previous: _Alter | None = None
    for item in located:
        alter = _alter(text, item)
        if isinstance(alter, str):
            hit = statement_rewrite(item.stmt.sql)
            if previous is not None and hit is not None and hit[0] == previous.table:
                kept.append(Kept(item.stmt.index, item.stmt.line, alter))
            previous = None
            continue
        if previous is not None and alter.table == previous.table:
            why = _conflict([a for _, a in runs[-1]], alter)
            if why is None:
                runs[-1].append((item, alter))
                previous = alter
                continue
            kept.append(Kept(item.stmt.index, item.stmt.line, why))
        runs.append([(item, alter)])
        previous = alter
    merged = [run for run in runs if len(run) > 1]
    # a statement's `;` is the first one after its last token (split() left only blanks and comments between)
    semicolons = [seg.start for seg in segments(text) if seg.kind == "semicolon"]
    edits: list[tuple[int, int, str]] = []
    for run in merged:
        for (before, _), (item, alter) in zip(run, run[1:]):
            semicolon = semicolons[bisect.bisect_left(semicolons, before.end)]
            edits.append((semicolon, semicolon + 1, ","))
            line_start = text.rfind("\n", 0, item.start) + 1
            indent = "    " if not text[line_start:item.start].strip() else ""
            edits.append((item.start, alter.clause_start, indent))
    out = text
    for a, b, new in sorted(edits, reverse=True):
        out = out[:a] + new + out[b:]
    merges = tuple(Merge(_display(run[0][1].table), tuple(item.stmt.index for item, _ in run), run[0][0].stmt.line)
                   for run in merged)
    return MergeResult(out, merges, tuple(kept))


def unified_diff(name: str, before: str, after: str) -> str:
    """A unified diff of a script's text, `a/` and `b/` prefixed like git's."""
    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        fromfile=f"a/{name}", tofile=f"b/{name}"))
