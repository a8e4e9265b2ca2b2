"""Load the sanctions (OFAC SDN CSV) and PEP lists into the database; screening reads them from there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from compliance.services.screening import screening_lists_load

SAMPLES = Path(__file__).resolve().parents[2] / "data"


class Command(BaseCommand):
    help = "Load the OFAC SDN list (sdn.csv + alt.csv, as published) and a PEP list (CSV). Defaults: the samples."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sdn", type=Path, default=SAMPLES, help="folder holding sdn.csv and alt.csv")
        parser.add_argument("--pep", type=Path, default=SAMPLES / "pep.csv", help="the PEP list (CSV)")

    def handle(self, *args: Any, **options: Any) -> None:
        counts = screening_lists_load(sdn_directory=options["sdn"], pep_file=options["pep"])
        self.stdout.write(", ".join(f"{name}: {count} entries" for name, count in sorted(counts.items())))
