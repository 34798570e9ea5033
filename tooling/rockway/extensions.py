"""Extension points: template globals and `ROCKWAY <VERB> …` statements that rockway executes itself.

A script may contain statements such as `ROCKWAY LOAD CSV 'x.csv' INTO t` (usually produced by a template
macro). They are not sent to the server: the executor hands them to the handler registered for the verb,
which does the work over the adapter (e.g. a staged, verified, atomically swapped CSV load). `render` and
`--dry-run` print them as they are, so what runs is always visible.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Callable, Mapping

if TYPE_CHECKING:  # types only: this module stays importable by pure modules (lint)
    from rockway.adapters.base import Adapter, ProgressCallback, StatementResult
    from rockway.config import Settings
    from rockway.model import Statement

PREFIX = "ROCKWAY"
_VERB = re.compile(r"^\s*ROCKWAY\s+([A-Z]+(?:\s+[A-Z]+)?)\b", re.IGNORECASE)

Handler = Callable[["Adapter", "Statement", "Settings", "ProgressCallback"], "StatementResult"]
GlobalsFactory = Callable[["Settings", str], Mapping[str, Any]]

_HANDLERS: dict[str, Handler] = {}
_GLOBALS: list[GlobalsFactory] = []


def register_statement(verb: str, handler: Handler) -> None:
    """Handle `ROCKWAY <verb> …` statements with handler."""
    _HANDLERS[" ".join(verb.upper().split())] = handler


def register_globals(factory: GlobalsFactory) -> None:
    """Add template globals (callables, macros) built per settings and engine."""
    if factory not in _GLOBALS:
        _GLOBALS.append(factory)


_builtins_loaded = False


def _load_builtins() -> None:
    """Import the modules that register rockway's own extensions (once: it is asked for every script rendered)."""
    global _builtins_loaded
    if _builtins_loaded:
        return
    from importlib import import_module

    for name in BUILTIN_MODULES:
        import_module(name)
    _builtins_loaded = True


BUILTIN_MODULES: tuple[str, ...] = ("rockway.refdata.loader", "rockway.macros.globals", "rockway.adapters.registry")


def is_rockway_statement(sql: str) -> bool:
    """True for `ROCKWAY <VERB> …`."""
    return bool(_VERB.match(sql))


def handler_for(sql: str) -> Handler:
    """The handler for a `ROCKWAY <VERB> …` statement (KeyError naming the verb if none)."""
    _load_builtins()
    m = _VERB.match(sql)
    if not m:
        raise KeyError(sql.split(None, 2)[:2])
    words = m.group(1).upper().split()
    for n in (2, 1):
        verb = " ".join(words[:n])
        if verb in _HANDLERS:
            return _HANDLERS[verb]
    raise KeyError(" ".join(words))


def template_globals(settings: Settings, engine: str) -> dict[str, Any]:
    """All registered template globals for this settings/engine."""
    _load_builtins()
    out: dict[str, Any] = {}
    for factory in _GLOBALS:
        out.update(factory(settings, engine))
    return out


_HASH_COMMENTS: dict[str, bool] = {}


def register_lexer_flags(engine: str, *, hash_comments: bool) -> None:
    """Record how `engine`'s SQL is split into statements (each engine's dialect does, rockway/adapters/dialect.py)."""
    _HASH_COMMENTS[engine] = hash_comments


def hash_comments(engine: str) -> bool:
    """Whether `#` starts a comment in `engine`'s SQL (False for an engine no dialect registered)."""
    _load_builtins()
    return _HASH_COMMENTS.get(engine, False)
