// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Capped} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Capped.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title A company's token: ERC-20 with a hard supply cap, ERC-2612 permits and a lock-up transfer rule.
/// @notice The company's own address holds DEFAULT_ADMIN_ROLE. The platform holds only narrow roles:
/// MINTER_ROLE for sale contracts, and DISTRIBUTOR_ROLE whose cumulative minting (across every distributor)
/// is limited by a ceiling only the admin sets. Until `lockupEnd`, transfers between holders are refused;
/// mints, and transfers sent by a sale (MINTER_ROLE) or a vesting contract (LOCKUP_EXEMPT_ROLE), still work.
/// The exemption outlives the role: revoking a sale's MINTER_ROLE stops its minting but can never strand
/// tokens it already holds for its buyers.
contract TrancheToken is ERC20Capped, ERC20Permit, AccessControl {
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");
    bytes32 public constant DISTRIBUTOR_ROLE = keccak256("DISTRIBUTOR_ROLE");
    bytes32 public constant LOCKUP_EXEMPT_ROLE = keccak256("LOCKUP_EXEMPT_ROLE");

    /// @notice Transfers between holders are refused before this time (seconds since the epoch).
    uint64 public lockupEnd;
    /// @notice The most that all distributors together may ever mint.
    uint256 public distributorCeiling;
    /// @notice What all distributors together have minted so far.
    uint256 public distributorMinted;
    /// @notice Senders allowed to transfer during the lock-up: every account ever granted MINTER_ROLE or
    /// LOCKUP_EXEMPT_ROLE. Never cleared, so a company cannot block a sale's claims or a vesting release by
    /// revoking the role afterwards.
    mapping(address account => bool) public lockupExempt;

    error TransferLocked(address from, uint64 lockupEnd);
    error DistributorCeilingExceeded(uint256 requested, uint256 remaining);
    error CeilingBelowMinted(uint256 ceiling, uint256 minted);
    error LockupExtensionRefused(uint64 current, uint64 requested);
    error ZeroAdmin();

    event LockupEndUpdated(uint64 previousEnd, uint64 newEnd);
    event DistributorCeilingUpdated(uint256 previousCeiling, uint256 newCeiling);
    event DistributorMinted(address indexed distributor, address indexed to, uint256 amount, uint256 totalMinted);
    event LockupExemptionGranted(address indexed account);

    constructor(string memory name_, string memory symbol_, uint256 cap_, address admin, uint64 lockupEnd_)
        ERC20(name_, symbol_)
        ERC20Capped(cap_)
        ERC20Permit(name_)
    {
        if (admin == address(0)) revert ZeroAdmin();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        lockupEnd = lockupEnd_;
        emit LockupEndUpdated(0, lockupEnd_);
    }

    /// @notice Mint for a sale; limited only by the supply cap.
    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        _mint(to, amount);
    }

    /// @notice Mint by the platform's distributor, inside the ceiling set by the admin.
    function distribute(address to, uint256 amount) external onlyRole(DISTRIBUTOR_ROLE) {
        uint256 minted = distributorMinted;
        uint256 remaining = distributorCeiling > minted ? distributorCeiling - minted : 0;
        if (amount > remaining) revert DistributorCeilingExceeded(amount, remaining);
        minted += amount;
        distributorMinted = minted;
        _mint(to, amount);
        emit DistributorMinted(_msgSender(), to, amount, minted);
    }

    /// @notice Set the distributors' cumulative ceiling; never below what they have already minted.
    function setDistributorCeiling(uint256 ceiling) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (ceiling < distributorMinted) revert CeilingBelowMinted(ceiling, distributorMinted);
        emit DistributorCeilingUpdated(distributorCeiling, ceiling);
        distributorCeiling = ceiling;
    }

    /// @notice End the lock-up earlier; holders were promised `lockupEnd`, so it can never move later.
    function setLockupEnd(uint64 newEnd) external onlyRole(DEFAULT_ADMIN_ROLE) {
        uint64 current = lockupEnd;
        if (newEnd > current) revert LockupExtensionRefused(current, newEnd);
        lockupEnd = newEnd;
        emit LockupEndUpdated(current, newEnd);
    }

    /// @notice Whether a transfer sent by `from` is allowed right now under the lock-up.
    function transferAllowed(address from) public view returns (bool) {
        return block.timestamp >= lockupEnd || lockupExempt[from];
    }

    function _grantRole(bytes32 role, address account) internal override returns (bool granted) {
        granted = super._grantRole(role, account);
        if ((role == MINTER_ROLE || role == LOCKUP_EXEMPT_ROLE) && !lockupExempt[account]) {
            lockupExempt[account] = true;
            emit LockupExemptionGranted(account);
        }
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Capped) {
        // Mints (from == 0) and burns (to == 0) are not transfers between holders.
        if (from != address(0) && to != address(0) && !transferAllowed(from)) {
            revert TransferLocked(from, lockupEnd);
        }
        super._update(from, to, value);
    }
}
