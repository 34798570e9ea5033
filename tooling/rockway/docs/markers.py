"""Generated sections of a Markdown file, between `<!-- rockway:docs:begin NAME -->` and `<!-- rockway:docs:end NAME -->`.

Pure text in, text out (the manner of cog and sqlite-utils' README): everything outside the markers is kept
byte for byte; the text between a begin and its end marker is replaced by the section's generated text.
Markers must stand alone on their line. Marker-like lines inside fenced code blocks outside any section
are text (a README may show the syntax), but a line that mentions `rockway:docs:` in an HTML comment and is
not a well-formed marker is an error, so a typo never silently leaves a section unmaintained.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Mapping

from rockway.errors import InputError

PREFIX = "rockway:docs:"
_MARKER = re.compile(r"^\s*<!--\s*rockway:docs:(begin|end)\s+([a-z0-9][a-z0-9-]*)\s*-->\s*$")
_LOOSE = re.compile(r"<!--.*rockway:docs:", re.IGNORECASE)
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")

__all__ = ["Section", "parse", "replace", "begin_marker", "end_marker"]


def begin_marker(name: str) -> str:
    return f"<!-- {PREFIX}begin {name} -->"


def end_marker(name: str) -> str:
    return f"<!-- {PREFIX}end {name} -->"


@dataclass(frozen=True)
class Section:
    """One generated section: its name, the lines of its markers (1-based) and its current text."""

    name: str
    begin_line: int
    end_line: int
    content: str  # the lines between the markers, each with its line ending


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def parse(text: str, *, path: str = "README.md", known: set[str] | frozenset[str] | None = None) -> list[Section]:
    """The sections of a document; InputError (exit 2) naming the line for unbalanced, nested, duplicate,
    malformed or (when `known` is given) unknown markers."""
    sections: list[Section] = []
    seen: dict[str, int] = {}
    open_name: str | None = None
    open_line = 0
    body: list[str] = []
    fence: str | None = None
    for number, line in enumerate(_lines(text), start=1):
        stripped = line.rstrip("\r\n")
        if open_name is None:
            fence_match = _FENCE.match(stripped)
            if fence is not None:
                if fence_match and fence_match.group(1)[0] == fence[0] and len(fence_match.group(1)) >= len(fence):
                    fence = None
                continue
            if fence_match:
                fence = fence_match.group(1)
                continue
        match = _MARKER.match(stripped)
        if match is None:
            if _LOOSE.search(stripped) and open_name is None:
                raise InputError(path, f"malformed marker {stripped.strip()!r}", line=number,
                                 hint=f"Write {begin_marker('NAME')} … {end_marker('NAME')}, each alone on its line.")
            if open_name is not None:
                if _LOOSE.search(stripped):
                    raise InputError(path, f"malformed marker {stripped.strip()!r} inside section {open_name!r} "
                                           f"(opened at line {open_line})", line=number)
                body.append(line)
            continue
        kind, name = match.groups()
        if kind == "begin":
            if open_name is not None:  # sections cannot nest: the open one lacks its end marker
                raise InputError(path, f"section {open_name!r} has no end marker before the begin marker of {name!r} "
                                       f"at line {number} (sections cannot nest)", line=open_line,
                                 hint=f"Close it with {end_marker(open_name)}.")
            if known is not None and name not in known:
                raise InputError(path, f"unknown section {name!r}", line=number,
                                 hint="Known sections: " + ", ".join(sorted(known)))
            if name in seen:
                raise InputError(path, f"section {name!r} appears twice (first at line {seen[name]})", line=number)
            open_name, open_line, body = name, number, []
        else:
            if open_name is None:
                raise InputError(path, f"end marker of {name!r} without a begin marker", line=number,
                                 hint=f"Add {begin_marker(name)} above it, or remove it.")
            if name != open_name:
                raise InputError(path, f"end marker of {name!r} closes section {open_name!r} opened at line {open_line}",
                                 line=number, hint=f"Write {end_marker(open_name)}.")
            seen[name] = open_line
            sections.append(Section(name, open_line, number, "".join(body)))
            open_name = None
    if open_name is not None:
        raise InputError(path, f"section {open_name!r} has no end marker", line=open_line,
                         hint=f"Add {end_marker(open_name)} after its text.")
    return sections


def replace(text: str, generate: Mapping[str, Callable[[Section], str]] | Callable[[Section], str], *,
            path: str = "README.md", known: set[str] | frozenset[str] | None = None) -> str:
    """The document with each section's text replaced by `generate(section)` (a mapping by name, or one
    callable for all). A section the mapping does not name keeps its text."""
    sections = {s.begin_line: s for s in parse(text, path=path, known=known)}
    out: list[str] = []
    lines = _lines(text)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    number = 0
    while number < len(lines):
        line = lines[number]
        number += 1
        section = sections.get(number)
        if section is None:
            out.append(line)
            continue
        out.append(line)
        fn = generate if callable(generate) else generate.get(section.name)
        if fn is None:
            out.append(section.content)
        else:
            body = fn(section)
            if body and not body.endswith("\n"):
                body += "\n"
            out.append(body.replace("\r\n", "\n").replace("\n", newline) if newline != "\n" else body)
        out.append(lines[section.end_line - 1])
        number = section.end_line
    return "".join(out)
