"""Print the pinned requirements of pyproject.toml (runtime, plus dev with --dev) for pip install -r.

Tranche is an application, not a library: it is never built as a package, so pip installs its pins directly.
"""

import sys
import tomllib
from pathlib import Path

project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]
requirements = list(project["dependencies"])
if "--dev" in sys.argv:
    requirements += project["optional-dependencies"]["dev"]
print("\n".join(requirements))
