"""Docker Compose files read as Compose reads them: variable interpolation, .env files, memory sizes, and the
Compose Specification's JSON schema (tests/data/compose-spec.json, origin in tests/project/test_deployment_files.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.support.paths import DATA_DIR

COMPOSE_SCHEMA = DATA_DIR / "compose-spec.json"
GIB = 1024**3

_VAR = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<named>[A-Za-z_][A-Za-z0-9_]*))")
_BRACED = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>.*))?", re.DOTALL)


def _interpolate_str(text: str, env: dict[str, str]) -> str:
    """Compose's interpolation: $$, $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e}, ${VAR:+a}."""

    def repl(match: re.Match[str]) -> str:
        if match.group("escaped"):
            return "$"
        if match.group("named"):
            return env.get(match.group("named"), "")
        parsed = _BRACED.fullmatch(match.group("braced"))
        assert parsed, f"unsupported interpolation ${{{match.group('braced')}}}"
        name, op, arg = parsed.group("name", "op", "arg")
        value = env.get(name)
        if op is None:
            return value or ""
        if op == ":-":
            return value if value else arg
        if op == "-":
            return value if value is not None else arg
        if op == ":+":
            return arg if value else ""
        if op == "+":
            return arg if value is not None else ""
        if op in (":?", "?") and (value is None or (op == ":?" and not value)):
            raise ValueError(f"required variable {name} is missing: {arg}")
        return value or ""

    return _VAR.sub(repl, text)


def interpolate(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {key: interpolate(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate(value, env) for value in node]
    if isinstance(node, str):
        return _interpolate_str(node, env)
    return node


def strings_in(node: Any):
    if isinstance(node, dict):
        for value in node.values():
            yield from strings_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings_in(value)
    elif isinstance(node, str):
        yield node


def compose_references(node: Any) -> list[tuple[str, str | None, str | None]]:
    """(name, operator, argument) of every ${...} in the parsed Compose file (comments excluded)."""
    refs = []
    for text in strings_in(node):
        for match in _VAR.finditer(text):
            if match.group("named"):
                refs.append((match.group("named"), None, None))
            elif match.group("braced") is not None:
                parsed = _BRACED.fullmatch(match.group("braced"))
                assert parsed, f"unsupported interpolation ${{{match.group('braced')}}}"
                refs.append(parsed.group("name", "op", "arg"))
    return refs


def parse_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        assert "=" in line, f"{path.name}:{number}: not KEY=VALUE: {raw!r}"
        key, value = line.split("=", 1)
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key), f"{path.name}:{number}: bad name {key!r}"
        assert key not in values, f"{path.name}:{number}: {key} defined twice"
        values[key] = value
    return values


_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": GIB, "gb": GIB}


def parse_bytes(value: Any) -> int:
    """Docker's memory sizes: 512m, 6g, or a plain number of bytes (docker compose config output)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([a-zA-Z]*)", str(value).strip())
    assert match and match.group(2).lower() in _UNITS, f"not a memory size: {value!r}"
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])
