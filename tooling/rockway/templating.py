"""One Jinja environment for scripts: strict variables, project-relative includes, errors with file and line."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from types import TracebackType
from typing import Any, Iterator, Mapping

import jinja2
from jinja2 import nodes

from rockway import extensions, sqlsplit
from rockway.errors import InputError, RockwayError
from rockway.model import Script, Statement

__all__ = ["Renderer", "has_sql", "referenced_files", "template_search_path", "REFERENCE_DATA_DIR"]

# `-- rockway:key=value` directives a statement may carry, with their allowed values (empty: any value).
DIRECTIVES: dict[str, frozenset[str]] = {"wait": frozenset({"true", "false"})}

REFERENCE_DATA_DIR = "reference-data"
_TEMPLATE_SUBDIRS = ("templates", "macros")
_UNDEFINED_RE = re.compile(r"^'([^']+)' is undefined$")


def template_search_path(project_dir: Path) -> list[Path]:
    """Folders `{% include %}` looks in: the project folder, then `templates/` and `macros/` if present."""
    project_dir = Path(project_dir)
    return [project_dir] + [project_dir / sub for sub in _TEMPLATE_SUBDIRS if (project_dir / sub).is_dir()]


def _relative(path: Path | str, project_dir: Path) -> str:
    """Path relative to the project with forward slashes, or the path as given when outside it."""
    try:
        return Path(path).relative_to(project_dir).as_posix()
    except ValueError:
        try:
            return Path(path).resolve().relative_to(Path(project_dir).resolve()).as_posix()
        except (ValueError, OSError):
            return Path(path).as_posix()


def _directive_line(text: str, before: int, key: str) -> int:
    """Line of the `-- rockway:<key>` comment that precedes the statement starting at line `before`."""
    lines = text.split("\n")
    for number in range(min(before, len(lines)), 0, -1):
        if f"rockway:{key}" in lines[number - 1]:
            return number
    return before


_JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)


def has_sql(source: str) -> bool:
    """Whether a script's raw text holds anything besides comments and whitespace, before rendering.

    `{% if engine == 'starrocks' %}CREATE …{% endif %}` has SQL though it may render to nothing;
    a `migrate new` scaffold nobody filled in has none.
    """
    try:
        return bool(sqlsplit.split(_JINJA_COMMENT.sub("", source)))
    except sqlsplit.SplitError:
        return True  # an unclosed quote or comment is text; rendering reports it with its line


class Renderer:
    """Render scripts with the project's variables and built-in globals."""

    def __init__(self, project_dir: Path, variables: Mapping[str, Any], *, env_name: str | None = None,
                 engine: str = "starrocks", database: str | None = None) -> None:
        self.project_dir = Path(project_dir)
        self.engine = engine
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(p) for p in template_search_path(self.project_dir)]),
            undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
        self.globals: dict[str, Any] = self.env.globals  # shared: additions are visible to every template
        self.globals.update(variables)
        self.globals.update(env=env_name, engine=engine, database=database)
        self._seen_globals: dict[str, Any] = {}

    def render(self, script: Script) -> str:
        """Render a script's source; `script` and `version` are available to it."""
        version = None if script.version is None else str(script.version)
        return self._render(script.source, script.name, {"script": script.name, "version": version})

    def render_text(self, text: str, name: str) -> str:
        """Render text that is not a migration script (job SQL, checks); `name` appears in errors."""
        return self._render(text, name, {"script": name, "version": None})

    def statements(self, script: Script) -> list[Statement]:
        """Render a script and split it into statements."""
        rendered = self.render(script)
        try:
            statements = sqlsplit.split(rendered, hash_comments=extensions.hash_comments(self.engine))
        except sqlsplit.SplitError as exc:
            where = "" if rendered == script.source else " (line of the rendered script)"
            raise InputError(script.name, exc.message + where, line=exc.line) from None
        for stmt in statements:
            for key, value in stmt.directives:
                allowed = DIRECTIVES.get(key)
                line = _directive_line(rendered, stmt.line, key)
                if allowed is None:
                    raise InputError(script.name, f"unknown directive `-- rockway:{key}`", line=line,
                                     hint="Known: " + ", ".join(f"rockway:{k}={'|'.join(sorted(v))}" for k, v in DIRECTIVES.items()))
                if allowed and value not in allowed:
                    raise InputError(script.name, f"`-- rockway:{key}={value}`: expected one of {', '.join(sorted(allowed))}",
                                     line=line)
        return statements

    def _render(self, text: str, name: str, context: dict[str, Any]) -> str:
        if "{" not in text and "\r" not in text:  # no template syntax: Jinja would give it back as it is
            return text  # (it turns CR and CRLF into LF; script sources have only LF already, discovery.py)
        try:
            code = self.env.compile(text, name=name, filename=name)
        except jinja2.TemplateSyntaxError as exc:
            raise InputError(name, f"template syntax error: {exc.message}", line=exc.lineno) from None
        if self._seen_globals != self.globals:  # imported macro modules copy globals once; reload after changes
            if self.env.cache is not None:
                self.env.cache.clear()
            self._seen_globals = dict(self.globals)
        template = self.env.template_class.from_code(self.env, code, self.env.make_globals(None))
        try:
            return template.render(context)
        except RockwayError:
            raise
        except Exception as exc:  # noqa: BLE001 - every template failure becomes an input error
            raise self._translate(exc, name) from None

    def _translate(self, exc: Exception, name: str) -> InputError:
        """Turn a rendering failure into an InputError naming the script, line and included file."""
        line, inner = _locate(exc.__traceback__, name)
        if isinstance(exc, jinja2.TemplateSyntaxError):
            message = f"template syntax error: {exc.message}"
            if exc.filename and exc.filename != name:
                inner = (exc.filename, exc.lineno)
        elif isinstance(exc, jinja2.TemplateNotFound):
            roots = ", ".join(_relative(p, self.project_dir) or "." for p in template_search_path(self.project_dir))
            message = f"included template {exc.name!r} not found (searched {roots})"
        elif isinstance(exc, jinja2.UndefinedError):
            match = _UNDEFINED_RE.match(exc.message or "")
            message = f"undefined variable {match.group(1)!r}" if match else f"undefined value: {exc.message}"
        else:
            message = f"{type(exc).__name__}: {exc}"
        if inner is not None and inner[0] != name:
            message += f" (in {_relative(inner[0], self.project_dir)} line {inner[1]})"
        return InputError(name, message, line=line)


def _template_frames(tb: TracebackType | None) -> Iterator[tuple[str, int]]:
    """(file, line) of each traceback frame Jinja rewrote to point into a template, outermost first."""
    while tb is not None:
        frame = tb.tb_frame
        if "__jinja_exception__" in frame.f_globals:
            yield frame.f_code.co_filename, tb.tb_lineno
        tb = tb.tb_next


def _locate(tb: TracebackType | None, name: str) -> tuple[int | None, tuple[str, int] | None]:
    """Innermost line in the script itself and the innermost template frame overall."""
    line: int | None = None
    inner: tuple[str, int] | None = None
    for frame in _template_frames(tb):
        inner = frame
        if frame[0] == name:
            line = frame[1]
    return line, inner


@functools.lru_cache(maxsize=1)
def _parser() -> jinja2.Environment:
    return jinja2.Environment(autoescape=False)


def _template_names(node: nodes.Node) -> list[str] | None:
    """Constant template names of an include/import node (a list means the first that exists); None if dynamic."""
    template = getattr(node, "template", None)
    if isinstance(template, nodes.Const) and isinstance(template.value, str):
        return [template.value]
    if isinstance(template, (nodes.Tuple, nodes.List)):
        names = [item.value for item in template.items if isinstance(item, nodes.Const) and isinstance(item.value, str)]
        return names if len(names) == len(template.items) and names else None
    return None


def referenced_files(source: str, script_path: Path, project_dir: Path) -> list[Path]:
    """Files a template depends on: constant include/import/extends targets (transitively) and `load_csv` CSVs."""
    project_dir = Path(project_dir)
    roots = template_search_path(project_dir)
    found: dict[Path, None] = {}
    seen: set[Path] = set()
    pending: list[tuple[str, Path]] = [(source, Path(script_path))]
    while pending:
        text, path = pending.pop()
        name = _relative(path, project_dir)
        try:
            tree = _parser().parse(text, name=name, filename=name)
        except jinja2.TemplateSyntaxError as exc:
            raise InputError(name, f"template syntax error: {exc.message}", line=exc.lineno) from None
        for node in tree.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
            names = _template_names(node)
            if names is None:
                continue
            candidates = [root / n for n in names for root in roots]
            target = next((c for c in candidates if c.is_file()), None)
            if target is None:
                if not getattr(node, "ignore_missing", False):
                    found.setdefault(project_dir / names[0])
                continue
            found.setdefault(target)
            if target not in seen:
                seen.add(target)
                try:
                    pending.append((target.read_text(encoding="utf-8"), target))
                except (OSError, UnicodeDecodeError) as exc:
                    raise InputError(_relative(target, project_dir), f"cannot read included template: {exc}") from None
        for call in tree.find_all(nodes.Call):
            if (isinstance(call.node, nodes.Name) and call.node.name == "load_csv" and call.args
                    and isinstance(call.args[0], nodes.Const) and isinstance(call.args[0].value, str)):
                csv_path = project_dir / REFERENCE_DATA_DIR / call.args[0].value
                found.setdefault(csv_path)
                manifest = csv_path.with_suffix(".yaml")
                if manifest.exists():  # the manifest (types, keys) changes what a seed loads too
                    found.setdefault(manifest)
    return sorted(found, key=lambda p: _relative(p, project_dir))
