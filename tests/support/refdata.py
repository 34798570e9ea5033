"""A reference table for the reference-data tests: its manifest, a CSV, its DDL and the seed script that loads it."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

MANIFEST = """\
table: dim_x
key: [code]
source: unit tests
update_frequency: never
owner: tests@example.com
columns:
  - {name: code, type: INT, nullable: false}
  - {name: name, type: VARCHAR(20), nullable: false}
  - {name: price, type: "DECIMAL(8,2)"}
  - {name: since, type: DATE}
  - {name: changed_at, type: DATETIME}
  - {name: active, type: BOOLEAN, nullable: false}
"""
HEADER = "code,name,price,since,changed_at,active\n"
GOOD = (HEADER
        + "1,Alpha,10.50,2024-01-31,2024-02-01 10:00:00,true\n"
        + '2,"Beta, the second",,2023-12-01,2024-02-01T11:30:00,false\n'
        + '3,"Gämma ""γ""",0.99,,,1\n')
GOOD_ROWS = [
    (1, "Alpha", Decimal("10.50"), date(2024, 1, 31), datetime(2024, 2, 1, 10, 0), 1),
    (2, "Beta, the second", None, date(2023, 12, 1), datetime(2024, 2, 1, 11, 30), 0),
    (3, 'Gämma "γ"', Decimal("0.99"), None, None, 1),
]
DDL = ("CREATE TABLE dim_x (code INT NOT NULL PRIMARY KEY, name VARCHAR(20) NOT NULL, price DECIMAL(8,2), since DATE,"
       " changed_at DATETIME, active BOOLEAN NOT NULL) DEFAULT CHARSET=utf8mb4;\n")
SEED = "{{ load_csv('dim_x.csv') }}\n"


def write_ref(root: Path, data: str | bytes, manifest: str = MANIFEST, name: str = "dim_x") -> Path:
    folder = root / "reference-data"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yaml").write_text(manifest, encoding="utf-8")
    path = folder / f"{name}.csv"
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path
