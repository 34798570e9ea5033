"""The unique prefix of one rehearsal, so that parallel CI jobs can share one server.

The rule (README "Rehearsals"): every template variable whose name ends in `_db` (rockway.toml
[rockway.vars], [env.NAME.vars] and ROCKWAY_VAR_*), the variable `role_prefix`, and the DSN's database
(rockway's history) get the prefix `rh_<8 hex>_`: `sales_dw` becomes `rh_1a2b3c4d_sales_dw`, the role
`sales_reader` becomes `rh_1a2b3c4d_sales_reader`. A project scaffolded by `rockway init` names its
databases the same way (`<name>_dw`, `<name>_etl`: scaffold/templates/rockway.toml.j2), so the rule holds there
too. Only names that carry the prefix are ever dropped (api.py `drop_prefixed`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

from rockway.config import Dsn, Settings, parse_dsn, validate_identifier
from rockway.errors import ConfigError

PREFIX_FORMAT = "rh_{}_"
ROLE_PREFIX_VAR = "role_prefix"
DATABASE_VAR_SUFFIX = "_db"


def new_prefix() -> str:
    """`rh_` + 8 random hex digits + `_`."""
    return PREFIX_FORMAT.format(secrets.token_hex(4))


@dataclass(frozen=True)
class Names:
    """What one rehearsal renamed: variable -> (original, prefixed), and the history database."""

    prefix: str
    variables: dict[str, tuple[str, str]]
    history_database: tuple[str, str] | None  # (original, prefixed); None with --pending (nothing renamed)

    @property
    def databases(self) -> list[str]:
        """Every prefixed database name (the DSN's first)."""
        out = [self.history_database[1]] if self.history_database else []
        out += [new for key, (_, new) in self.variables.items() if key != ROLE_PREFIX_VAR and new not in out]
        return out

    @property
    def role_prefix(self) -> str | None:
        pair = self.variables.get(ROLE_PREFIX_VAR)
        return pair[1] if pair else None

    def original(self, text: str) -> str:
        """text with each prefixed name turned back into the project's own (for reports)."""
        pairs = list(self.variables.values()) + ([self.history_database] if self.history_database else [])
        for old, new in sorted(pairs, key=lambda p: -len(p[1])):
            text = text.replace(new, old)
        return text


def dsn_text(dsn: Dsn, database: str | None) -> str:
    """A DSN for `database` without the password (it travels in Settings.password), keeping the options."""
    host = f"[{dsn.host}]" if ":" in dsn.host else dsn.host
    options = []
    if dsn.http_port:
        options.append(f"http_port={dsn.http_port}")
    if dsn.ssl_mode and dsn.ssl_mode != "preferred":
        options.append(f"ssl_mode={dsn.ssl_mode}")
    if dsn.ssl_ca:
        options.append(f"ssl_ca={quote(dsn.ssl_ca, safe='')}")
    tail = f"/{database}" if database else ""
    return f"{dsn.scheme}://{quote(dsn.user, safe='')}@{host}:{dsn.port}{tail}" + (f"?{'&'.join(options)}" if options else "")


def _prefixed(prefix: str, value: Any, what: str) -> tuple[str, str]:
    if what == ROLE_PREFIX_VAR and value == "":  # roles without a prefix of their own get the rehearsal's
        return value, prefix
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"variable {what} = {value!r}: a rehearsal prefixes it, so it must be a non-empty name")
    new = prefix + value.strip()
    if what != ROLE_PREFIX_VAR:
        validate_identifier(new, f"variable {what} with the rehearsal prefix {prefix!r}")
    return value, new


def prefixed_settings(settings: Settings, prefix: str) -> tuple[Settings, Names]:
    """settings with every `*_db` variable, `role_prefix` and the DSN's database under prefix; the history
    database is created on connect (create_database), and the password moves out of the DSN text."""
    if not settings.dsn:
        raise ConfigError("no database given: pass --dsn, --env or --start-starrocks (or set ROCKWAY_DSN)")
    dsn = parse_dsn(settings.dsn)
    if not dsn.database:
        raise ConfigError(f"the DSN {dsn} names no database; rockway's history lives there",
                          hint="Add /DATABASE to the DSN (a rehearsal prefixes it).")
    renamed: dict[str, tuple[str, str]] = {}
    variables = dict(settings.vars)
    for key, value in settings.vars.items():
        if key.endswith(DATABASE_VAR_SUFFIX) or key == ROLE_PREFIX_VAR:
            renamed[key] = _prefixed(prefix, value, key)
            variables[key] = renamed[key][1]
    history = _prefixed(prefix, dsn.database, "DSN database")
    rehearsed = replace(settings, dsn=dsn_text(dsn, history[1]), password=settings.password or dsn.password,
                        vars=variables, create_database=True)
    return rehearsed, Names(prefix, renamed, history)


def server_settings(settings: Settings) -> Settings:
    """settings connected to no database (to drop the rehearsal's databases, the history one included)."""
    dsn = parse_dsn(settings.dsn or "")
    return replace(settings, dsn=dsn_text(dsn, None), password=settings.password or dsn.password,
                   create_database=False)
