"""`pip check`, limited to the packages rockway[dev] installs.

A machine may carry unrelated packages with pins of their own (e.g. a system awscli pinning docutils); their
conflicts are printed but do not fail CI. A broken requirement of any package that rockway[dev] installs, directly or
not, fails. Usage: python3 scripts/pip_check_project.py
"""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata

from packaging.requirements import Requirement


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(root: str = "rockway", extras: tuple[str, ...] = ("dev",)) -> set[str]:
    seen: set[str] = set()
    todo: list[tuple[str, tuple[str, ...]]] = [(root, extras)]
    while todo:
        name, wanted = todo.pop()
        if _norm(name) in seen:
            continue
        seen.add(_norm(name))
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in requires:
            req = Requirement(text)
            # a requirement applies when its marker holds without extras or with one of the extras asked for
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in ("", *wanted)):
                todo.append((req.name, tuple(req.extras)))
    return seen


def main() -> int:
    result = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    if result.returncode == 0:
        print(result.stdout.strip())
        return 0
    ours = closure()
    failing = []
    for line in result.stdout.splitlines():
        words = line.split()
        # "<package> <version> has requirement ..." / "<package> <version> requires ...": the first word is the
        # package whose requirement is broken; rockway's own tree is consistent unless that package is in it.
        if words and _norm(words[0]) in ours:
            failing.append(line)
        else:
            print(f"not rockway's (ignored): {line}")
    for line in failing:
        print(line)
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
