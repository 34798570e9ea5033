#!/usr/bin/env python3
"""Regenerate the reference CSVs of this folder (deterministic: fixed seed, fixed dates).

    python reference-data/generate.py            # rewrite dim_material_mapper.csv and dim_sales_group_code.csv
    python reference-data/generate.py --check    # exit 1 if the committed CSVs differ from what this writes

The CSVs are committed; this script documents how they were made and keeps them reproducible. The
material master mimics an SAP extract of a beverages & snacks manufacturer (MARA/MARM/MVKE fields:
MATNR 18 characters zero-padded, MATKL, PRDHA 5+5+8, MEINS/VRKME, BRGEW/NTGEW, EAN11). The sales groups
mimic SAP SD customizing (VKORG/VTWEG/SPART/VKGRP/VKBUR) joined with the regional sales plan.
`material_rows(n)` is also used by bench/bench_refdata.py to make a large file of the same shape.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Iterator

HERE = Path(__file__).resolve().parent
SEED = 20240501

MATERIAL_COLUMNS = ["material_number", "material_description", "material_type", "material_group",
                    "material_group_name", "product_hierarchy", "brand", "base_unit", "sales_unit", "units_per_case",
                    "net_weight_kg", "gross_weight_kg", "ean_upc", "is_active", "valid_from", "valid_to", "updated_at"]

SALES_GROUP_COLUMNS = ["sales_org", "distribution_channel", "division", "sales_group_code", "sales_group_name",
                       "sales_office", "region_code", "region_name", "country_code", "currency", "manager_name",
                       "annual_target_amount", "is_active", "valid_from", "valid_to", "updated_at"]

# division (PRDHA level 1), category (level 2), material group (MATKL), group name, base unit, products
_CATALOG = [
    ("00010", "00101", "BEV-SOFT", "Carbonated soft drinks", "L",
     ["Cola", "Cola Zero", "Lemon-Lime", "Orange", "Ginger Ale", "Tonic Water", "Bitter Lemon"]),
    ("00010", "00102", "BEV-WATR", "Bottled water", "L",
     ["Still Water", "Sparkling Water", "Sparkling Water Lemon", "Mineral Water Medium"]),
    ("00010", "00103", "BEV-JUCE", "Juices and nectars", "L",
     ["Apple Juice", "Orange Juice", "Multivitamin Nectar", "Cranberry Nectar", "Apple Spritzer"]),
    ("00010", "00104", "BEV-ENRG", "Energy and sports drinks", "L",
     ["Energy Original", "Energy Sugarfree", "Isotonic Citrus", "Isotonic Berry"]),
    ("00010", "00105", "BEV-TEA", "Iced tea", "L",
     ["Iced Tea Peach", "Iced Tea Lemon", "Green Tea Honey"]),
    ("00020", "00201", "SNK-CHIP", "Potato chips and crisps", "KG",
     ["Crisps, Salted", "Crisps, Paprika", "Crisps, Sour Cream & Onion", "Ridged Chips Salt & Vinegar",
      "Tortilla Chips Nacho"]),
    ("00020", "00202", "SNK-NUTS", "Nuts and seeds", "KG",
     ["Roasted Peanuts", "Cashews, Salted", "Mixed Nuts Deluxe", "Pistachios"]),
    ("00020", "00203", "SNK-BARS", "Cereal and protein bars", "KG",
     ["Oat Bar Honey", "Protein Bar Cocoa", "Muesli Bar Berry"]),
    ("00030", "00301", "CON-CHOC", "Chocolate confectionery", "KG",
     ["Milk Chocolate", "Dark Chocolate 70%", "Hazelnut Chocolate", "White Chocolate Crisp"]),
    ("00030", "00302", "CON-GUM", "Gum and mints", "EA",
     ["Peppermint Gum", "Spearmint Gum", "Strong Mints"]),
]
_BRANDS = {"00010": ["Alpenquell", "Fizzco", "SunPress", "Voltara"], "00020": ["Knusper", "Crunchy Fields", "NutHouse"],
           "00030": ["Cocoa Royale", "Minzfrisch", "Süßwerk"]}
_LIQUID_PACKS = [("0.33L CAN", 0.33, 24), ("0.5L PET", 0.5, 24), ("1.0L PET", 1.0, 12), ("1.5L PET", 1.5, 6),
                 ("0.75L GLASS", 0.75, 12)]
_DRY_PACKS = [("40g", 0.04, 40), ("75g", 0.075, 24), ("150g", 0.15, 12), ("200g", 0.2, 12), ("500g", 0.5, 8)]
_GUM_PACKS = [("10 pcs", 0.014, 50), ("Bottle 60 pcs", 0.084, 12)]


def _gtin13(body: int) -> str:
    digits = f"{body:012d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return digits + str((10 - total % 10) % 10)


def material_rows(n: int, seed: int = SEED) -> Iterator[list[str]]:
    """n material master rows (unique material numbers), as CSV field strings."""
    rng = random.Random(seed)
    start = date(2019, 1, 1)
    for i in range(n):
        div, cat, group, group_name, unit, products = rng.choice(_CATALOG)
        product = rng.choice(products)
        if unit == "L":
            pack, size, per_case = rng.choice(_LIQUID_PACKS)
        elif group == "CON-GUM":
            pack, size, per_case = rng.choice(_GUM_PACKS)
        else:
            pack, size, per_case = rng.choice(_DRY_PACKS)
        brand = rng.choice(_BRANDS[div])
        matnr = f"{10000000 + i * 7 + rng.randint(0, 6):018d}"
        subcat = f"{int(cat) * 1000 + rng.randint(1, 9):08d}"
        net = size  # kg per piece (1 L ~ 1 kg)
        gross = net * rng.uniform(1.04, 1.18) + (0.02 if "GLASS" in pack else 0.0)
        active = rng.random() > 0.08
        valid_from = start + timedelta(days=rng.randint(0, 1800))
        valid_to = "" if active else (valid_from + timedelta(days=rng.randint(90, 900))).isoformat()
        updated = datetime(2024, 1, 1, 6, 0, 0) + timedelta(minutes=rng.randint(0, 60 * 24 * 120))
        ean = "" if rng.random() < 0.05 else _gtin13(400000000000 + i * 13 + rng.randint(0, 12))
        yield [matnr, f"{brand} {product} {pack}", "HAWA" if rng.random() < 0.1 else "FERT", group, group_name,
               f"{div}{cat}{subcat}", brand, "EA" if group == "CON-GUM" else "CS", rng.choice(["CS", "CS", "EA"]),
               str(per_case), f"{net:.3f}", f"{gross:.3f}", ean, "true" if active else "false",
               valid_from.isoformat(), valid_to, updated.strftime("%Y-%m-%d %H:%M:%S")]


# sales org, currency, country, sales offices with regions (code, name)
_ORGS = [
    ("1000", "EUR", "DE", [("1010", "DE-BY", "Bavaria"), ("1020", "DE-BW", "Baden-Württemberg"),
                           ("1030", "DE-NW", "North Rhine-Westphalia"), ("1040", "DE-NI", "Lower Saxony"),
                           ("1050", "DE-BE", "Berlin/Brandenburg"), ("1060", "DE-HH", "Hamburg/Schleswig-Holstein")]),
    ("1100", "EUR", "AT", [("1110", "AT-9", "Vienna"), ("1120", "AT-6", "Styria"), ("1130", "AT-7", "Tyrol")]),
    ("1200", "CHF", "CH", [("1210", "CH-ZH", "Zürich"), ("1220", "CH-GE", "Genève"), ("1230", "CH-TI", "Ticino")]),
    ("2000", "EUR", "FR", [("2010", "FR-IDF", "Île-de-France"), ("2020", "FR-ARA", "Auvergne-Rhône-Alpes"),
                           ("2030", "FR-PAC", "Provence-Alpes-Côte d'Azur"), ("2040", "FR-NAQ", "Nouvelle-Aquitaine")]),
]
_CHANNELS = [("10", "Retail"), ("20", "Wholesale"), ("30", "E-commerce")]
_DIVISIONS = [("10", "Beverages"), ("20", "Snacks & Confectionery")]
_TEAMS = ["Key Accounts", "Field Sales", "Inside Sales"]
_FIRST = ["Anna", "Jürgen", "Lukas", "Sophie", "François", "Élodie", "Marco", "Zoë", "Thomas", "Claire", "Stefan",
          "Léa", "Matthias", "Giulia", "Peter", "Camille"]
_LAST = ["Müller", "Schmid", "Huber", "Weber", "Dubois", "Lefèvre", "Rossi", "Brunner", "Keller", "Moreau",
         "Fischer", "Gerber", "Bianchi", "Wagner", "O'Neill", "Roux"]


def sales_group_rows(seed: int = SEED) -> Iterator[list[str]]:
    """Sales groups per sales area (org, channel, division) and sales office."""
    rng = random.Random(seed + 1)
    for org, currency, country, offices in _ORGS:
        for channel, channel_name in _CHANNELS:
            for division, division_name in _DIVISIONS:
                n = 0
                for office, region, region_name in offices:
                    for team in _TEAMS[:2 if len(offices) > 4 else 3]:
                        n += 1
                        code = f"{channel[0]}{division[0]}{n}" if n < 10 else f"{chr(ord('A') + n - 10)}{channel[0]}{division[0]}"
                        active = rng.random() > 0.07
                        valid_from = date(2020, 1, 1) + timedelta(days=rng.randint(0, 1200))
                        valid_to = "" if active else (valid_from + timedelta(days=rng.randint(180, 700))).isoformat()
                        manager = "" if rng.random() < 0.06 else f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
                        target = round(rng.uniform(0.4, 9.5) * (3 if channel == "10" else 1) * 1_000_000, 2)
                        updated = datetime(2024, 3, 1, 7, 30, 0) + timedelta(minutes=rng.randint(0, 60 * 24 * 60))
                        yield [org, channel, division, code, f"{region_name} {channel_name} {division_name} - {team}", office,
                               region, region_name, country, currency, manager, f"{target:.2f}",
                               "true" if active else "false", valid_from.isoformat(), valid_to,
                               updated.strftime("%Y-%m-%d %H:%M:%S")]


def to_csv(header: list[str], rows: Iterator[list[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def outputs() -> dict[str, str]:
    return {"dim_material_mapper.csv": to_csv(MATERIAL_COLUMNS, material_rows(320)),
            "dim_sales_group_code.csv": to_csv(SALES_GROUP_COLUMNS, sales_group_rows())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare with the committed files")
    args = parser.parse_args(argv)
    stale = []
    for name, text in outputs().items():
        path = HERE / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8", newline="")
            print(f"wrote {path} ({text.count(chr(10)) - 1} rows)")
    if stale:
        print("out of date: " + ", ".join(stale) + " (run python reference-data/generate.py)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
