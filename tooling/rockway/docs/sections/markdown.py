"""Markdown building blocks of the generated sections: table cells and tables, inline code, fences, and the
list of the document's headings (the `contents` section)."""

from __future__ import annotations

import re
from typing import Any, Sequence

__all__ = ["cell", "table", "code", "fence", "default_value", "toc"]


def cell(text: Any) -> str:
    """Text fit for a Markdown table cell."""
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ").strip()


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(out) + "\n"


def code(text: str) -> str:
    return f"`{text}`" if text else ""


def fence(text: str, lang: str = "bash") -> str:
    return f"```{lang}\n{text.rstrip()}\n```\n"


def default_value(value: Any) -> str:
    """A setting's default as table text: inline code, booleans in TOML's spelling, `2.0` as `2`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return code("true" if value else "false")
    if isinstance(value, float) and value.is_integer():
        return code(str(int(value)))
    return code(str(value))


def _anchor(title: str, seen: dict[str, int]) -> str:
    slug = re.sub(r"[^\w\- ]", "", title.strip().lower().replace("`", "")).replace(" ", "-")
    n = seen.get(slug, 0)
    seen[slug] = n + 1
    return slug if n == 0 else f"{slug}-{n}"


def toc(markdown: str) -> str:
    """A list of the document's `##` headings (outside code fences) with GitHub's anchors."""
    out, seen = [], {}  # type: ignore[var-annotated]
    fence_open: str | None = None
    for line in markdown.splitlines():
        m = re.match(r"^\s{0,3}(`{3,}|~{3,})", line)
        if m:
            if fence_open is None:
                fence_open = m.group(1)
            elif m.group(1).startswith(fence_open[0]) and len(m.group(1)) >= len(fence_open):
                fence_open = None
            continue
        if fence_open is not None:
            continue
        h = re.match(r"^(#{1,6})\s+(.+?)\s*#*\s*$", line)
        if not h:
            continue
        anchor = _anchor(h.group(2), seen)
        if len(h.group(1)) == 2 and h.group(2).strip().lower() != "contents":
            out.append(f"- [{h.group(2).strip()}](#{anchor})")
    return "\n".join(out) + "\n"
