"""The manifest of a reference CSV (`reference-data/<name>.yaml` next to `<name>.csv`): what it is and where
it goes.

Manifest (YAML): table, database (optional), key (list), columns (name, type, nullable, description),
source, update_frequency, owner, description. Types: see columns.TYPE_NAMES. Key columns are NOT NULL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rockway.adapters.base import Column, TableSpec
from rockway.errors import InputError
from rockway.refdata.columns import ColumnSpec, parse_type
from rockway.templating import REFERENCE_DATA_DIR

__all__ = ["Manifest", "load_manifest", "resolve_csv", "is_plain_identifier"]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-/]*\.csv$")
_REQUIRED = ("table", "key", "columns", "source", "update_frequency")
_OPTIONAL = ("database", "owner", "description")
_COLUMN_KEYS = {"name", "type", "nullable", "description"}


@dataclass(frozen=True)
class Manifest:
    """What a reference CSV is and where it goes."""

    path: Path
    display: str  # project-relative path, for messages
    table: str
    key: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]
    source: str
    update_frequency: str
    database: str | None = None
    owner: str = ""
    description: str = ""

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def target(self) -> str:
        return f"{self.database}.{self.table}" if self.database else self.table

    def table_spec(self) -> TableSpec:
        """The table as rockway's portable TableSpec (for a suggested CREATE TABLE)."""
        return TableSpec(self.table, tuple(Column(c.name, c.type, c.nullable) for c in self.columns), self.key,
                         comment=self.description[:200])


def is_plain_identifier(text: str) -> bool:
    """A table, database or column name of letters, digits and _ (not starting with a digit, at most 64)."""
    return _IDENT.match(text) is not None


def _display(path: Path, project_dir: Path) -> str:
    try:
        return path.relative_to(project_dir).as_posix()
    except ValueError:
        return path.as_posix()


def resolve_csv(project_dir: Path, name: str, *, where: str | None = None, line: int | None = None) -> tuple[Path, str]:
    """The CSV path under reference-data/ and its display name; InputError for names outside it."""
    if not isinstance(name, str) or not _NAME.match(name) or ".." in Path(name).parts:
        raise InputError(where or REFERENCE_DATA_DIR, f"load_csv({name!r}): the name must be a relative path ending in"
                         " .csv inside reference-data/ (letters, digits, _ . - /)", line=line)
    path = Path(project_dir) / REFERENCE_DATA_DIR / name
    return path, f"{REFERENCE_DATA_DIR}/{name}"


def _manifest_file(csv_path: Path) -> Path:
    for suffix in (".yaml", ".yml"):
        candidate = csv_path.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    return csv_path.with_suffix(".yaml")


def load_manifest(csv_path: Path, project_dir: Path) -> Manifest:
    """Read and check the manifest next to a CSV (`x.csv` -> `x.yaml`)."""
    path = _manifest_file(csv_path)
    display = _display(path, Path(project_dir))
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(display, f"manifest missing for {_display(csv_path, Path(project_dir))}",
                         hint="Write one: table, key, columns (name, type, nullable), source, update_frequency.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(display, f"cannot read manifest: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(display, f"not valid YAML: {getattr(exc, 'problem', None) or exc}",
                         line=mark.line + 1 if mark is not None else None) from None
    if not isinstance(data, dict):
        raise InputError(display, "the manifest must be a mapping (table:, key:, columns:, …)")
    unknown = set(data) - set(_REQUIRED) - set(_OPTIONAL)
    if unknown:
        raise InputError(display, f"unknown field(s) {', '.join(sorted(map(str, unknown)))};"
                         f" known: {', '.join(_REQUIRED + _OPTIONAL)}")
    missing = [k for k in _REQUIRED if not data.get(k)]
    if missing:
        raise InputError(display, f"missing field(s): {', '.join(missing)}")
    table = str(data["table"])
    database = str(data["database"]) if data.get("database") else None
    for what, ident in (("table", table), ("database", database)):
        if ident is not None and not _IDENT.match(ident):
            raise InputError(display, f"{what} {ident!r} is not a plain identifier (letters, digits, _)")
    columns = _column_specs(data["columns"], display)
    names = [c.name for c in columns]
    key = data["key"]
    key = [key] if isinstance(key, str) else key
    if not isinstance(key, list) or not key or not all(isinstance(k, str) for k in key):
        raise InputError(display, "key must be a column name or a list of column names")
    for k in key:
        if k not in names:
            raise InputError(display, f"key column {k!r} is not one of the columns ({', '.join(names)})")
    if len(set(key)) != len(key):
        raise InputError(display, "key lists a column twice")
    columns = tuple(ColumnSpec(c.name, c.type, False, c.description) if c.name in key else c for c in columns)
    return Manifest(path=path, display=display, table=table, key=tuple(key), columns=columns,
                    source=str(data["source"]), update_frequency=str(data["update_frequency"]), database=database,
                    owner=str(data.get("owner") or ""), description=str(data.get("description") or "").strip())


def _column_specs(raw: Any, display: str) -> tuple[ColumnSpec, ...]:
    if not isinstance(raw, list) or not raw:
        raise InputError(display, "columns must be a non-empty list of {name, type, nullable}")
    out: list[ColumnSpec] = []
    for i, item in enumerate(raw, 1):
        if not isinstance(item, dict) or "name" not in item or "type" not in item:
            raise InputError(display, f"columns[{i}] needs name and type")
        extra = set(item) - _COLUMN_KEYS
        if extra:
            raise InputError(display, f"columns[{i}] ({item.get('name')}): unknown field(s) {', '.join(sorted(extra))}")
        name = str(item["name"])
        if not _IDENT.match(name):
            raise InputError(display, f"columns[{i}]: {name!r} is not a plain column name (letters, digits, _)")
        if name in (c.name for c in out):
            raise InputError(display, f"columns[{i}]: column {name!r} is listed twice")
        try:
            type_ = parse_type(item["type"])
        except ValueError as exc:
            raise InputError(display, f"columns[{i}] ({name}): {exc}") from None
        nullable = item.get("nullable", True)
        if not isinstance(nullable, bool):
            raise InputError(display, f"columns[{i}] ({name}): nullable must be true or false")
        out.append(ColumnSpec(name, type_, nullable, str(item.get("description") or "")))
    return tuple(out)
