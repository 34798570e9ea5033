"""Find V/U/R scripts on disk: Flyway names and version rules, strict naming, LF checksums; no database."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Iterable

from rockway import templating
from rockway.errors import InputError, UsageError
from rockway.model import Kind, Script, Version

__all__ = ["discover", "checksum_bytes", "parse_name", "next_version", "version_text"]

_VERSIONED_RE = re.compile(r"^([VU])([0-9]+(?:[._][0-9]+)*)__(.*)\.sql$", re.S)
_REPEATABLE_RE = re.compile(r"^R__(.*)\.sql$", re.S)
_LOOKALIKE_RE = re.compile(r"^[VUR][0-9_]")
_EXPECTED = "V<version>__<description>.sql, U<version>__<description>.sql or R__<description>.sql"
_HINT = (f"Script names are {_EXPECTED} (for example V1.2__add_orders.sql or R__order_views.sql); "
         "other .sql files do not belong in the migrations or repeatable folders.")


def checksum_bytes(raw: bytes) -> str:
    """sha256 hex of raw file bytes with CRLF and lone CR turned into LF (a BOM stays)."""
    if b"\r" in raw:
        raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return hashlib.sha256(raw).hexdigest()


def _misnamed(filename: str) -> str:
    """Explain why a file that is or looks like a script has a bad name."""
    base, dot, suffix = filename.rpartition(".")
    if not dot:
        base, suffix = filename, ""
    if suffix != "sql":
        if suffix.lower() == "sql":
            return f"the suffix must be lower-case '.sql' (rename to {base}.sql)"
        return "looks like a migration script but does not end in '.sql'"
    prefix, rest = base[:1], base[1:]
    if prefix in ("v", "u", "r"):
        return f"the prefix must be upper case (rename to {prefix.upper()}{rest}.sql)"
    if prefix == "R":
        if rest[:1].isdigit():
            return "repeatable scripts have no version; name it R__<description>.sql"
        if rest.startswith("__"):
            return "the description is empty; name it R__<description>.sql"
        return "a repeatable script is named R__<description>.sql (two underscores after R)"
    if prefix in ("V", "U"):
        version, sep, description = rest.partition("__")
        if not sep:
            if "_" in rest:
                return f"separate version and description with two underscores: {prefix}<version>__<description>.sql"
            return f"the description is missing: {prefix}{rest or '<version>'}__<description>.sql"
        if not version:
            return f"the version is missing: {prefix}<version>__<description>.sql"
        try:
            Version.parse(version)
        except ValueError:
            return f"version {version!r} may only contain digits separated by '.' or '_'"
        if not description.replace("_", " ").strip():
            return f"the description is empty: {prefix}{version}__<description>.sql"
    return f"not a script name; expected {_EXPECTED}"


def parse_name(filename: str) -> tuple[Kind, str | None, str] | None:
    """(kind, version text, description) for a valid script name; None if the name is not one."""
    match = _VERSIONED_RE.match(filename)
    if match:
        kind, version, description = Kind(match.group(1)), match.group(2), match.group(3)
    else:
        match = _REPEATABLE_RE.match(filename)
        if not match:
            return None
        kind, version, description = Kind.REPEATABLE, None, match.group(1)
    description = description.replace("_", " ").strip()
    if not description:
        return None
    return kind, version, description


def version_text(script: Script) -> str | None:
    """The version exactly as written in the file name (keeps zero-padding); None for repeatables."""
    parsed = parse_name(script.path.name)
    return parsed[1] if parsed else None


def _walk(folder: Path, visited: set[tuple[int, int]]) -> Iterable[Path]:
    """Files under a folder, recursively, skipping hidden entries and folders already visited."""
    stack = [str(folder)]
    while stack:
        current = stack.pop()
        try:
            info = os.stat(current)
            if (info.st_dev, info.st_ino) in visited:
                continue
            visited.add((info.st_dev, info.st_ino))
            with os.scandir(current) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    if entry.is_dir():
                        stack.append(entry.path)
                    elif entry.is_file():
                        yield Path(entry.path)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise InputError(current, f"cannot list folder: {exc.strerror or exc}") from None


def _display_name(path: Path, project_dir: Path) -> str:
    text, base = str(path), str(project_dir)
    if os.sep == "/" and text.startswith(base + "/"):
        # what relative_to(...).as_posix() gives (a Path's text is normalised) without a second Path (~30k
        # instructions per script: bench/bench_migrate_instructions.py)
        return text[len(base) + 1:]
    try:
        return path.relative_to(project_dir).as_posix()
    except ValueError:
        try:
            return path.resolve().relative_to(project_dir.resolve()).as_posix()
        except (ValueError, OSError):
            return path.as_posix()


def _decode(raw: bytes, name: str) -> str:
    """Decode UTF-8, drop a BOM, normalise line endings to LF."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputError(name, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at line {line})", line=line,
                         hint="Save the file as UTF-8.") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _repeatable_checksum(base: str, source: str, path: Path, name: str, project_dir: Path) -> str:
    """Extend a repeatable's checksum with the files it includes or loads, in sorted order."""
    if "{%" not in source and "{{" not in source:
        return base
    references = templating.referenced_files(source, path, project_dir)
    if not references:
        return base
    digest = hashlib.sha256(base.encode("ascii"))
    for ref in references:
        ref_name = _display_name(ref, project_dir)
        try:
            raw = ref.read_bytes()
        except FileNotFoundError:
            raise InputError(name, f"references {ref_name}, which does not exist", line=_line_of(source, ref.name)) from None
        except OSError as exc:
            raise InputError(name, f"cannot read {ref_name}: {exc.strerror or exc}") from None
        digest.update(f"\n{ref_name}\n{checksum_bytes(raw)}".encode("utf-8"))
    return digest.hexdigest()


def _line_of(source: str, needle: str) -> int | None:
    """1-based line of the first occurrence of needle in source."""
    at = source.find(needle)
    return source.count("\n", 0, at) + 1 if at >= 0 else None


def discover(migrations_dir: Path, repeatable_dir: Path, project_dir: Path) -> list[Script]:
    """Scan both folders for scripts; raise InputError (exit 2) for the first misnamed, duplicate or unreadable one."""
    project_dir = Path(project_dir)
    visited: set[tuple[int, int]] = set()  # the same, nested or linked folders are scanned once
    paths = [path for folder in (Path(migrations_dir), Path(repeatable_dir)) for path in _walk(folder, visited)]
    candidates = sorted((_display_name(path, project_dir), path) for path in paths
                        if path.name[-4:].lower() == ".sql" or _LOOKALIKE_RE.match(path.name))

    scripts: list[Script] = []
    seen_versions: dict[tuple[Kind, Version], str] = {}
    seen_descriptions: dict[str, str] = {}
    for name, path in candidates:  # problems are reported in path order
        parsed = parse_name(path.name) if path.name[-4:].lower() == ".sql" else None
        if parsed is None:
            raise InputError(name, _misnamed(path.name), hint=_HINT)
        kind, version_str, description = parsed
        version = Version.parse(version_str) if version_str is not None else None
        if version is not None:
            other = seen_versions.setdefault((kind, version), name)
            if other != name:
                raise InputError(name, f"{kind.value}{version} is also defined by {other}",
                                 hint="Versions compare numerically (1.0 = 1, 001 = 1, 1_2 = 1.2); "
                                      "give one of the two files a different version.")
        else:
            other = seen_descriptions.setdefault(description, name)
            if other != name:
                raise InputError(name, f"repeatable {description!r} is also defined by {other}",
                                 hint="Give one of the two files a different description.")
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise InputError(name, f"cannot read: {exc.strerror or exc}") from None
        source = _decode(raw, name)
        checksum = checksum_bytes(raw)
        if kind is Kind.REPEATABLE:
            checksum = _repeatable_checksum(checksum, source, path, name, project_dir)
        scripts.append(Script(kind=kind, version=version, description=description, path=path, name=name,
                              checksum=checksum, source=source))

    versions = {s.version for s in scripts if s.kind is Kind.VERSIONED}
    for script in scripts:
        if script.kind is Kind.UNDO and script.version not in versions:
            raise InputError(script.name, f"undo script without a versioned script V{script.version}",
                             hint=f"Add V{script.version}__<description>.sql or remove the undo script.")
    order = {Kind.VERSIONED: 0, Kind.UNDO: 1, Kind.REPEATABLE: 2}
    scripts.sort(key=lambda s: (order[s.kind], s.version.parts if s.version else (), s.description))  # parts are normalised
    return scripts


def next_version(scripts: Iterable[Script]) -> str:
    """Next integer major version after the highest V script, keeping zero-padding (`007` -> `008`); `1` if none."""
    versioned = [s for s in scripts if s.kind is Kind.VERSIONED and s.version is not None]
    if not versioned:
        return "1"
    highest = max(versioned, key=lambda s: s.version.parts if s.version else ())  # parts are normalised
    major = (highest.version.parts[0] if highest.version else 0) + 1
    written = (version_text(highest) or "").replace("_", ".").split(".")[0]
    width = len(written) if written.startswith("0") and len(written) > 1 else 0
    return str(major).zfill(width)


_SLUG = re.compile(r"[^A-Za-z0-9]+")


def slug(description: str) -> str:
    """The file-name form of a description: `add orders table` -> `add_orders_table`."""
    text = _SLUG.sub("_", description.strip()).strip("_").lower()
    if not text:
        raise UsageError("the description must contain letters or digits")
    return text


def write_script_pair(folder: Path, version: str, name: str, description: str) -> list[Path]:
    """`migrate new`: V<version>__<name>.sql and its U script, each with a header to fill in."""
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for prefix, body in (("V", "-- {desc}\n-- Purpose: \n-- Owner: \n\n"),
                         ("U", "-- Undo V{ver}: {desc}\n-- Reverse every statement of V{ver}, newest first.\n\n")):
        path = folder / f"{prefix}{version}__{name}.sql"
        if path.exists():
            raise UsageError(f"{path} already exists")
        path.write_text(body.format(desc=description.strip(), ver=version), encoding="utf-8")
        made.append(path)
    return made
