"""This warehouse's reference data (reference-data/): every CSV passes its manifest, and generate.py reproduces it."""

from __future__ import annotations

import subprocess
import sys

from rockway.refdata import loader as refdata
from tests.support.paths import REPO_ROOT


def test_real_reference_files_are_valid_and_reproducible() -> None:
    root = REPO_ROOT
    for name, rows in (("dim_material_mapper.csv", (200, 400)), ("dim_sales_group_code.csv", (200, 400))):
        manifest, stats = refdata.check_csv(root, name)
        assert rows[0] <= stats.rows <= rows[1]
        assert manifest.source and manifest.update_frequency and manifest.owner
    check = subprocess.run([sys.executable, str(root / "reference-data" / "generate.py"), "--check"],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
