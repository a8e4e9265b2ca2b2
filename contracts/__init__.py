"""Solidity sources of Tranche's token, sale and vesting contracts, and their compiled artifacts.

`load_artifact("TrancheSale")` returns the ABI and bytecode written by `node contracts/build.mjs`.
"""

from contracts.artifacts import Artifact, load_artifact

__all__ = ["Artifact", "load_artifact"]
