"""Load the compiled contracts, and tell whether they still match their sources.

The build script (`node contracts/build.mjs`) writes `contracts/artifacts/<Name>.json` and
`contracts/artifacts/build-info.json`. The latter records the SHA-256 of every input: our Solidity sources,
the build script itself (it holds the compiler settings) and each OpenZeppelin file the compiler used, plus the
solc and OpenZeppelin versions. `compute_sources_hash()` recomputes that hash from the files on disk without
running the compiler, so a fast test can fail when someone edits a contract and forgets to rebuild.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONTRACTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = CONTRACTS_DIR.parent
ARTIFACTS_DIR = CONTRACTS_DIR / "artifacts"
SOURCES_DIR = CONTRACTS_DIR / "src"
BUILD_SCRIPT = CONTRACTS_DIR / "build.mjs"
BUILD_INFO = ARTIFACTS_DIR / "build-info.json"


@dataclass(frozen=True)
class Artifact:
    """A compiled contract: `abi` for web3's `contract(abi=...)`, hex bytecode with a 0x prefix."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    # [{"label", "slot", "offset", "type"}] for each state variable, as solc reports it.
    storage_layout: list[dict[str, Any]] = field(default_factory=list, compare=False)


@functools.cache
def load_artifact(name: str) -> Artifact:
    """The compiled contract `name` (e.g. "TrancheToken"); raises FileNotFoundError if it was never built."""
    data = json.loads((ARTIFACTS_DIR / f"{name}.json").read_text())
    return Artifact(
        name=data["contractName"],
        abi=data["abi"],
        bytecode=data["bytecode"],
        deployed_bytecode=data["deployedBytecode"],
        storage_layout=data.get("storageLayout", []),
    )


def artifact_names() -> list[str]:
    """Names of every contract the last build wrote."""
    return list(read_build_info()["contracts"])


def read_build_info() -> dict[str, Any]:
    info: dict[str, Any] = json.loads(BUILD_INFO.read_text())
    return info


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _package_version(package_dir: Path) -> str:
    version: str = json.loads((package_dir / "package.json").read_text())["version"]
    return version


def compute_sources_hash() -> str:
    """The hash build.mjs would record if it ran now (needs node_modules, not the compiler).

    Inputs: every `contracts/src/**/*.sol` on disk (so adding or removing a contract changes the hash), the build
    script, and the OpenZeppelin files the last build used (a new import changes one of our sources anyway).
    """
    recorded = read_build_info()
    files = [path.relative_to(REPO_ROOT).as_posix() for path in SOURCES_DIR.rglob("*.sol")]
    files.append(BUILD_SCRIPT.relative_to(REPO_ROOT).as_posix())
    files += [file for file in recorded["inputs"] if file.startswith("node_modules/")]
    lines = "".join(f"{file} {_sha256_file(REPO_ROOT / file)}\n" for file in sorted(files))
    solc_version = _package_version(REPO_ROOT / "node_modules" / "solc")
    oz_version = _package_version(REPO_ROOT / "node_modules" / "@openzeppelin" / "contracts")
    # build.mjs records solc's long version string ("0.8.28+commit...."); the npm version is its prefix.
    recorded_solc = recorded["solcVersion"]
    if recorded_solc.split("+", 1)[0] != solc_version:
        recorded_solc = solc_version
    canonical = f"{lines}solc {recorded_solc}\nopenzeppelin {oz_version}\n"
    return hashlib.sha256(canonical.encode()).hexdigest()


def artifacts_are_current() -> bool:
    recorded: str = read_build_info()["sourcesHash"]
    return compute_sources_hash() == recorded
