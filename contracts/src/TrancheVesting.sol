// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {VestingWallet} from "@openzeppelin/contracts/finance/VestingWallet.sol";
import {VestingWalletCliff} from "@openzeppelin/contracts/finance/VestingWalletCliff.sol";

/// @title Vesting for team tokens: OpenZeppelin's linear VestingWallet with a cliff.
/// @notice Tokens sent here vest linearly from `startTimestamp` over `durationSeconds`; nothing is
/// releasable before `startTimestamp + cliffSeconds`. `release(token)` sends the vested amount to the
/// beneficiary (the owner). To release during the token's lock-up, the company grants this contract
/// TrancheToken's LOCKUP_EXEMPT_ROLE.
contract TrancheVesting is VestingWalletCliff {
    constructor(address beneficiary, uint64 startTimestamp, uint64 durationSeconds, uint64 cliffSeconds)
        VestingWallet(beneficiary, startTimestamp, durationSeconds)
        VestingWalletCliff(cliffSeconds)
    {}
}
