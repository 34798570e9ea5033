"""A structural check of Mermaid `flowchart` blocks, and the small writer the architecture section uses.

Not Mermaid's grammar: the subset this project writes, checked strictly. A block must start with
`flowchart <direction>`; every other line is a comment (`%%`), `subgraph ID["label"]` / `end`, a node
`ID<shape>"label"<shape>`, an edge `ID --> ID`, `ID -->|"label"| ID`, `ID -.-> ID` or `ID ==> ID` (either end
may define its node inline), a `classDef` or a `class` line. Brackets must balance, labels must be quoted,
ids must be plain identifiers, every edge must join defined nodes, and subgraphs must close.
"""

from __future__ import annotations

import re

__all__ = ["validate_flowchart", "mermaid_blocks", "node", "edge"]

_DIRECTIONS = {"LR", "RL", "TB", "TD", "BT"}
_ID = r"[A-Za-z_][A-Za-z0-9_]*"
# shape openers and their closers, longest first
_SHAPES = [("([", "])"), ("[(", ")]"), ("[[", "]]"), ("((", "))"), ("{{", "}}"), ("[/", "/]"), ("[\\", "\\]"),
           ("[", "]"), ("(", ")"), ("{", "}"), (">", "]")]
_ARROWS = ["-.->", "==>", "-->", "---"]
_RESERVED = {"end", "subgraph", "graph", "flowchart", "style", "classDef", "class", "click", "linkStyle"}


def _quote(text: str) -> str:
    return '"' + text.replace('"', "'") + '"'


def node(node_id: str, label: str, shape: str = "[") -> str:
    """`id["label"]` with the shape opener given (`[`, `[(`, `([`, `{{`, `[[`, ...)."""
    closer = dict(_SHAPES)[shape]
    return f"{node_id}{shape}{_quote(label)}{closer}"


def edge(a: str, b: str, label: str | None = None, arrow: str = "-->") -> str:
    return f"{a} {arrow}|{_quote(label)}| {b}" if label else f"{a} {arrow} {b}"


def mermaid_blocks(markdown: str) -> list[tuple[int, str]]:
    """(line of the opening fence, text) of each ```mermaid block."""
    out = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^\s{0,3}(`{3,}|~{3,})\s*mermaid\s*$", lines[i])
        if m:
            fence, start, body = m.group(1), i + 1, []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(fence):
                body.append(lines[i])
                i += 1
            out.append((start, "\n".join(body)))
        i += 1
    return out


def _node_ref(text: str, pos: int) -> tuple[str, bool, int] | str:
    """Parse `ID` or `ID<shape>"label"<closer>` at pos: (id, defined-here, new pos) or an error."""
    m = re.compile(_ID).match(text, pos)
    if not m:
        return f"expected a node id at column {pos + 1}"
    node_id, pos = m.group(0), m.end()
    if node_id in _RESERVED:
        return f"{node_id!r} is a reserved word, not a node id"
    for opener, closer in _SHAPES:
        if text.startswith(opener, pos):
            pos += len(opener)
            if not text.startswith('"', pos):
                return f"label of {node_id} must be quoted"
            end = text.find('"', pos + 1)
            if end == -1:
                return f"unterminated label of {node_id}"
            pos = end + 1
            if not text.startswith(closer, pos):
                return f"node {node_id}: expected {closer!r} after its label"
            return node_id, True, pos + len(closer)
    return node_id, False, pos


def _brackets_balanced(line: str) -> bool:
    """Brackets outside quoted labels balance (a closer never comes before its opener)."""
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif ch in "([{":
            stack.append(ch)
        elif ch in pairs:
            if not stack or stack.pop() != pairs[ch]:
                return False
    return not stack and not quoted


def validate_flowchart(text: str) -> list[str]:
    """Problems of one flowchart block ("line N: …", line 1 = the header); [] when it is well formed."""
    problems: list[str] = []
    lines = text.splitlines()
    content = [(i + 1, line.strip()) for i, line in enumerate(lines) if line.strip() and not line.strip().startswith("%%")]
    if not content:
        return ["empty diagram"]
    first_no, header = content[0]
    words = header.split()
    if len(words) != 2 or words[0] not in ("flowchart", "graph") or words[1] not in _DIRECTIONS:
        problems.append(f"line {first_no}: expected `flowchart LR|TB|…`, found {header!r}")
    defined: set[str] = set()
    edges: list[tuple[int, str, str]] = []
    depth = 0
    for number, line in content[1:]:
        if not _brackets_balanced(line):
            problems.append(f"line {number}: unbalanced brackets or quotes: {line!r}")
            continue
        if line == "end":
            depth -= 1
            if depth < 0:
                problems.append(f"line {number}: `end` without `subgraph`")
                depth = 0
            continue
        if line.startswith("subgraph "):
            m = re.fullmatch(rf"subgraph ({_ID})(\[\"[^\"]*\"\])?", line)
            if not m:
                problems.append(f"line {number}: expected `subgraph ID[\"label\"]`, found {line!r}")
            else:
                defined.add(m.group(1))
            depth += 1
            continue
        if line.startswith(("classDef ", "class ", "style ", "linkStyle ")):
            continue
        parsed = _node_ref(line, 0)
        if isinstance(parsed, str):
            problems.append(f"line {number}: {parsed}")
            continue
        first, is_def, pos = parsed
        if is_def:
            defined.add(first)
        rest = line[pos:].lstrip()
        if not rest:
            if not is_def:
                defined.add(first)  # a bare id declares a node too
            continue
        chain_ok = True
        left = first
        while rest:
            arrow = next((a for a in _ARROWS if rest.startswith(a)), None)
            if arrow is None:
                problems.append(f"line {number}: expected an edge (-->, -.->, ==>) after {left}, found {rest!r}")
                chain_ok = False
                break
            rest = rest[len(arrow):]
            if rest.startswith("|"):
                m = re.match(r'\|"[^"|]*"\|', rest)
                if not m:
                    problems.append(f"line {number}: edge label must be written |\"text\"|")
                    chain_ok = False
                    break
                rest = rest[m.end():]
            rest = rest.lstrip()
            parsed = _node_ref(rest, 0)
            if isinstance(parsed, str):
                problems.append(f"line {number}: {parsed}")
                chain_ok = False
                break
            right, is_def, pos = parsed
            if is_def:
                defined.add(right)
            edges.append((number, left, right))
            left, rest = right, rest[pos:].lstrip()
        if not chain_ok:
            continue
    if depth:
        problems.append(f"{depth} subgraph(s) without `end`")
    for number, a, b in edges:
        for n in (a, b):
            if n not in defined:
                problems.append(f"line {number}: edge uses node {n!r}, which is never defined")
    if not edges:
        problems.append("no edges")
    return problems
