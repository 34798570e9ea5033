"""The command reference, from a plain description of the command tree (built by the CLI; no click here).

A tree node is a dict:

    {"name": "up", "path": ["rockway", "migrate", "up"], "summary": "…", "doc": "<the docstring>",
     "help": "<--help text>", "hidden": False, "group": False,
     "options": [{"names": ["--resume"], "flag": True}, …],        # including -h/--help
     "arguments": [{"name": "pipeline", "nargs": 1, "required": True}, …],
     "commands": [<child nodes>]}

The root may also carry "common_help": the help lines of the options every command takes.
Besides rendering, this module resolves `rockway …` command lines against the tree (`resolve`), so the
README and the runbook can be checked to name only commands and options that exist.
"""

from __future__ import annotations

import html
import re
import shlex
from typing import Any, Iterator, Sequence

__all__ = ["walk", "find", "has_example", "lacking", "resolve", "commands_in", "reference"]

Node = dict[str, Any]
_EXAMPLE = re.compile(r"^\s*Examples?:\s*$", re.MULTILINE)
_SHELL_OPS = {"|", "||", "&&", ";", "&", ">", ">>", "<", "2>", "2>>", "2>&1", "1>", "1>>"}


def walk(tree: Node) -> Iterator[Node]:
    """The node and every descendant, depth first, children in name order."""
    yield tree
    for child in sorted(tree.get("commands") or [], key=lambda c: c["name"]):
        yield from walk(child)


def find(tree: Node, path: Sequence[str]) -> Node | None:
    node = tree
    for name in path[1:] if path and path[0] == tree["name"] else path:
        child = next((c for c in node.get("commands") or [] if c["name"] == name), None)
        if child is None:
            return None
        node = child
    return node


def has_example(doc: str | None) -> bool:
    """True when the docstring has an `Example:` / `Examples:` line followed by an indented example."""
    text = doc or ""
    for m in _EXAMPLE.finditer(text):
        rest = text[m.end():].lstrip("\n").splitlines()
        if rest and rest[0].startswith((" ", "\t")) and rest[0].strip():
            return True
    return False


def lacking(tree: Node) -> dict[str, list[str]]:
    """Commands (visible ones) without help text, and without an example, by full path."""
    out: dict[str, list[str]] = {"help": [], "example": []}
    for node in walk(tree):
        if node.get("hidden"):
            continue
        name = " ".join(node["path"])
        if not (node.get("doc") or "").strip():
            out["help"].append(name)
        if not has_example(node.get("doc")):
            out["example"].append(name)
    return out


def _option(node: Node, name: str) -> dict[str, Any] | None:
    return next((o for o in node.get("options") or [] if name in o["names"]), None)


def resolve(tree: Node, argv: Sequence[str]) -> str | None:
    """None when `argv` (starting with `rockway` or `migrate`) names an existing command with options it takes
    and an acceptable number of arguments; otherwise why not."""
    args = list(argv)
    shown = " ".join(args)
    if not args:
        return "empty command"
    if args[0] == "migrate":
        node = find(tree, [tree["name"], "migrate"])
        if node is None:
            return f"`{shown}`: no migrate group"
    elif args[0] == tree["name"]:
        node = tree
    else:
        return f"`{shown}`: not a {tree['name']} command"
    args = args[1:]
    while True:
        positional: list[str] = []
        descended = False
        i = 0
        while i < len(args):
            tok = args[i]
            if tok == "--":
                positional += args[i + 1:]
                break
            if tok.startswith("-") and len(tok) > 1 and not re.fullmatch(r"-\d+(\.\d+)?", tok):
                name, eq, _ = tok.partition("=")
                opt = _option(node, name)
                if opt is None:
                    return f"`{shown}`: `{' '.join(node['path'])}` has no option {name}"
                if name in ("-h", "--help", "--version"):
                    return None
                if not opt["flag"] and not eq:
                    i += 1
                    if i >= len(args):
                        return f"`{shown}`: option {name} needs a value"
                i += 1
                continue
            if node.get("group") and not positional:
                child = next((c for c in node.get("commands") or [] if c["name"] == tok), None)
                if child is None:
                    return f"`{shown}`: `{' '.join(node['path'])}` has no command {tok!r}"
                node, args, descended = child, args[i + 1:], True
                break
            positional.append(tok)
            i += 1
        if descended:
            continue
        if node.get("group"):
            return f"`{shown}`: `{' '.join(node['path'])}` is a command group; name one of its commands"
        params = node.get("arguments") or []
        required = sum((a["nargs"] if a["nargs"] > 0 else 1) for a in params if a.get("required"))
        unlimited = any(a["nargs"] < 0 for a in params)
        most = sum(a["nargs"] for a in params if a["nargs"] > 0)
        if len(positional) < required:
            return f"`{shown}`: `{' '.join(node['path'])}` needs {required} argument(s), got {len(positional)}"
        if not unlimited and len(positional) > most:
            return f"`{shown}`: `{' '.join(node['path'])}` takes {most} argument(s), got {len(positional)}: {positional}"
        return None


def _argv(line: str) -> list[str] | None:
    """The rockway/migrate argv of a shell line (after a `$ ` prompt and VAR=value prefixes; up to an operator)."""
    text = line.strip()
    if text.startswith("$ "):
        text = text[2:]
    try:
        lexer = shlex.shlex(text, posix=True, punctuation_chars="|&;<>")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        tokens = list(lexer)
    except ValueError:
        return None
    while tokens and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", tokens[0]):
        tokens.pop(0)
    for prefix in ("sudo", "time", "exec"):
        if tokens and tokens[0] == prefix:
            tokens.pop(0)
    if not tokens or tokens[0] not in ("rockway", "migrate"):
        return None
    out = []
    for tok in tokens:
        if tok in _SHELL_OPS or re.fullmatch(r"\d?[<>]+&?\d?", tok):
            break
        out.append(tok)
    return out


def commands_in(markdown: str) -> list[tuple[int, list[str]]]:
    """(line, argv) of every `rockway …` / `migrate …` command in a Markdown text: lines of fenced shell or
    plain code blocks, and inline code spans."""
    out: list[tuple[int, list[str]]] = []
    fence: str | None = None
    lang = ""
    pending = ""
    for number, line in enumerate(markdown.splitlines(), start=1):
        m = re.match(r"^\s*(`{3,}|~{3,})\s*([\w-]*)", line)
        if m:
            if fence is None:
                fence, lang = m.group(1), m.group(2).lower()
                continue
            if m.group(1).startswith(fence[0]) and len(m.group(1)) >= len(fence) and not m.group(2):
                fence, pending = None, ""
                continue
        if fence is not None:
            if lang in ("", "bash", "sh", "shell", "console", "zsh"):
                text = pending + line
                if text.rstrip().endswith("\\"):
                    pending = text.rstrip()[:-1] + " "
                    continue
                pending = ""
                argv = _argv(text)
                if argv:
                    out.append((number, argv))
            continue
        for span in re.findall(r"`([^`]+)`", line):
            # prose notation (`rockway run evening|morning`, `rockway <command>`, `rockway job backfill NAME …`) is
            # not a command line
            if span.startswith(("rockway ", "migrate ")) and not any(c in span for c in "…|<>[]"):
                argv = _argv(span)
                if argv:
                    out.append((number, argv))
    return out


def _anchorless(text: str) -> str:
    return html.escape(text, quote=False)


def reference(tree: Node) -> str:
    """Markdown: an index of every command, the common options once, then each command's --help."""
    nodes = [n for n in walk(tree) if not n.get("hidden")]
    out = ["| Command | What it does |", "|---|---|"]
    for n in nodes[1:]:
        summary = (n.get("summary") or "").replace("|", "\\|")
        out.append(f"| `{' '.join(n['path'])}` | {summary} |")
    out.append("")
    if tree.get("common_help"):
        out.append("Every command also takes these options, before or after its name (left out of the texts below):")
        out.append("")
        out.append("```text")
        out.append(tree["common_help"].rstrip())
        out.append("```")
        out.append("")
    for n in nodes:
        title = " ".join(n["path"])
        out.append(f"<details><summary><code>{_anchorless(title)}</code>: {_anchorless(n.get('summary') or '')}</summary>")
        out.append("")
        out.append("```text")
        out.append((n.get("help") or "").rstrip())
        out.append("```")
        out.append("")
        out.append("</details>")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
