"""The columns of a reference table: portable types, ColumnSpec, and the checks of a column's values.

Types: integers (`-?[0-9]+`, within the type's range), DECIMAL(p,s) (`-12.50`: at most p-s digits before
and s after the point), DATE `YYYY-MM-DD`, DATETIME `YYYY-MM-DD HH:MM[:SS[.ffffff]]` (`T` instead of the
space is accepted), BOOLEAN `true`/`false`/`1`/`0` (also TRUE/True/FALSE/False), VARCHAR(n) with at most n
UTF-8 bytes (StarRocks counts bytes, MariaDB characters: bytes is the bound that holds on both). An empty
field is NULL; `\\N` is reserved for NULL.

The checks take one column of a block of rows at once and use C-level passes (a possessive regex over the
LF-joined column, `map(int, …)`, `set(…) <= …`); only when such a pass fails is the column scanned value by
value to name the first bad one.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from datetime import date, datetime
from itertools import repeat
from typing import Callable, Sequence, TypeVar, Union

__all__ = ["TYPE_NAMES", "NULL", "INT_BITS", "BOOLEANS", "ColumnSpec", "parse_type", "BadValue", "BlockFacts",
           "Check", "column_check", "check_columns", "KeyValue", "Key", "key_values", "check_keys"]

TYPE_NAMES = ("TINYINT", "SMALLINT", "INT", "BIGINT", "DECIMAL(p,s)", "VARCHAR(n)", "DATE", "DATETIME", "BOOLEAN")
NULL = "\\N"
INT_BITS = {"TINYINT": 8, "SMALLINT": 16, "INT": 32, "BIGINT": 64}
BOOLEANS = {"1": "1", "0": "0", "true": "1", "false": "0", "TRUE": "1", "FALSE": "0", "True": "1", "False": "0"}

_TYPE_RE = re.compile(r"^\s*([A-Za-z]+)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*$")
_DATE = "[0-9]{4}-[0-9]{2}-[0-9]{2}"
_DATETIME = "[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\\.[0-9]{1,6})?)?+"

T = TypeVar("T")
KeyValue = Union[int, str]  # a key column's value as the database compares it
Key = Union[KeyValue, tuple[KeyValue, ...]]  # one row's key (a tuple for a key of several columns)


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a reference table in portable terms."""

    name: str
    type: str  # canonical spelling: INT, DECIMAL(12,2), VARCHAR(18), DATE, …
    nullable: bool = True
    description: str = ""

    @property
    def base(self) -> str:
        return self.type.split("(", 1)[0]


def parse_type(text: object) -> str:
    """Canonical spelling of a portable type; ValueError naming the allowed ones otherwise."""
    m = _TYPE_RE.match(str(text))
    if not m:
        raise ValueError(f"unknown type {text!r}; use one of {', '.join(TYPE_NAMES)}")
    base, a, b = m.group(1).upper(), m.group(2), m.group(3)
    base = {"BOOL": "BOOLEAN", "INTEGER": "INT", "NUMERIC": "DECIMAL"}.get(base, base)
    if base in INT_BITS or base in ("DATE", "DATETIME", "BOOLEAN"):
        if a is not None:
            raise ValueError(f"type {text!r}: {base} takes no length or precision here")
        return base
    if base == "VARCHAR":
        if a is None or b is not None or not 1 <= int(a) <= 1048576:
            raise ValueError(f"type {text!r}: write VARCHAR(n) with 1 <= n <= 1048576")
        return f"VARCHAR({int(a)})"
    if base == "DECIMAL":
        p = int(a) if a is not None else 10
        s = int(b) if b is not None else 0
        if not 1 <= p <= 38 or not 0 <= s <= p:
            raise ValueError(f"type {text!r}: DECIMAL(p,s) needs 1 <= p <= 38 and 0 <= s <= p")
        return f"DECIMAL({p},{s})"
    raise ValueError(f"unknown type {text!r}; use one of {', '.join(TYPE_NAMES)}")


class BadValue(Exception):
    """A problem at row `index` of the values a check was given."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index
        self.message = message


@dataclass(frozen=True)
class BlockFacts:
    """Facts about a block of lines that let checks skip work."""

    tab: bool
    backslash: bool
    ascii: bool
    render: bool = True  # the escaped bulk format is being written: checks return converted values


# --- per-type checks ----------------------------------------------------------------------------
# A check gets the non-NULL values of one column of a block and returns the values for the bulk file
# (a list) or None when they go unchanged; it raises BadValue(index into values, message).

Check = Callable[[list[str], BlockFacts], "list[str] | None"]


def _first(values: Sequence[T], ok: Callable[[T], bool]) -> int:
    for i, v in enumerate(values):
        if not ok(v):
            return i
    return 0


def _all_match(pattern: str) -> Callable[[list[str], str], bool]:
    """f(values, joined) -> True when every value fully matches pattern; joined is "\\n".join(values)."""
    try:  # one regex over the joined values; possessive repeats (3.11+) never backtrack into earlier values
        whole = re.compile(f"(?:(?:{pattern})\n)*+(?:{pattern})")
        return lambda values, joined: whole.fullmatch(joined) is not None
    except re.error:  # pragma: no cover - Python 3.10 has no possessive repeats
        one = re.compile(pattern.replace("?+", "?"))
        return lambda values, joined: all(map(one.fullmatch, values))


def _one(pattern: str) -> "re.Pattern[str]":
    return re.compile(pattern.replace("?+", "?"))


def _int_check(name: str, base: str) -> Check:
    bits = INT_BITS[base]
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    ok, one = _all_match("-?[0-9]+"), _one("-?[0-9]+")

    def check(values: list[str], _block: BlockFacts) -> list[str] | None:
        if not ok(values, "\n".join(values)):
            i = _first(values, lambda v: one.fullmatch(v) is not None)
            raise BadValue(i, f"column {name}: {values[i]!r} is not an integer")
        nums = list(map(int, values))
        if min(nums) < lo or max(nums) > hi:
            i = _first(nums, lambda n: lo <= n <= hi)
            raise BadValue(i, f"column {name}: {values[i]} is out of range for {base} ({lo}..{hi})")
        return None

    return check


def _decimal_check(name: str, type_: str) -> Check:
    p, s = (int(x) for x in type_[len("DECIMAL("):-1].split(","))
    whole = p - s
    frac = f"(?:\\.[0-9]{{1,{s}}})?+" if s else ""
    pattern = f"-?[0-9]{{1,{whole}}}{frac}" if whole else f"-?0?\\.[0-9]{{1,{s}}}"
    ok, one = _all_match(pattern), _one(pattern)

    def check(values: list[str], _block: BlockFacts) -> list[str] | None:
        if not ok(values, "\n".join(values)):
            i = _first(values, lambda v: one.fullmatch(v) is not None)
            raise BadValue(i, f"column {name}: {values[i]!r} is not a {type_} number (at most {whole} digits before"
                              f" and {s} after the decimal point)")
        return None

    return check


def _date_check(name: str) -> Check:
    ok, one = _all_match(_DATE), _one(_DATE)

    def valid(v: str) -> bool:
        try:
            return one.fullmatch(v) is not None and bool(date.fromisoformat(v))
        except ValueError:
            return False

    def check(values: list[str], _block: BlockFacts) -> list[str] | None:
        try:
            if ok(values, "\n".join(values)):
                for _ in map(date.fromisoformat, values):
                    pass
                return None
        except ValueError:
            pass
        i = _first(values, valid)
        raise BadValue(i, f"column {name}: {values[i]!r} is not a valid date (YYYY-MM-DD)")

    return check


def _datetime_check(name: str) -> Check:
    ok, one = _all_match(_DATETIME), _one(_DATETIME)

    def valid(v: str) -> bool:
        try:
            return one.fullmatch(v) is not None and bool(datetime.fromisoformat(v))
        except ValueError:
            return False

    def check(values: list[str], block: BlockFacts) -> list[str] | None:
        joined = "\n".join(values)
        try:
            if ok(values, joined):
                for _ in map(datetime.fromisoformat, values):
                    pass
                if block.render and "T" in joined:
                    return [v.replace("T", " ") for v in values]
                return None
        except ValueError:
            pass
        i = _first(values, valid)
        raise BadValue(i, f"column {name}: {values[i]!r} is not a valid datetime (YYYY-MM-DD HH:MM:SS)")

    return check


def _bool_check(name: str) -> Check:
    def check(values: list[str], block: BlockFacts) -> list[str] | None:
        if not set(values) <= BOOLEANS.keys():
            i = _first(values, lambda v: v in BOOLEANS)
            raise BadValue(i, f"column {name}: {values[i]!r} is not a boolean (true/false/1/0)")
        return list(map(BOOLEANS.__getitem__, values)) if block.render else None

    return check


def _varchar_check(name: str, type_: str) -> Check:
    n = int(type_[len("VARCHAR("):-1])

    def nbytes(v: str) -> int:
        return len(v.encode("utf-8"))

    def check(values: list[str], block: BlockFacts) -> list[str] | None:
        if block.tab and any(map(operator.contains, values, repeat("\t"))):
            raise BadValue(_first(values, lambda v: "\t" not in v), f"column {name}: the value contains a TAB character")
        if block.backslash and NULL in values:
            raise BadValue(values.index(NULL), f"column {name}: the value \\N is reserved for NULL (leave the field"
                                               " empty)")
        longest = max(map(len, values))
        if longest > n or (longest * 4 > n and not block.ascii and not "".join(values).isascii()
                           and max(map(len, map(str.encode, values))) > n):
            i = _first(values, lambda v: nbytes(v) <= n)
            raise BadValue(i, f"column {name}: the value is {nbytes(values[i])} bytes long, {type_} allows {n}")
        return None

    return check


def column_check(col: ColumnSpec) -> Check:
    """The check of the non-NULL values of a column of this type."""
    base = col.base
    if base in INT_BITS:
        return _int_check(col.name, base)
    if base == "DECIMAL":
        return _decimal_check(col.name, col.type)
    if base == "DATE":
        return _date_check(col.name)
    if base == "DATETIME":
        return _datetime_check(col.name)
    if base == "BOOLEAN":
        return _bool_check(col.name)
    if base == "VARCHAR":
        return _varchar_check(col.name, col.type)
    raise ValueError(f"column {col.name}: unsupported type {col.type}")


def _column(values: list[str], col: ColumnSpec, check: Check, block: BlockFacts) -> list[str] | None:
    """Check one column of a block; return its bulk-file values, or None when they are the input unchanged."""
    if "" not in values:
        return check(values, block)
    if not col.nullable:
        raise BadValue(values.index(""), f"column {col.name}: empty value (NULL) in a NOT NULL column")
    given = list(filter(None, values))
    try:
        out = check(given, block) if given else None
    except BadValue as bad:
        present = [i for i, v in enumerate(values) if v]
        raise BadValue(present[bad.index], bad.message) from None
    if not block.render:
        return None
    if out is None:
        return [v or NULL for v in values]
    it = iter(out)
    return [next(it) if v else NULL for v in values]


def check_columns(cols: list[list[str]], columns: Sequence[ColumnSpec], checks: Sequence[Check],
                  block: BlockFacts) -> list[list[str] | None]:
    """Check every column of a block (each column's bulk-file values, None when unchanged); on problems raise
    the BadValue on the earliest line."""
    outs: list[list[str] | None] = []
    worst: BadValue | None = None
    for values, col, check in zip(cols, columns, checks):
        try:
            outs.append(_column(values, col, check, block))
        except BadValue as bad:
            if worst is None or bad.index < worst.index:
                worst = bad
            outs.append(None)
    if worst is not None:
        raise worst
    return outs


# --- keys ---------------------------------------------------------------------------------------

def key_values(values: list[str], col: ColumnSpec) -> Sequence[KeyValue]:
    """Key values as the database compares them: integers as numbers, booleans as 1/0, `T` as a space."""
    if col.base in INT_BITS:
        return list(map(int, values))
    if col.base == "BOOLEAN":
        return list(map(BOOLEANS.__getitem__, values))
    if col.base == "DATETIME":
        return [v.replace("T", " ") for v in values]
    return values


def check_keys(cols: list[list[str]], key_idx: Sequence[int], columns: Sequence[ColumnSpec], seen: set[Key]) -> None:
    """Raise BadValue(duplicate key) for the first row whose key is already in seen or earlier in the block;
    else add the block's keys to seen."""
    parts = [key_values(cols[k], columns[k]) for k in key_idx]
    keys: Sequence[Key] = parts[0] if len(parts) == 1 else list(zip(*parts))
    fresh = set(keys)
    if len(fresh) != len(keys) or not seen.isdisjoint(fresh):
        local: set[Key] = set()
        for i, k in enumerate(keys):
            if k in seen or k in local:
                shown = ", ".join(f"{columns[j].name}={cols[j][i]}" for j in key_idx)
                raise BadValue(i, f"duplicate key ({shown})")
            local.add(k)
    seen |= fresh
