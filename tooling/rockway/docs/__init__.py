"""The README's generated sections: `rockway docs update` rewrites them, `rockway docs check` fails CI when they
are stale.

Only the text between `rockway:docs:begin NAME` / `rockway:docs:end NAME` markers (HTML comments, see
markers.py) is generated; everything else is hand-written and kept as it is. The output is a function of
the repository's files alone (no clock, no database, no ROCKWAY_* variables), so `check` never flaps; the
one exception is the `live-snapshot` section, which only `update --live` rewrites and `check` leaves alone.
"""

from __future__ import annotations

import difflib

from rockway.docs.context import DocsContext, LiveData
from rockway.docs.markers import Section, parse, replace
from rockway.docs.sections import SECTIONS, toc

__all__ = ["DocsContext", "LiveData", "SECTIONS", "generate", "diff", "problems", "section_names"]


def generate(text: str, ctx: DocsContext, *, path: str = "README.md") -> str:
    """The document with every section regenerated (live sections only when ctx.live is set)."""
    known = frozenset(SECTIONS)

    def render(section: Section) -> str:
        spec = SECTIONS[section.name]
        if spec.live and ctx.live is None and section.content.strip():
            return section.content
        return spec.render(ctx)

    names = {s.name for s in parse(text, path=path, known=known)}
    first = replace(text, {n: render for n in names if n != "contents"}, path=path, known=known)
    if "contents" not in names:
        return first
    return replace(first, {"contents": lambda _s: toc(first)}, path=path, known=known)


def diff(old: str, new: str, path: str = "README.md") -> str:
    """A unified diff from the file as it is to the file as `docs update` would write it ('' when equal)."""
    return "".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                        fromfile=f"{path} (committed)", tofile=f"{path} (generated)"))


def problems(text: str, ctx: DocsContext, *, path: str = "README.md") -> list[str]:
    """What is wrong with a (generated) document beyond staleness: Mermaid blocks that do not parse,
    `rockway …` commands in generated sections that the CLI does not have, and top-level folders without a
    documented purpose."""
    from rockway.docs.cli_reference import commands_in, resolve
    from rockway.docs.mermaid import mermaid_blocks, validate_flowchart
    from rockway.docs.sections import undocumented_folders

    out = []
    for line, block in mermaid_blocks(text):
        for problem in validate_flowchart(block):
            out.append(f"{path}:{line}: mermaid: {problem}")
    if ctx.cli is not None:
        for section in parse(text, path=path, known=frozenset(SECTIONS)):
            if section.name == "cli-reference":
                continue
            for offset, argv in commands_in(section.content):
                why = resolve(ctx.cli, argv)
                if why:
                    out.append(f"{path}:{section.begin_line + offset}: {why}")
    if "directory-structure" in {s.name for s in parse(text, path=path, known=frozenset(SECTIONS))}:
        for name in undocumented_folders(ctx.project_dir):
            out.append(f"{name}/: top-level folder without a purpose in the directory-structure section "
                       "(add it to FOLDER_PURPOSES in rockway/docs/sections/layout.py)")
    return out


def section_names() -> list[tuple[str, str, bool]]:
    """(name, summary, live) of every section a README may contain."""
    return [(s.name, s.summary, s.live) for s in SECTIONS.values()]
