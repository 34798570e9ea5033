"""Validate a reference-data CSV against its column specs and write it as a bulk-load file; no database.

The CSV dialect: UTF-8 (a leading BOM is dropped), comma-separated, RFC 4180 double quotes (`""` inside a
quoted field), LF or CRLF line ends, a header line naming every column in order, and exactly one line per
row: a value may not contain a line break, a TAB or a NUL. An empty field is NULL. Types: integers
(`-?[0-9]+`, within the type's range), DECIMAL(p,s) (`-12.50`: at most p-s digits before and s after the
point), DATE `YYYY-MM-DD`, DATETIME `YYYY-MM-DD HH:MM[:SS[.ffffff]]` (`T` instead of the space is
accepted), BOOLEAN `true`/`false`/`1`/`0` (also TRUE/True/FALSE/False), VARCHAR(n) with at most n UTF-8
bytes (StarRocks counts bytes, MariaDB characters: bytes is the bound that holds on both). `\\N` is
reserved for NULL. A file with a header and no data rows is an error (a seed never empties a table).

Speed: the file is read in blocks of whole lines; lines without a quote are split with `str.split`,
lines with one go through the csv module; columns are sliced out of one flat list and checked with
C-level passes (one possessive regex over the LF-joined column, `map(int, …)`, `set(…) <= …`). Only when
a fast check fails is the column scanned value by value to name the first bad line. Physical line
numbers are exact because every row is one line (the header is line 1).

The bulk file is TAB-separated, LF-terminated, `\\N` for NULL, booleans as 1/0, datetimes with a space;
with escape_backslash (MySQL `LOAD DATA … ESCAPED BY '\\\\'`) a backslash is written as two.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import operator
import re
from dataclasses import dataclass
from datetime import date, datetime
from itertools import compress, repeat
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, Sequence, TextIO

from .errors import InputError

__all__ = ["ColumnSpec", "CsvStats", "parse_type", "validate_csv", "TYPE_NAMES", "NULL"]

TYPE_NAMES = ("TINYINT", "SMALLINT", "INT", "BIGINT", "DECIMAL(p,s)", "VARCHAR(n)", "DATE", "DATETIME", "BOOLEAN")
NULL = "\\N"
BLOCK_BYTES = 8 << 20

_INT_BITS = {"TINYINT": 8, "SMALLINT": 16, "INT": 32, "BIGINT": 64}
_TYPE_RE = re.compile(r"^\s*([A-Za-z]+)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*$")
_BOOLS = {"1": "1", "0": "0", "true": "1", "false": "0", "TRUE": "1", "FALSE": "0", "True": "1", "False": "0"}
_DATE = "[0-9]{4}-[0-9]{2}-[0-9]{2}"
_DATETIME = "[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\\.[0-9]{1,6})?)?+"
_BOM = b"\xef\xbb\xbf"


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
    if base in _INT_BITS or base in ("DATE", "DATETIME", "BOOLEAN"):
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


@dataclass(frozen=True)
class CsvStats:
    """What a validated CSV holds."""

    rows: int
    bytes: int  # size of the CSV file
    sha256: str  # of the CSV file's bytes
    out_bytes: int = 0  # size of the bulk file written (0 if none)


class _Bad(Exception):
    """A problem at row `index` of the values a check was given."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index
        self.message = message


@dataclass(frozen=True)
class _Block:
    """Facts about a block of lines that let checks skip work."""

    tab: bool
    backslash: bool
    ascii: bool


# --- per-type checks ----------------------------------------------------------------------------
# A check gets the non-NULL values of one column of a block and returns the values for the bulk file
# (a list) or None when they go unchanged; it raises _Bad(index into values, message).

Check = Callable[[list[str], _Block], "list[str] | None"]


def _first(values: Sequence[object], ok: Callable[[object], bool]) -> int:
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
    bits = _INT_BITS[base]
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    ok, one = _all_match("-?[0-9]+"), _one("-?[0-9]+")

    def check(values: list[str], _block: _Block) -> list[str] | None:
        if not ok(values, "\n".join(values)):
            i = _first(values, lambda v: one.fullmatch(v) is not None)  # type: ignore[arg-type]
            raise _Bad(i, f"column {name}: {values[i]!r} is not an integer")
        nums = list(map(int, values))
        if min(nums) < lo or max(nums) > hi:
            i = _first(nums, lambda n: lo <= n <= hi)  # type: ignore[operator]
            raise _Bad(i, f"column {name}: {values[i]} is out of range for {base} ({lo}..{hi})")
        return None

    return check


def _decimal_check(name: str, type_: str) -> Check:
    p, s = (int(x) for x in type_[len("DECIMAL("):-1].split(","))
    whole = p - s
    frac = f"(?:\\.[0-9]{{1,{s}}})?+" if s else ""
    pattern = f"-?[0-9]{{1,{whole}}}{frac}" if whole else f"-?0?\\.[0-9]{{1,{s}}}"
    ok, one = _all_match(pattern), _one(pattern)

    def check(values: list[str], _block: _Block) -> list[str] | None:
        if not ok(values, "\n".join(values)):
            i = _first(values, lambda v: one.fullmatch(v) is not None)  # type: ignore[arg-type]
            raise _Bad(i, f"column {name}: {values[i]!r} is not a {type_} number (at most {whole} digits before"
                          f" and {s} after the decimal point)")
        return None

    return check


def _date_check(name: str) -> Check:
    ok, one = _all_match(_DATE), _one(_DATE)

    def valid(v: object) -> bool:
        try:
            return one.fullmatch(v) is not None and bool(date.fromisoformat(v))  # type: ignore[arg-type]
        except ValueError:
            return False

    def check(values: list[str], _block: _Block) -> list[str] | None:
        try:
            if ok(values, "\n".join(values)):
                for _ in map(date.fromisoformat, values):
                    pass
                return None
        except ValueError:
            pass
        i = _first(values, valid)
        raise _Bad(i, f"column {name}: {values[i]!r} is not a valid date (YYYY-MM-DD)")

    return check


def _datetime_check(name: str) -> Check:
    ok, one = _all_match(_DATETIME), _one(_DATETIME)

    def valid(v: object) -> bool:
        try:
            return one.fullmatch(v) is not None and bool(datetime.fromisoformat(v))  # type: ignore[arg-type]
        except ValueError:
            return False

    def check(values: list[str], _block: _Block) -> list[str] | None:
        joined = "\n".join(values)
        try:
            if ok(values, joined):
                for _ in map(datetime.fromisoformat, values):
                    pass
                if "T" in joined:
                    return [v.replace("T", " ") for v in values]
                return None
        except ValueError:
            pass
        i = _first(values, valid)
        raise _Bad(i, f"column {name}: {values[i]!r} is not a valid datetime (YYYY-MM-DD HH:MM:SS)")

    return check


def _bool_check(name: str) -> Check:
    def check(values: list[str], _block: _Block) -> list[str] | None:
        if not set(values) <= _BOOLS.keys():
            i = _first(values, lambda v: v in _BOOLS)
            raise _Bad(i, f"column {name}: {values[i]!r} is not a boolean (true/false/1/0)")
        return list(map(_BOOLS.__getitem__, values))

    return check


def _varchar_check(name: str, type_: str, escape_backslash: bool) -> Check:
    n = int(type_[len("VARCHAR("):-1])

    def nbytes(v: object) -> int:
        return len(str(v).encode("utf-8"))

    def check(values: list[str], block: _Block) -> list[str] | None:
        if block.tab and any(map(operator.contains, values, repeat("\t"))):
            raise _Bad(_first(values, lambda v: "\t" not in v), f"column {name}: the value contains a TAB character")  # type: ignore[operator]
        if NULL in values:
            raise _Bad(values.index(NULL), f"column {name}: the value \\N is reserved for NULL (leave the field empty)")
        longest = max(map(len, values))
        if longest > n or (longest * 4 > n and not block.ascii and max(map(len, map(str.encode, values))) > n):
            i = _first(values, lambda v: nbytes(v) <= n)
            raise _Bad(i, f"column {name}: the value is {nbytes(values[i])} bytes long, {type_} allows {n}")
        if escape_backslash and block.backslash and any(map(operator.contains, values, repeat("\\"))):
            return [v.replace("\\", "\\\\") for v in values]
        return None

    return check


def _check_for(col: ColumnSpec, escape_backslash: bool) -> Check:
    base = col.base
    if base in _INT_BITS:
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
        return _varchar_check(col.name, col.type, escape_backslash)
    raise ValueError(f"column {col.name}: unsupported type {col.type}")


def _column(values: list[str], col: ColumnSpec, check: Check, block: _Block) -> list[str] | None:
    """Check one column of a block; return its bulk-file values, or None when they are the input unchanged."""
    if "" not in values:
        return check(values, block)
    if not col.nullable:
        raise _Bad(values.index(""), f"column {col.name}: empty value (NULL) in a NOT NULL column")
    given = list(filter(None, values))
    try:
        out = check(given, block) if given else None
    except _Bad as bad:
        present = [i for i, v in enumerate(values) if v]
        raise _Bad(present[bad.index], bad.message) from None
    if out is None:
        return [v or NULL for v in values]
    it = iter(out)
    return [next(it) if v else NULL for v in values]


# --- reading ------------------------------------------------------------------------------------

def _lines(fh: BinaryIO, display: str, block_bytes: int) -> Iterator[tuple[int, str, list[str]]]:
    """(line number of the first line, text, lines) for blocks of whole lines, decoded and LF-normalised."""
    line_no = 1
    rest = b""
    first = True
    while True:
        data = fh.read(block_bytes)
        if data:
            rest += data
            cut = rest.rfind(b"\n")
            if cut < 0:
                continue
            part, rest = rest[:cut], rest[cut + 1:]
        elif rest:
            part, rest = rest, b""
        else:
            return
        if first:
            first = False
            if part.startswith(_BOM):
                part = part[len(_BOM):]
        try:
            text = part.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = line_no + part.count(b"\n", 0, exc.start)
            raise InputError(display, f"not valid UTF-8: byte 0x{part[exc.start]:02x} cannot be decoded", line=line,
                             hint="Save the file as UTF-8 (with or without BOM).") from None
        if "\r" in text:
            text = text.replace("\r\n", "\n")
            if "\r" in text:
                line = line_no + text.count("\n", 0, text.index("\r"))
                raise InputError(display, "carriage return inside a line (values may not contain line breaks)",
                                 line=line)
        if "\x00" in text:
            raise InputError(display, "NUL character in the file", line=line_no + text.count("\n", 0, text.index("\x00")))
        lines = text.split("\n")
        yield line_no, text, lines
        line_no += len(lines)


def _parse_quoted(line: str) -> list[str]:
    """Fields of one line that contains a double quote (csv module, strict)."""
    reader = csv.reader((line,), strict=True)
    fields = next(reader)
    if next(reader, None) is not None:  # pragma: no cover - one line is one record
        raise csv.Error("more than one record")
    return fields


def _split(lines: list[str], text: str, ncols: int, first_line: int, display: str) -> list[list[str]]:
    """Columns of a block of data lines; InputError for malformed quoting or a wrong field count."""
    parked: set[int] = set()  # columns where a literal comma was parked as NUL
    if '"' in text:
        for i in compress(range(len(lines)), map(operator.contains, lines, repeat('"'))):
            try:
                fields = _parse_quoted(lines[i])
            except csv.Error as exc:
                detail = "an unterminated quoted value (values may not contain line breaks)" \
                    if "end of data" in str(exc) or "EOF" in str(exc) else str(exc)
                raise InputError(display, f"malformed CSV: {detail}", line=first_line + i) from None
            line = ",".join([f.replace(",", "\x00") for f in fields])
            if "\x00" in line:
                parked.update(j for j, f in enumerate(fields) if "," in f)
            lines[i] = line
    counts = set(map(str.count, lines, repeat(",")))
    if counts != {ncols - 1}:
        i = _first(lines, lambda ln: ln.count(",") == ncols - 1)  # type: ignore[attr-defined]
        got = lines[i].count(",") + 1
        message = "blank line" if lines[i] == "" else f"expected {ncols} fields, found {got}"
        raise InputError(display, message, line=first_line + i)
    flat = ",".join(lines).split(",")
    cols = [flat[i::ncols] for i in range(ncols)]
    for j in parked:
        if j < ncols:
            cols[j] = [v.replace("\x00", ",") for v in cols[j]]
    return cols


def _file_digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _header_message(header: list[str], names: Sequence[str], manifest: str) -> str:
    expected = ",".join(names)
    for i, (got, want) in enumerate(zip(header, names), 1):
        if got != want:
            return f"header does not match {manifest}: column {i} is {got!r}, expected {want!r} (expected: {expected})"
    if len(header) < len(names):
        return (f"header does not match {manifest}: {len(header)} columns, expected {len(names)};"
                f" missing {', '.join(names[len(header):])}")
    return (f"header does not match {manifest}: {len(header)} columns, expected {len(names)};"
            f" unexpected {', '.join(header[len(names):])}")


# --- the file -----------------------------------------------------------------------------------

def validate_csv(path: Path, columns: Sequence[ColumnSpec], key: Sequence[str], *, display: str | None = None,
                 manifest: str = "the manifest", out: TextIO | None = None, escape_backslash: bool = True,
                 block_bytes: int = BLOCK_BYTES) -> CsvStats:
    """Check the whole file (and write the bulk file to `out`); InputError naming file:line on the first problem."""
    display = display or str(path)
    names = [c.name for c in columns]
    ncols = len(names)
    key_idx = [names.index(k) for k in key]
    checks = [_check_for(c, escape_backslash) for c in columns]
    try:
        size, sha = _file_digest(path)
    except OSError as exc:
        raise InputError(display, f"cannot read: {exc.strerror or exc}") from None
    if size == 0:
        raise InputError(display, f"the file is empty; expected the header line {','.join(names)} and data rows", line=1)
    seen: set = set()
    rows = 0
    written = 0
    header_seen = False
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of short-lived lists and no cycles: the cyclic GC would only rescan them
    try:
        with open(path, "rb") as fh:
            for first_line, text, lines in _lines(fh, display, block_bytes):
                if not header_seen:
                    header_seen = True
                    try:
                        header = _parse_quoted(lines[0]) if lines[0] else []
                    except csv.Error as exc:
                        raise InputError(display, f"malformed header: {exc}", line=1) from None
                    if not header or header == [""]:
                        raise InputError(display, f"no header line; expected {','.join(names)}", line=1)
                    if header != names:
                        raise InputError(display, _header_message(header, names, manifest), line=1)
                    del lines[0]
                    first_line += 1
                    text = text.partition("\n")[2]
                if not lines:
                    continue
                block = _Block(tab="\t" in text, backslash="\\" in text, ascii=text.isascii())
                cols = _split(lines, text, ncols, first_line, display)
                try:
                    outs = [_column(cols[i], columns[i], checks[i], block) for i in range(ncols)]
                    _check_keys(cols, outs, key_idx, columns, seen)
                except _Bad as bad:
                    line = first_line + bad.index
                    message = bad.message
                    if message.startswith("duplicate key"):
                        message += f" (first on line {_first_key_line(path, columns, key_idx, bad, line, display)})"
                    raise InputError(display, message, line=line) from None
                rows += len(lines)
                if out is not None:
                    chunk = _render(lines, cols, outs, text)
                    out.write(chunk)
                    written += len(chunk) if block.ascii else len(chunk.encode("utf-8"))
    except OSError as exc:
        raise InputError(display, f"cannot read: {exc.strerror or exc}") from None
    finally:
        if gc_was_enabled:
            gc.enable()
    if rows == 0:
        raise InputError(display, "no data rows after the header (a seed never empties a table)", line=2)
    return CsvStats(rows=rows, bytes=size, sha256=sha, out_bytes=written)


def _check_keys(cols: list[list[str]], outs: list[list[str] | None], key_idx: Sequence[int],
                columns: Sequence[ColumnSpec], seen: set) -> None:
    """Raise _Bad(duplicate key) for the first row whose key is already in seen or earlier in the block."""
    parts = []
    for k in key_idx:
        values = outs[k] if outs[k] is not None else cols[k]
        parts.append(list(map(int, values)) if columns[k].base in _INT_BITS else values)
    keys = parts[0] if len(parts) == 1 else list(zip(*parts))
    fresh = set(keys)
    if len(fresh) != len(keys) or not seen.isdisjoint(fresh):
        local: set = set()
        for i, k in enumerate(keys):
            if k in seen or k in local:
                shown = ", ".join(f"{columns[j].name}={cols[j][i]}" for j in key_idx)
                raise _Bad(i, f"duplicate key ({shown})")
            local.add(k)
    seen |= fresh


def _render(lines: list[str], cols: list[list[str]], outs: list[list[str] | None], text: str) -> str:
    """The bulk-file text of one block."""
    if all(o is None for o in outs):
        body = "\n".join(lines).replace(",", "\t")
        if "\x00" in body:
            body = body.replace("\x00", ",")
        return body + "\n"
    final = [o if o is not None else c for o, c in zip(outs, cols)]
    return "\n".join(map("\t".join, zip(*final))) + "\n"


def _first_key_line(path: Path, columns: Sequence[ColumnSpec], key_idx: Sequence[int], bad: _Bad, dup_line: int,
                    display: str) -> int:
    """Line of the first row with the same key as the row at dup_line (error path only)."""
    def key_of(fields: Sequence[str]) -> tuple:
        return tuple(int(fields[j]) if columns[j].base in _INT_BITS else fields[j] for j in key_idx)

    wanted: tuple | None = None
    with open(path, "r", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    if dup_line - 1 < len(rows):
        wanted = key_of(rows[dup_line - 1])
    for line, fields in enumerate(rows[1:dup_line - 1], 2):
        try:
            if len(fields) == len(columns) and key_of(fields) == wanted:
                return line
        except ValueError:
            continue
    return dup_line
