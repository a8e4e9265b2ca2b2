// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

interface IReentrancyTarget {
    function buy(uint256 amount) external payable;
    function refund(address wallet) external;
    function claim(address wallet) external;
}

/// @title Test double: an investor contract that calls back into the sale when it receives ether.
/// @dev Only for the contract tests (tests/contracts); never deployed by the platform.
contract ReentrantInvestor {
    enum Attack {
        None,
        Refund,
        Claim
    }

    IReentrancyTarget public immutable sale;
    Attack public attack;

    constructor(IReentrancyTarget sale_) {
        sale = sale_;
    }

    function buy() external payable {
        sale.buy{value: msg.value}(msg.value);
    }

    function setAttack(Attack attack_) external {
        attack = attack_;
    }

    receive() external payable {
        if (attack == Attack.Refund) sale.refund(address(this));
        if (attack == Attack.Claim) sale.claim(address(this));
    }
}
