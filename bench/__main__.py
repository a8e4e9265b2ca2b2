"""Run the benchmarks and write `bench/results/<area>.json` and `bench/results/<area>.md`.

Each area is a module `bench/<area>.py` with `run() -> Result`. Absolute times on shared machines vary from
run to run, so every area reports ratios against a baseline measured in the same run (see DESIGN.md).

    python -m bench              every area
    python -m bench web devnet   only these
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench.result import Result

RESULTS = Path(__file__).resolve().parent / "results"
AREAS = ["web", "compliance", "devnet", "equity", "investing", "tokens"]


def write(area: str, result: Result) -> None:
    RESULTS.mkdir(exist_ok=True)
    document = {
        "area": area,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "metrics": result.metrics,
    }
    (RESULTS / f"{area}.json").write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    lines = [f"# {area} — {document['when']}", "", "| metric | value |", "|---|---|"]
    lines += [f"| `{key}` | {value:g} |" for key, value in sorted(result.metrics.items())]
    if result.notes:
        lines += ["", *result.notes]
    (RESULTS / f"{area}.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str]) -> int:
    areas = argv or AREAS
    for area in areas:
        if not (Path(__file__).parent / f"{area}.py").exists():
            print(f"bench: no area named {area!r} (have: {', '.join(AREAS)})", file=sys.stderr)
            return 2
    for area in areas:
        print(f"== bench {area}", flush=True)
        module = importlib.import_module(f"bench.{area}")
        result: Result = module.run()
        write(area, result)
        for key, value in sorted(result.metrics.items()):
            print(f"   {key:60s} {value:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
