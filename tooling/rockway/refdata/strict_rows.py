"""The strict subset of the CSV dialect: one bytes regex per block of lines, no per-value Python objects.

A block is accepted only when every line matches the row grammar built from the column specs, which is
a strict subset of what the exact check accepts: unquoted values without `"`; quoted values with `""`;
integers short enough to fit the type; DECIMAL digits; real calendar dates (leap years included) and
times; booleans; VARCHAR(n) as at most n bytes (quoted: n units of one byte or `""`); NOT NULL as
non-empty; no TAB, CR, NUL. Blocks with `\\N` (reserved) or — when the CSV is to be loaded as it is — a
bare `NULL` word (MySQL reads it as NULL) go to the exact check. So does every
block the regex rejects: the exact check then names the bad line, or accepts what the subset does not
cover. Keys are read with a second regex and compared like the exact check does (integers as numbers).
"""

from __future__ import annotations

import re
from typing import Sequence

from rockway.refdata.columns import BOOLEANS, INT_BITS, ColumnSpec, Key, KeyValue

__all__ = ["StrictRows"]

_NO = rb'",\x00\t\r\n'  # never inside an unquoted value
_QNO = rb'"\x00\t\r\n'  # never inside a quoted value (besides "")
_MONTH_DAY = (rb"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
              rb"|02-(?:0[1-9]|1[0-9]|2[0-8]))")
_LEAP_YEAR = rb"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)"
_DATE = rb"(?!0000)(?:[0-9]{4}-" + _MONTH_DAY + rb"|" + _LEAP_YEAR + rb"-02-29)"
_TIME = rb"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?+)?+"
_INT_DIGITS = {"TINYINT": 2, "SMALLINT": 4, "INT": 9, "BIGINT": 18}  # always in range
_NULL_WORD = re.compile(rb"(?<![^,\n])null(?=[,\r\n]|$)")  # on lower-cased bytes: starts with a literal


def _field(col: ColumnSpec) -> bytes:
    base = col.base
    if base == "VARCHAR":
        n = int(col.type[len("VARCHAR("):-1])
        lo = 0 if col.nullable else 1
        return rb'(?:[^%s]{%d,%d}|"(?:[^%s]|""){%d,%d}")' % (_NO, lo, n, _QNO, lo, n)
    if base in _INT_DIGITS:
        core = rb"-?[0-9]{1,%d}" % _INT_DIGITS[base]
    elif base == "DECIMAL":
        p, s = (int(x) for x in col.type[len("DECIMAL("):-1].split(","))
        frac = rb"(?:\.[0-9]{1,%d})?+" % s if s else b""
        core = rb"-?[0-9]{1,%d}%s" % (p - s, frac) if p - s else rb"-?0?\.[0-9]{1,%d}" % s
    elif base == "DATE":
        core = _DATE
    elif base == "DATETIME":
        core = _DATE + rb"[ T]" + _TIME
    elif base == "BOOLEAN":
        core = b"(?:" + b"|".join(re.escape(k.encode()) for k in sorted(BOOLEANS, key=len, reverse=True)) + b")"
    else:
        raise ValueError(col.type)
    return rb"(?:%s)?+" % core if col.nullable else rb"(?:%s)" % core


def _key_field(col: ColumnSpec) -> bytes:
    """A key column's pattern without the quoted form."""
    if col.base == "VARCHAR":
        n = int(col.type[len("VARCHAR("):-1])
        return rb"[^%s]{1,%d}" % (_NO, n)
    return _field(col)


class StrictRows:
    """The compiled row grammar of the strict subset, for one manifest and line ending."""

    def __init__(self, columns: Sequence[ColumnSpec], key_idx: Sequence[int], eol: bytes, *, direct: bool) -> None:
        fields = [_field(c) for c in columns]
        row = b",".join(fields)
        self.whole = re.compile(rb"(?:%s%s)*+%s" % (row, re.escape(eol), row))
        last = max(key_idx)
        parts = [b"(%s)" % _key_field(columns[i]) if i in key_idx else f for i, f in enumerate(fields[:last + 1])]
        # the block matched `whole`, so fields tokenize alike; a quoted key does not match at all, which
        # leaves fewer keys than rows and sends the block to the exact check (it compares unquoted values)
        self.keys_rx = re.compile(b"\n" + b",".join(parts))
        self.columns = list(columns)
        self.key_idx = list(key_idx)
        self.direct = direct

    @classmethod
    def build(cls, columns: Sequence[ColumnSpec], key_idx: Sequence[int], eol: bytes, *,
              direct: bool) -> "StrictRows | None":
        try:
            return cls(columns, key_idx, eol, direct=direct)
        except re.error:  # Python 3.10: no possessive repeats; everything takes the exact path
            return None

    def keys(self, part: bytes, rows: int) -> Sequence[Key] | None:
        """Comparable keys of the block's `rows` rows, or None when the block needs the exact check."""
        if b"\x00" in part or b"\\N" in part:
            return None
        if self.direct:
            lowered = part.lower()
            if b"null" in lowered and _NULL_WORD.search(lowered):
                return None
        if self.whole.fullmatch(part) is None:
            return None
        found = self.keys_rx.findall(b"\n" + part)
        if len(found) != rows:
            return None
        cols = [found] if len(self.key_idx) == 1 else [list(c) for c in zip(*found)]
        out: list[list[KeyValue]] = []
        for k, values in zip(self.key_idx, cols):
            base = self.columns[k].base
            if base in INT_BITS:
                out.append(list(map(int, values)))
            elif base == "BOOLEAN":
                out.append([BOOLEANS[v.decode()] for v in values])
            elif base == "DATETIME":
                out.append([v.decode().replace("T", " ") for v in values])
            else:
                out.append([v.decode() for v in values])
        return out[0] if len(out) == 1 else list(zip(*out))
