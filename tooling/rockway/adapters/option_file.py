r"""MySQL/MariaDB option files (my.cnf format) for the client tools rockway starts, e.g. mariadb-dump.

How the clients read a value (MariaDB's mysys/my_default.c, the same in MySQL): an unquoted `#` starts a
comment, surrounding whitespace is dropped, one pair of matching quotes around the value is removed, and
inside the value a backslash escapes `\\`, `\"`, `\'`, `\n`, `\t`, `\r`, `\b` and `\s`; a backslash before
any other character stays as it is. Every line is one option, so a newline must be written as `\n`.
So every value is written double-quoted with backslash, both quotes and the control characters escaped:
`#`, `;`, `=`, `$` and spaces then reach the client unchanged.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Mapping

_ESCAPES = {"\\": "\\\\", '"': '\\"', "'": "\\'", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b"}
_OPTION_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
_GROUP_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


def quote_option_value(value: object) -> str:
    """`value` as an option file value that the MySQL/MariaDB clients read back exactly."""
    text = str(value)
    if "\0" in text:
        raise ValueError("an option file value cannot hold a NUL character")
    return '"' + "".join(_ESCAPES.get(ch, ch) for ch in text) + '"'


def option_file_text(group: str, options: Mapping[str, object]) -> str:
    """One `[group]` of `name="value"` lines; options whose value is None are left out."""
    if not _GROUP_NAME.match(group):
        raise ValueError(f"option group {group!r} is not a plain name")
    lines = [f"[{group}]"]
    for name, value in options.items():
        if not _OPTION_NAME.match(name):
            raise ValueError(f"option name {name!r} is not a plain name")
        if value is not None:
            lines.append(f"{name}={quote_option_value(value)}")
    return "\n".join(lines) + "\n"


def write_option_file(group: str, options: Mapping[str, object], *, prefix: str = "rockway-") -> Path:
    """A new temporary option file readable only by this user (0600); the caller deletes it."""
    text = option_file_text(group, options)
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=".cnf")
    try:
        os.fchmod(fd, 0o600)  # mkstemp's mode already; the clients ignore world-writable option files
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)
