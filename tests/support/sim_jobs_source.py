"""The ERP side of the jobs simulation (tests/project/test_sim_jobs.py): writes source rows over simulated time and
keeps the history of every version the ERP ever held, read back from the ERP itself after each write.

The ERP keeps the current state only (jobs/sources/erp_schema.sql); the warehouse keeps versions. To judge
what the warehouse should hold, `History` snapshots the ERP after every write with the jobs' own semantics:
a billing item's version is the stg_billing_item extract's row (jobs/stg_billing_item.sql: order header +
item, changed_at = the later of both change times); a customer's version is the dim_customer extract's row.
Each version remembers when it was committed (`seq`) and whether it arrived late: committed with a change
time at or below the job's watermark, so only the lookback of the next run picks it up (jobs/README.md,
"Windows"). Times are whole seconds: the warehouse columns are DATETIME (migrations V2, V4).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Callable, Sequence

# The stg_billing_item extract (jobs/stg_billing_item.sql) as one SELECT over the current ERP state.
ITEM_VERSIONS = (
    "SELECT o.order_id, i.item_no, o.billing_date, o.order_type, o.cancelled, o.sales_org, o.distribution_channel,"
    " o.division, o.sales_group, o.customer_id, i.material_id, i.quantity, i.unit, i.net_amount, i.tax_amount,"
    " o.currency, GREATEST(o.updated_at, i.updated_at)"
    " FROM {erp}.orders AS o JOIN {erp}.order_items AS i ON i.order_id = o.order_id")
# The dim_customer extract (jobs/dim_customer.sql).
CUSTOMER_VERSIONS = ("SELECT customer_id, name, customer_group, industry, country, city, postal_code, updated_at"
                     " FROM {erp}.customers")
STG_COLUMNS = ("vbeln", "posnr", "fkdat", "fkart", "fksto", "vkorg", "vtweg", "spart", "vkgrp", "kunag", "matnr",
               "fkimg", "vrkme", "netwr", "mwsbp", "waerk", "changed_at")
DIM_ATTRS = ("customer_name", "customer_group", "industry_key", "country_code", "city", "postal_code")
MATERIALS = tuple(f"M{i:08d}" for i in range(1, 9))
CITIES = ("Wien", "Linz", "Graz", "Salzburg", "Innsbruck")


@dataclass
class Version:
    row: tuple[Any, ...]        # item: the 17 STG_COLUMNS; customer: id, 6 attributes, changed_at
    seq: int                    # the source write that committed it
    late: bool                  # committed with changed_at <= the job's watermark
    settled: int | None = None  # from which operation on a run covering its change time must read it
    read: int | None = None     # the first operation whose successful run read it (current at its start)

    @property
    def changed_at(self) -> datetime:
        return self.row[-1]


@dataclass
class History:
    """Every version of every billing item and customer the ERP held, in commit order per key."""

    items: dict[tuple[str, int], list[Version]] = field(default_factory=dict)
    customers: dict[str, list[Version]] = field(default_factory=dict)

    def record(self, seq: int, item_rows: Sequence[tuple[Any, ...]], customer_rows: Sequence[tuple[Any, ...]],
               stg_watermark: datetime | None, dim_watermark: datetime | None) -> None:
        """Add the versions of a new ERP snapshot that differ from the last known ones."""
        for store, rows, watermark, key_of in ((self.items, item_rows, stg_watermark, lambda r: (r[0], r[1])),
                                               (self.customers, customer_rows, dim_watermark, lambda r: r[0])):
            for row in rows:
                versions = store.setdefault(key_of(row), [])
                if versions and versions[-1].row == tuple(row):
                    continue
                late = watermark is not None and row[-1] <= watermark
                versions.append(Version(tuple(row), seq, late, None if late else seq))

    def current_items(self) -> dict[tuple[str, int], Version]:
        return {k: v[-1] for k, v in self.items.items()}

    def current_customers(self) -> dict[str, Version]:
        return {k: v[-1] for k, v in self.customers.items()}

    def settle(self, store: str, lo: datetime, hi: datetime, started_seq: int) -> None:
        """A successful run of operation `started_seq` read the window (lo, hi] of the then current versions."""
        for versions in getattr(self, store).values():
            v = versions[-1]
            if v.seq <= started_seq and lo < v.changed_at <= hi:
                v.settled = started_seq if v.settled is None else v.settled
                v.read = started_seq if v.read is None else v.read


class ErpWriter:
    """Business activity on the ERP tables, at whole-second change times."""

    def __init__(self, run: Callable[[str, Sequence[Any] | None, bool], None], rng: random.Random) -> None:
        self._run = run
        self.rng = rng
        self.next_order = 1
        self.next_customer = 1
        self.orders: dict[str, tuple[date, datetime]] = {}  # order_id -> (billing date, header updated_at)
        self.customers: dict[str, datetime] = {}              # customer_id -> updated_at

    def run(self, sql: str, params: Sequence[Any] | None = None, many: bool = False) -> None:
        self._run(sql, params, many)

    def when(self, lo: datetime, hi: datetime) -> datetime:
        """A whole second in (lo, hi]; the bounds themselves come up often (window edges). Never after hi: when
        (lo, hi] holds no whole second (lo >= hi, e.g. a customer created at hi and changed again) it is hi, and
        the callers that need a time after lo leave the change out. A time after hi would be a row from after the
        simulation's now, which no load up to now may see (a fact referring to it would rightly fail its check)."""
        lo_s = int((lo - datetime(2000, 1, 1)).total_seconds()) + 1
        hi_s = int((hi - datetime(2000, 1, 1)).total_seconds())
        pick = self.rng.choice((lo_s, hi_s, self.rng.randint(lo_s, max(lo_s, hi_s))))
        return datetime(2000, 1, 1) + timedelta(seconds=min(max(pick, lo_s), hi_s))

    def new_customer(self, changed: datetime) -> str:
        cid = f"C{self.next_customer:05d}"
        self.next_customer += 1
        self.run("INSERT INTO customers VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                 (cid, f"Customer {cid}", "G1", "RETL", "AT", self.rng.choice(CITIES), "1010", changed))
        self.customers[cid] = changed
        return cid

    def change_customer(self, cid: str, changed: datetime) -> None:
        """A new state: one or two tracked attributes change, or none (a touch: no new SCD2 version)."""
        sets = self.rng.sample(["name = %s", "city = %s", "customer_group = %s", "postal_code = NULL"],
                               self.rng.randint(0, 2))
        values = {"name = %s": f"Customer {cid} v{self.rng.randint(1, 999)}", "city = %s": self.rng.choice(CITIES),
                  "customer_group = %s": self.rng.choice(("G1", "G2", "G3"))}
        params = [values[s] for s in sets if s in values]
        self.run(f"UPDATE customers SET {', '.join(sets + ['updated_at = %s'])} WHERE customer_id = %s",
                 (*params, changed, cid))
        self.customers[cid] = changed

    def new_order(self, billing_day: date, changed: datetime, customer: str) -> str:
        oid = f"{self.next_order:010d}"
        self.next_order += 1
        self.run("INSERT INTO orders VALUES (%s, 'F2', %s, NULL, '1000', '10', '00', %s, %s, 'EUR', %s)",
                 (oid, billing_day, f"{100 + self.rng.randint(0, 2)}", customer, changed))
        lines = [(oid, n * 10, self.rng.choice(MATERIALS), Decimal(self.rng.randint(1, 50)), "EA",
                  Decimal(self.rng.randint(100, 99999)) / 100, Decimal(self.rng.randint(0, 9999)) / 100, changed)
                 for n in range(1, self.rng.randint(1, 3) + 1)]
        self.run("INSERT INTO order_items VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", lines, True)
        self.orders[oid] = (billing_day, changed)
        return oid

    def change_order(self, oid: str, changed: datetime) -> None:
        """An item's amount changes, or the whole order is cancelled (a header change: every item's version)."""
        if self.rng.random() < 0.3:
            self.run("UPDATE orders SET cancelled = 'X', updated_at = %s WHERE order_id = %s", (changed, oid))
        else:
            self.run("UPDATE order_items SET net_amount = net_amount + 1, quantity = quantity + 1, updated_at = %s "
                     "WHERE order_id = %s AND item_no = 10", (changed, oid))
        day, _ = self.orders[oid]
        self.orders[oid] = (day, changed)

    def recent_orders(self, since: date) -> list[str]:
        """Orders billed on or after `since` (changes are kept inside fact_sales' 3-day lookback)."""
        return [o for o, (day, _) in self.orders.items() if day >= since]
