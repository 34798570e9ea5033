"""Validate a reference-data CSV against its column specs and write it as a bulk-load file; no database.

The CSV dialect: UTF-8 (a leading BOM is dropped), comma-separated, RFC 4180 double quotes (`""` inside a
quoted field), LF or CRLF line ends, a header line naming every column in order, and one line per row
(a value may not contain a line break or a TAB). An empty field is NULL. Types: integers (optional `-`,
digits), DECIMAL(p,s) (`-12.50`; at most p-s integer and s fraction digits), DATE `YYYY-MM-DD`, DATETIME
`YYYY-MM-DD HH:MM[:SS[.ffffff]]` (or `T` between date and time), BOOLEAN `true`/`false`/`1`/`0` (any
case), VARCHAR(n) with at most n UTF-8 bytes (StarRocks counts bytes; MariaDB characters, so bytes is
the bound that holds on both). The literal `\\N` is reserved for NULL.

Validation is column-wise over chunks of rows so a million-row file costs a few C-level passes per
column: a single regex over the joined column, `map(int, …)`, `set(…) <=` and so on. Only when a fast
check fails is the chunk scanned value by value to name the first bad line. Physical line numbers are
exact because no value may span lines (the header is line 1, data row i is line i + 1).

The output ("bulk file") is tab-separated, LF-terminated, `\\N` for NULL, booleans as 1/0, datetimes
with a space; with escape_backslash (MySQL LOAD DATA … ESCAPED BY '\\\\') a backslash is doubled.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice
from pathlib import Path
from typing import Callable, Iterable, Sequence, TextIO

from .errors import InputError

__all__ = ["ColumnSpec", "CsvStats", "parse_type", "validate_csv", "TYPE_NAMES"]

TYPE_NAMES = ("TINYINT", "SMALLINT", "INT", "BIGINT", "DECIMAL(p,s)", "VARCHAR(n)", "DATE", "DATETIME", "BOOLEAN")
NULL = "\\N"
CHUNK_ROWS = 50_000

_INT_RANGES = {"TINYINT": 8, "SMALLINT": 16, "INT": 32, "INTEGER": 32, "BIGINT": 64}
_TYPE_RE = re.compile(r"^\s*([A-Za-z]+)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*$")
_BOOLS = {"1": "1", "0": "0", "true": "1", "false": "0", "TRUE": "1", "FALSE": "0", "True": "1", "False": "0"}
_DATE = r"\d{4}-\d{2}-\d{2}"
_DATETIME = r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?"


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a reference table in portable terms."""

    name: str
    type: str  # canonical spelling, e.g. INT, DECIMAL(12,2), VARCHAR(18), DATE
    nullable: bool = True
    description: str = ""

    @property
    def base(self) -> str:
        return self.type.split("(", 1)[0]


def parse_type(text: str) -> str:
    """Canonical spelling of a portable type; ValueError naming the allowed ones otherwise."""
    m = _TYPE_RE.match(str(text))
    if not m:
        raise ValueError(f"unknown type {text!r}; use one of {', '.join(TYPE_NAMES)}")
    base, a, b = m.group(1).upper(), m.group(2), m.group(3)
    if base in ("BOOL",):
        base = "BOOLEAN"
    if base == "INTEGER":
        base = "INT"
    if base in _INT_RANGES or base in ("DATE", "DATETIME", "BOOLEAN"):
        if a is not None:
            raise ValueError(f"type {text!r}: {base} takes no length or precision here")
        return base
    if base == "VARCHAR":
        if a is None or b is not None or not 1 <= int(a) <= 1048576:
            raise ValueError(f"type {text!r}: write VARCHAR(n) with 1 <= n <= 1048576")
        return f"VARCHAR({int(a)})"
    if base in ("DECIMAL", "NUMERIC"):
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
    """A chunk-level problem at data row index `index` (0-based within the chunk)."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index
        self.message = message


# --- per-type checkers ------------------------------------------------------------------------
# Each checker gets the non-NULL values of one column chunk and returns the converted values (a list)
# or None when the values go to the bulk file unchanged; it raises _Bad(index into `values`, message).

Checker = Callable[[list[str]], "list[str] | None"]


def _first(values: Sequence[str], ok: Callable[[str], bool]) -> int:
    for i, v in enumerate(values):
        if not ok(v):
            return i
    return -1


def _joined_match(pattern: str) -> Callable[[list[str]], bool]:
    """A check that every value fully matches pattern, as one regex over the LF-joined column."""
    whole = re.compile(f"(?:(?:{pattern})\n)*(?:{pattern})")
    return lambda values: whole.fullmatch("\n".join(values)) is not None


def _int_checker(name: str, base: str) -> Checker:
    bits = _INT_RANGES[base]
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    one = re.compile(r"-?\d+")
    all_match = _joined_match(r"-?\d+")

    def check(values: list[str]) -> list[str] | None:
        if not all_match(values):
            i = _first(values, lambda v: one.fullmatch(v) is not None)
            raise _Bad(i, f"column {name}: {values[i]!r} is not an integer")
        nums = list(map(int, values))
        if min(nums) < lo or max(nums) > hi:
            i = _first(nums, lambda n: lo <= n <= hi)  # type: ignore[arg-type]
            raise _Bad(i, f"column {name}: {values[i]} is out of range for {base} ({lo}..{hi})")
        return None

    return check


def _decimal_checker(name: str, type_: str) -> Checker:
    p, s = (int(x) for x in type_[len("DECIMAL("):-1].split(","))
    ints = p - s
    int_part = f"0*\\d{{1,{ints}}}" if ints > 0 else "0*"
    frac = f"(?:\\.\\d{{1,{s}}})?" if s > 0 else ""
    pattern = f"-?{int_part}{frac}" if ints > 0 else f"-?0*(?:\\.\\d{{1,{s}}})"
    one = re.compile(pattern)
    all_match = _joined_match(pattern)

    def check(values: list[str]) -> list[str] | None:
        if not all_match(values):
            i = _first(values, lambda v: one.fullmatch(v) is not None)
            raise _Bad(i, f"column {name}: {values[i]!r} is not a {type_} (at most {ints} digits before"
                          f" and {s} after the decimal point)")
        return None

    return check


def _date_checker(name: str) -> Checker:
    one = re.compile(_DATE)
    all_match = _joined_match(_DATE)

    def valid(v: str) -> bool:
        if one.fullmatch(v) is None:
            return False
        try:
            date.fromisoformat(v)
        except ValueError:
            return False
        return True

    def check(values: list[str]) -> list[str] | None:
        try:
            if all_match(values):
                for _ in map(date.fromisoformat, values):
                    pass
                return None
        except ValueError:
            pass
        i = _first(values, valid)
        raise _Bad(i, f"column {name}: {values[i]!r} is not a valid date (YYYY-MM-DD)")

    return check


def _datetime_checker(name: str) -> Checker:
    one = re.compile(_DATETIME)
    all_match = _joined_match(_DATETIME)

    def valid(v: str) -> bool:
        if one.fullmatch(v) is None:
            return False
        try:
            datetime.fromisoformat(v)
        except ValueError:
            return False
        return True

    def check(values: list[str]) -> list[str] | None:
        try:
            if all_match(values):
                for _ in map(datetime.fromisoformat, values):
                    pass
                if any("T" in v for v in values):
                    return [v.replace("T", " ") for v in values]
                return None
        except ValueError:
            pass
        i = _first(values, valid)
        raise _Bad(i, f"column {name}: {values[i]!r} is not a valid datetime (YYYY-MM-DD HH:MM:SS)")

    return check


def _bool_checker(name: str) -> Checker:
    def check(values: list[str]) -> list[str] | None:
        if not set(values) <= _BOOLS.keys():
            i = _first(values, lambda v: v in _BOOLS)
            raise _Bad(i, f"column {name}: {values[i]!r} is not a boolean (true/false/1/0)")
        return list(map(_BOOLS.__getitem__, values))

    return check


def _varchar_checker(name: str, type_: str, escape_backslash: bool) -> Checker:
    n = int(type_[len("VARCHAR("):-1])

    def nbytes(v: str) -> int:
        return len(v.encode("utf-8"))

    def check(values: list[str]) -> list[str] | None:
        joined = "\n".join(values)
        if "\t" in joined:
            i = _first(values, lambda v: "\t" not in v)
            raise _Bad(i, f"column {name}: value contains a TAB character")
        if NULL in values:
            raise _Bad(values.index(NULL), f"column {name}: the value \\N is reserved for NULL (leave the field empty)")
        longest = max(map(len, values))
        if longest > n or (longest * 4 > n and not joined.isascii() and max(map(nbytes, values)) > n):
            i = _first(values, lambda v: nbytes(v) <= n)
            raise _Bad(i, f"column {name}: value is {nbytes(values[i])} bytes, longer than {type_} allows")
        if escape_backslash and "\\" in joined:
            return [v.replace("\\", "\\\\") for v in values]
        return None

    return check


def _checker(col: ColumnSpec, escape_backslash: bool) -> Checker:
    base = col.base
    if base in _INT_RANGES:
        return _int_checker(col.name, base)
    if base == "DECIMAL":
        return _decimal_checker(col.name, col.type)
    if base == "DATE":
        return _date_checker(col.name)
    if base == "DATETIME":
        return _datetime_checker(col.name)
    if base == "BOOLEAN":
        return _bool_checker(col.name)
    if base == "VARCHAR":
        return _varchar_checker(col.name, col.type, escape_backslash)
    raise ValueError(f"column {col.name}: unsupported type {col.type}")


def _column(values: tuple[str, ...], col: ColumnSpec, check: Checker) -> tuple[str, ...] | list[str]:
    """Check one column chunk; return the values as they go to the bulk file."""
    if "" not in values:
        out = check(list(values))
        return values if out is None else out
    if not col.nullable:
        raise _Bad(values.index(""), f"column {col.name}: empty value (NULL) in a NOT NULL column")
    present = [i for i, v in enumerate(values) if v]
    given = [values[i] for i in present]
    try:
        out = check(given) if given else None
    except _Bad as bad:
        raise _Bad(present[bad.index], bad.message) from None
    result = [NULL] * len(values)
    for i, v in zip(present, given if out is None else out):
        result[i] = v
    return result


def _key_values(cols: list[tuple[str, ...] | list[str]], key_idx: Sequence[int], specs: Sequence[ColumnSpec]) -> list:
    """Key of each row in a comparable form (integers compared as numbers)."""
    parts = []
    for k in key_idx:
        values = cols[k]
        if specs[k].base in _INT_RANGES:
            parts.append(list(map(int, values)))
        else:
            parts.append(values)
    return list(parts[0]) if len(parts) == 1 else list(zip(*parts))


# --- the file ---------------------------------------------------------------------------------

def _file_digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def _decode_error(path: Path, display: str) -> InputError:
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return InputError(display, f"not valid UTF-8: byte 0x{raw[exc.start]:02x} cannot be decoded", line=line,
                          hint="Save the file as UTF-8 (with or without BOM).")
    return InputError(display, "not valid UTF-8", hint="Save the file as UTF-8 (with or without BOM).")


def _header_message(header: list[str], names: Sequence[str], manifest: str) -> str:
    for i, (got, want) in enumerate(zip(header, names), 1):
        if got != want:
            return (f"header does not match {manifest}: column {i} is {got!r}, expected {want!r}"
                    f" (expected header: {','.join(names)})")
    if len(header) < len(names):
        return (f"header does not match {manifest}: {len(header)} columns, expected {len(names)};"
                f" missing {', '.join(names[len(header):])}")
    return (f"header does not match {manifest}: {len(header)} columns, expected {len(names)};"
            f" unexpected {', '.join(header[len(names):])}")


def validate_csv(path: Path, columns: Sequence[ColumnSpec], key: Sequence[str], *, display: str | None = None,
                 manifest: str = "the manifest", out: TextIO | None = None, escape_backslash: bool = True,
                 chunk_rows: int = CHUNK_ROWS) -> CsvStats:
    """Check the whole file; write the bulk file to `out` if given; raise InputError(file, line) on the first problem."""
    display = display or str(path)
    names = [c.name for c in columns]
    ncols = len(names)
    key_idx = [names.index(k) for k in key]
    checks = [_checker(c, escape_backslash) for c in columns]
    try:
        size, sha = _file_digest(path)
    except OSError as exc:
        raise InputError(display, f"cannot read: {exc.strerror or exc}") from None
    if size == 0:
        raise InputError(display, f"file is empty; expected a header line ({','.join(names)}) and data rows", line=1)
    seen: set = set()
    rows = 0
    written = 0
    try:
        with open(path, "r", encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, strict=True)
            header = next(reader, None)
            if header is None or header == [] or header == [""]:
                raise InputError(display, f"no header line; expected {','.join(names)}", line=1)
            if reader.line_num != 1:
                raise InputError(display, "the header spans several lines", line=1)
            if header != names:
                raise InputError(display, _header_message(header, names, manifest), line=1)
            while True:
                try:
                    chunk = list(islice(reader, chunk_rows))
                except csv.Error as exc:
                    raise InputError(display, f"malformed CSV: {exc}", line=reader.line_num) from None
                if not chunk:
                    break
                first_line = rows + 2
                if reader.line_num != rows + len(chunk) + 1:
                    i = _first(chunk, lambda r: not any("\n" in v or "\r" in v for v in r))
                    raise InputError(display, "a quoted value contains a line break; reference values must be single-line",
                                     line=first_line + max(i, 0))
                try:
                    text = _check_chunk(chunk, columns, checks, ncols, key_idx, seen)
                except _Bad as bad:
                    line = first_line + bad.index
                    if bad.message.startswith("duplicate key"):
                        first = _first_key_line(path, columns, key_idx, chunk[bad.index], line)
                        raise InputError(display, f"{bad.message} (first on line {first})", line=line) from None
                    raise InputError(display, bad.message, line=line) from None
                rows += len(chunk)
                if out is not None:
                    out.write(text)
                    written += len(text.encode("utf-8")) if not text.isascii() else len(text)
    except UnicodeDecodeError:
        raise _decode_error(path, display) from None
    if rows == 0:
        raise InputError(display, "no data rows after the header (a reference table cannot be emptied by a seed)", line=2)
    return CsvStats(rows=rows, bytes=size, sha256=sha, out_bytes=written)


def _check_chunk(chunk: list[list[str]], columns: Sequence[ColumnSpec], checks: Sequence[Checker], ncols: int,
                 key_idx: Sequence[int], seen: set) -> str:
    """Validate one chunk of rows; return its bulk-file text."""
    if len(set(map(len, chunk))) != 1 or len(chunk[0]) != ncols:
        i = _first(chunk, lambda r: len(r) == ncols)
        got = len(chunk[i])
        raise _Bad(i, "blank line" if got == 0 or chunk[i] == [""] and ncols > 1 else
                   f"expected {ncols} fields, found {got}")
    cols: list[tuple[str, ...] | list[str]] = list(zip(*chunk))
    out = [_column(cols[i], columns[i], checks[i]) for i in range(ncols)]  # type: ignore[arg-type]
    keys = _key_values(cols, key_idx, columns)
    fresh = set(keys)
    if len(fresh) != len(keys) or not seen.isdisjoint(fresh):
        local: set = set()
        for i, k in enumerate(keys):
            if k in seen or k in local:
                shown = ", ".join(f"{columns[j].name}={chunk[i][j]}" for j in key_idx)
                raise _Bad(i, f"duplicate key ({shown})")
            local.add(k)
    seen |= fresh
    if all(o is c for o, c in zip(out, cols)):
        body = "\n".join(map("\t".join, chunk))
    else:
        body = "\n".join(map("\t".join, zip(*out)))
    return body + "\n"


def _first_key_line(path: Path, columns: Sequence[ColumnSpec], key_idx: Sequence[int], row: list[str],
                    dup_line: int) -> int:
    """Line of the first row carrying the same key as `row` (error path only)."""
    def norm(r: Sequence[str]) -> tuple:
        return tuple(int(r[j]) if columns[j].base in _INT_RANGES else r[j] for j in key_idx)

    wanted = norm(row)
    with open(path, "r", encoding="utf-8-sig", newline="") as fh:
        for line, r in enumerate(islice(csv.reader(fh), 1, None), 2):
            if line >= dup_line:
                break
            if len(r) == len(columns):
                try:
                    if norm(r) == wanted:
                        return line
                except ValueError:
                    continue
    return dup_line


def iter_rows(path: Path) -> Iterable[list[str]]:
    """Data rows of a CSV as lists of strings (for tests and tools; no validation)."""
    with open(path, "r", encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, strict=True)
        next(reader, None)
        yield from reader
