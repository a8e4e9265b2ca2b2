"""The committed artifacts match the Solidity sources (rebuild with `node contracts/build.mjs`)."""

import re
from pathlib import Path

from contracts import load_artifact
from contracts.artifacts import (
    SOURCES_DIR,
    artifact_names,
    artifacts_are_current,
    compute_sources_hash,
    read_build_info,
)
from contracts.sale import SaleConfig


def test_artifacts_match_sources() -> None:
    assert artifacts_are_current(), (
        "contracts/artifacts is stale: run `node contracts/build.mjs` and commit the result "
        f"(recorded {read_build_info()['sourcesHash']}, sources now {compute_sources_hash()})"
    )


def test_build_used_the_pinned_compiler_with_the_optimizer() -> None:
    info = read_build_info()
    assert info["solcVersion"].startswith("0.8.28+")
    assert info["openzeppelinVersion"] == "5.7.0"
    assert info["settings"]["optimizer"]["enabled"] is True


def test_every_contract_has_abi_and_bytecode() -> None:
    assert set(artifact_names()) >= {"TrancheToken", "TrancheSale", "TrancheVesting", "MockStablecoin"}
    for name in artifact_names():
        artifact = load_artifact(name)
        assert re.fullmatch(r"0x[0-9a-f]+", artifact.bytecode)
        # EIP-170: deployed code above 24,576 bytes cannot be deployed on mainnet-like chains.
        assert 0 < (len(artifact.deployed_bytecode) - 2) // 2 <= 24_576
        assert any(entry.get("type") == "constructor" for entry in artifact.abi)


def test_every_custom_error_of_ours_has_a_test() -> None:
    """Each `error X(...)` declared in contracts/src is asserted by name in some `reverts(...)` of these tests."""
    declared = {
        match
        for path in SOURCES_DIR.rglob("*.sol")
        for match in re.findall(r"^\s*error (\w+)\(", path.read_text(), flags=re.MULTILINE)
    }
    tests = "".join(path.read_text() for path in Path(__file__).parent.glob("test_*.py"))
    untested = sorted(name for name in declared if not re.search(rf'reverts\([^)]*?"{name}"', tests))
    assert declared
    assert untested == []


def test_sale_config_matches_the_constructor() -> None:
    constructor = next(e for e in load_artifact("TrancheSale").abi if e["type"] == "constructor")
    components = constructor["inputs"][0]["components"]
    assert [c["name"] for c in components] == SaleConfig.field_names()
