"""Option files of the MariaDB backup: every value quoted so the dump client reads back exactly what was written.

The round trip goes through the real client tool `my_print_defaults`, which prints what a client reads from an
option file (skipped, with the reason, where the MariaDB client tools are not installed). The backup itself on
the server: tests/mariadb/test_backup_options.py.
"""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, strategies as st

from rockway.adapters.option_file import option_file_text, quote_option_value, write_option_file


def read_back(tmp_path: Path, name: str, value: str) -> bytes:
    """What the MariaDB client library reads for `name` from an option file rockway writes."""
    cnf = tmp_path / "read.cnf"
    cnf.write_text(option_file_text("client", {name: value}), encoding="utf-8")
    out = subprocess.run(["my_print_defaults", f"--defaults-file={cnf}", "client"], capture_output=True, check=True).stdout
    prefix = f"--{name}=".encode()
    assert out.startswith(prefix) and out.endswith(b"\n"), out
    return out[len(prefix):-1]


needs_print_defaults = pytest.mark.skipif(shutil.which("my_print_defaults") is None,
                                          reason="my_print_defaults (MariaDB client tools) is not installed")


@needs_print_defaults
@given(value=st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=40))
@example(value="a#b")
@example(value=" lead and trail ")
@example(value="ends in backslash\\")
@example(value="\"quoted\"")
@example(value="'single'")
@example(value="line\nbreak\r\tand\bcontrol")
@example(value="\\s\\n literally")
def test_every_value_reads_back_exactly(tmp_path: Path, value: str) -> None:
    assert read_back(tmp_path, "password", value) == value.encode("utf-8")


def test_values_are_double_quoted_with_backslash_escapes() -> None:
    assert quote_option_value("p#w") == '"p#w"'
    assert quote_option_value('a"b\'c\\d') == '"a\\"b\\\'c\\\\d"'
    assert quote_option_value("x\ny") == '"x\\ny"'
    assert quote_option_value(3306) == '"3306"'
    assert option_file_text("client", {"user": "u", "password": None}) == '[client]\nuser="u"\n'


@pytest.mark.parametrize("bad", [{"group": "client]\n[mysqld", "options": {}},
                                 {"group": "client", "options": {"pass word": "x"}},
                                 {"group": "client", "options": {"password": "nul\0byte"}}])
def test_unwritable_option_files_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        option_file_text(bad["group"], bad["options"])


def test_the_option_file_is_private(tmp_path: Path) -> None:
    path = write_option_file("client", {"password": "secret#1"})
    try:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        path.unlink()
