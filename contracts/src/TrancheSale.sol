// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @notice What the sale needs from the token it sells (TrancheToken's MINTER_ROLE).
interface ITrancheMintable {
    function mint(address to, uint256 amount) external;
}

/// @title Holds one shard's stablecoin payments for the sale that created it.
/// @dev It has no functions: at creation it lets its creator (the sale) move its whole balance, for ever. Each
/// shard has its own vault, so stablecoin purchases from buyers in different shards write different balance
/// slots of the stablecoin instead of all writing the sale's.
contract PaymentVault {
    constructor(IERC20 paymentToken) {
        SafeERC20.forceApprove(paymentToken, msg.sender, type(uint256).max);
    }
}

/// @title A fixed-price token sale paid in ETH or in one ERC-20 stablecoin.
/// @notice Lifecycle: Active (purchases between `start` and `end`) -> Finalized (investors claim their tokens
/// and any pro-rata refund; the treasury withdraws what settled claims paid for; after the claim deadline
/// anyone sweeps the rest to the treasury) or -> Refunding (every investor gets back all they paid).
/// Eligibility (allowlist, Merkle root or EIP-712 voucher) and allocation (first-come-first-served or
/// pro-rata) are chosen at deployment. See contracts/README.md for the storage layout: purchases by different
/// buyers write disjoint storage, except for the running total of the first-come-first-served mode.
contract TrancheSale is AccessControl, Pausable, ReentrancyGuardTransient, EIP712 {
    using SafeERC20 for IERC20;

    enum Eligibility {
        Allowlist,
        Merkle,
        Voucher
    }

    enum Allocation {
        FirstComeFirstServed,
        ProRata
    }

    enum State {
        Active,
        Finalized,
        Refunding
    }

    enum RefundReason {
        SoftCapMissed,
        NotFinalizedInTime,
        Cancelled
    }

    /// @dev Amounts (caps, minimum, maximum) are in the payment currency's base units (wei, or the
    /// stablecoin's units); `price` is the payment for one whole token (10**decimals base units).
    struct Config {
        address token;
        address paymentToken; // address(0): ETH
        address treasury;
        address admin;
        address operator;
        address distributor; // may be address(0)
        address voucherSigner; // may be address(0)
        uint256 price;
        uint64 start;
        uint64 end;
        uint64 finalizeGracePeriod;
        uint64 claimPeriod;
        uint256 softCap;
        uint256 hardCap;
        uint256 minPerInvestor;
        uint256 maxPerInvestor;
        Eligibility eligibility;
        Allocation allocation;
        uint16 shardCount; // pro-rata: number of sharded accumulators, 1..256
        bytes32 merkleRoot;
    }

    /// @notice Signed by a VOUCHER_SIGNER_ROLE account: `wallet` may buy for investor `investorId`, whose
    /// total across all wallets stays at most `maxAmount`, until `expiry` (inclusive).
    struct Voucher {
        bytes32 investorId;
        address wallet;
        uint256 maxAmount;
        uint64 expiry;
    }

    /// @dev Two slots per wallet. The first holds what was paid in for the wallet, how much of that the
    /// distributor paid (card purchases: `buyFor*`; `viaDistributor <= contributed`), and whether the wallet
    /// has claimed or been refunded: every purchase and the settlement write it, as when it was the only slot.
    /// The second holds which distributor paid; only the wallet's first card purchase writes it.
    struct Position {
        uint128 contributed;
        uint120 viaDistributor;
        bool settled;
        address distributor;
    }

    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    bytes32 public constant DISTRIBUTOR_ROLE = keccak256("DISTRIBUTOR_ROLE");
    bytes32 public constant VOUCHER_SIGNER_ROLE = keccak256("VOUCHER_SIGNER_ROLE");
    bytes32 public constant VOUCHER_TYPEHASH =
        keccak256("Voucher(bytes32 investorId,address wallet,uint256 maxAmount,uint64 expiry)");
    uint256 public constant MAX_SHARDS = 256;
    /// @notice Buyers get at least this long to claim before unclaimed money and tokens may be swept (a floor
    /// against an instant sweep; the platform chooses months).
    uint64 public constant MIN_CLAIM_PERIOD = 1 hours;

    address public immutable token;
    address public immutable paymentToken;
    address public immutable treasury;
    uint256 public immutable price;
    uint256 public immutable tokenUnit;
    uint64 public immutable start;
    uint64 public immutable end;
    uint64 public immutable finalizeGracePeriod;
    uint64 public immutable claimPeriod;
    uint256 public immutable softCap;
    uint256 public immutable hardCap;
    uint256 public immutable minPerInvestor;
    uint256 public immutable maxPerInvestor;
    Eligibility public immutable eligibility;
    Allocation public immutable allocation;
    uint16 public immutable shardCount;

    // Written by purchases, keyed by the buyer (disjoint across buyers).
    mapping(address wallet => Position) private _positions;
    mapping(bytes32 investorId => uint256) public investorTotals;
    mapping(uint256 shard => uint256) private _shards;
    // Written by every first-come-first-served purchase: the exact running total.
    uint256 private _runningTotal;

    // Read by purchases, written only by the constructor (stablecoin mode: one PaymentVault per shard).
    mapping(uint256 shard => address) public vaultOf;

    // Read by purchases, written only by the operator.
    mapping(address wallet => bool) public allowlisted;
    bytes32 public merkleRoot;

    // Written once the sale is over.
    State public state;
    uint64 public finalizedAt;
    uint256 public totalContributed;
    uint256 public acceptedTotal;
    uint256 public tokensForSale;
    uint256 public settledProceeds;
    uint256 public withdrawnProceeds;

    error InvalidConfiguration(string reason);
    error SaleNotActive(State state);
    error SaleNotStarted(uint64 start);
    error SaleEnded(uint64 end);
    error SaleNotEnded(uint64 end);
    error ZeroAmount();
    error IncorrectPayment(uint256 expected, uint256 sent);
    error WrongEligibilityMode(Eligibility eligibility);
    error NotAllowlisted(address wallet);
    error InvalidMerkleProof(address wallet);
    error VoucherExpired(uint64 expiry);
    error MissingInvestorId();
    error VoucherWalletMismatch(address voucherWallet, address wallet);
    error InvalidVoucherSignature(address signer);
    error InvestorMinimumNotMet(uint256 total, uint256 minimum);
    error InvestorMaximumExceeded(uint256 total, uint256 maximum);
    error HardCapExceeded(uint256 total, uint256 hardCap);
    error SoftCapNotReached(uint256 total, uint256 softCap);
    error FinalizationPeriodOver(uint256 deadline);
    error RefundModeUnavailable(uint256 total, uint256 finalizationDeadline);
    error NotFinalized();
    error NotInRefundMode();
    error NothingToSettle(address wallet);
    error AlreadySettled(address wallet);
    error ClaimPeriodOver(uint256 deadline);
    error ClaimPeriodNotOver(uint256 deadline);
    error NothingToWithdraw();
    error NothingToSweep();
    error Unauthorized(address account);
    error DistributorMismatch(address expected, address actual);

    event Purchased(
        address indexed beneficiary, address indexed payer, bytes32 indexed investorId, uint256 amount
    );
    event AllowlistUpdated(address indexed wallet, bool allowed);
    event MerkleRootUpdated(bytes32 previousRoot, bytes32 newRoot);
    event Finalized(uint256 totalContributed, uint256 acceptedTotal, uint256 tokensForSale);
    event RefundModeEntered(RefundReason reason, uint256 totalContributed);
    event Claimed(address indexed wallet, uint256 tokens, uint256 paid);
    /// @dev `amount` is everything refunded for `wallet`, including what went to the distributor (below).
    event Refunded(address indexed wallet, uint256 amount);
    /// @notice The part of `wallet`'s refund paid back to the distributor that paid it (card purchases), so
    /// that the platform refunds the card rather than the investor getting the money twice.
    event DistributorRefunded(address indexed wallet, address indexed distributor, uint256 amount);
    event ProceedsWithdrawn(address indexed treasury, uint256 amount);
    event Swept(address indexed treasury, uint256 payment, uint256 tokens);

    constructor(Config memory config) EIP712("TrancheSale", "1") {
        if (
            config.token == address(0) || config.treasury == address(0) || config.admin == address(0)
                || config.operator == address(0)
        ) revert InvalidConfiguration("zero address");
        if (config.paymentToken == config.token) revert InvalidConfiguration("payment token is the token");
        if (config.price == 0) revert InvalidConfiguration("price");
        if (config.start >= config.end) revert InvalidConfiguration("start not before end");
        if (config.claimPeriod < MIN_CLAIM_PERIOD) revert InvalidConfiguration("claim period");
        if (config.hardCap == 0 || config.softCap > config.hardCap) revert InvalidConfiguration("caps");
        if (
            config.maxPerInvestor == 0 || config.minPerInvestor > config.maxPerInvestor
                || config.maxPerInvestor > type(uint128).max
        ) revert InvalidConfiguration("investor limits");
        if (config.allocation == Allocation.ProRata) {
            if (config.shardCount == 0 || config.shardCount > MAX_SHARDS) revert InvalidConfiguration("shards");
        } else if (config.shardCount > 1) {
            revert InvalidConfiguration("shards");
        }
        token = config.token;
        paymentToken = config.paymentToken;
        treasury = config.treasury;
        price = config.price;
        tokenUnit = 10 ** IERC20Metadata(config.token).decimals();
        start = config.start;
        end = config.end;
        finalizeGracePeriod = config.finalizeGracePeriod;
        claimPeriod = config.claimPeriod;
        softCap = config.softCap;
        hardCap = config.hardCap;
        minPerInvestor = config.minPerInvestor;
        maxPerInvestor = config.maxPerInvestor;
        eligibility = config.eligibility;
        allocation = config.allocation;
        shardCount = config.allocation == Allocation.ProRata ? config.shardCount : 1;
        merkleRoot = config.merkleRoot;
        if (config.paymentToken != address(0)) {
            for (uint256 i = 0; i < shardCount; ++i) {
                vaultOf[i] = address(new PaymentVault(IERC20(config.paymentToken)));
            }
        }
        _grantRole(DEFAULT_ADMIN_ROLE, config.admin);
        _grantRole(OPERATOR_ROLE, config.operator);
        if (config.distributor != address(0)) _grantRole(DISTRIBUTOR_ROLE, config.distributor);
        if (config.voucherSigner != address(0)) _grantRole(VOUCHER_SIGNER_ROLE, config.voucherSigner);
    }

    // ---------------------------------------------------------------- purchases

    /// @notice Buy in allowlist mode. In ETH mode send exactly `amount` wei; in stablecoin mode approve it.
    function buy(uint256 amount) external payable nonReentrant whenNotPaused {
        _requireMode(Eligibility.Allowlist);
        _checkAllowlisted(_msgSender());
        _purchase(_msgSender(), _msgSender(), false, amount, bytes32(0), maxPerInvestor);
    }

    /// @notice Buy in Merkle mode with a proof that the sender's address is in the tree.
    function buyWithProof(uint256 amount, bytes32[] calldata proof) external payable nonReentrant whenNotPaused {
        _requireMode(Eligibility.Merkle);
        _checkMerkleProof(_msgSender(), proof);
        _purchase(_msgSender(), _msgSender(), false, amount, bytes32(0), maxPerInvestor);
    }

    /// @notice Buy in voucher mode with a voucher issued to the sender's wallet.
    function buyWithVoucher(uint256 amount, Voucher calldata voucher, bytes calldata signature)
        external
        payable
        nonReentrant
        whenNotPaused
    {
        _requireMode(Eligibility.Voucher);
        uint256 limit = _checkVoucher(_msgSender(), voucher, signature);
        _purchase(_msgSender(), _msgSender(), false, amount, voucher.investorId, limit);
    }

    /// @notice The distributor buys for an investor who paid off-chain (by card); same rules and caps. The
    /// tokens are the beneficiary's; any refund of this payment goes back to the distributor, which refunds
    /// the card. All card purchases of one beneficiary must come from the same distributor address.
    function buyFor(address beneficiary, uint256 amount)
        external
        payable
        nonReentrant
        whenNotPaused
        onlyRole(DISTRIBUTOR_ROLE)
    {
        _requireMode(Eligibility.Allowlist);
        _checkAllowlisted(beneficiary);
        _purchase(_msgSender(), beneficiary, true, amount, bytes32(0), maxPerInvestor);
    }

    function buyForWithProof(address beneficiary, uint256 amount, bytes32[] calldata proof)
        external
        payable
        nonReentrant
        whenNotPaused
        onlyRole(DISTRIBUTOR_ROLE)
    {
        _requireMode(Eligibility.Merkle);
        _checkMerkleProof(beneficiary, proof);
        _purchase(_msgSender(), beneficiary, true, amount, bytes32(0), maxPerInvestor);
    }

    function buyForWithVoucher(
        address beneficiary,
        uint256 amount,
        Voucher calldata voucher,
        bytes calldata signature
    ) external payable nonReentrant whenNotPaused onlyRole(DISTRIBUTOR_ROLE) {
        _requireMode(Eligibility.Voucher);
        uint256 limit = _checkVoucher(beneficiary, voucher, signature);
        _purchase(_msgSender(), beneficiary, true, amount, voucher.investorId, limit);
    }

    // ---------------------------------------------------------------- after the end

    /// @notice Close a successful sale: fix the total, mint the tokens sold to this contract. The company
    /// (admin) or the platform (operator) may finalize after the end (or once a first-come-first-served sale
    /// sold out) and until the grace period after the end is over.
    function finalize() external nonReentrant {
        _requireOperatorOrAdmin();
        _requireActive();
        uint256 raised = totalRaised();
        bool soldOut = allocation == Allocation.FirstComeFirstServed && raised == hardCap;
        if (block.timestamp < end && !soldOut) revert SaleNotEnded(end);
        uint256 deadline = uint256(end) + finalizeGracePeriod;
        if (block.timestamp > deadline) revert FinalizationPeriodOver(deadline);
        if (raised < softCap) revert SoftCapNotReached(raised, softCap);
        uint256 accepted = Math.min(raised, hardCap);
        uint256 tokens = Math.mulDiv(accepted, tokenUnit, price);
        state = State.Finalized;
        finalizedAt = uint64(block.timestamp);
        totalContributed = raised;
        acceptedTotal = accepted;
        tokensForSale = tokens;
        emit Finalized(raised, accepted, tokens);
        ITrancheMintable(token).mint(address(this), tokens);
    }

    /// @notice Anyone may start refunds after the end when the soft cap was missed, or when the sale was
    /// not finalized within the grace period.
    function enterRefundMode() external nonReentrant {
        _requireActive();
        if (block.timestamp < end) revert SaleNotEnded(end);
        uint256 raised = totalRaised();
        uint256 deadline = uint256(end) + finalizeGracePeriod;
        RefundReason reason;
        if (raised < softCap) {
            reason = RefundReason.SoftCapMissed;
        } else if (block.timestamp > deadline) {
            reason = RefundReason.NotFinalizedInTime;
        } else {
            revert RefundModeUnavailable(raised, deadline);
        }
        _enterRefundMode(reason, raised);
    }

    /// @notice The company (admin) or the platform (operator) may cancel the sale before it is finalized.
    function cancel() external nonReentrant {
        _requireOperatorOrAdmin();
        _requireActive();
        _enterRefundMode(RefundReason.Cancelled, totalRaised());
    }

    /// @notice Send `wallet` its tokens and, in an oversubscribed pro-rata sale, the part of its payment
    /// that bought nothing. Anyone may call. The tokens go to `wallet`; of the money, the share the
    /// distributor paid (card purchases) goes back to the distributor, the rest to `wallet`.
    function claim(address wallet) external nonReentrant {
        if (state != State.Finalized) revert NotFinalized();
        uint256 deadline = claimDeadline();
        if (block.timestamp > deadline) revert ClaimPeriodOver(deadline);
        (uint256 contributed, uint256 paid, uint256 tokens, uint256 refundAmount) = _allocation(wallet);
        Position storage position = _settle(wallet, contributed);
        settledProceeds += paid;
        emit Claimed(wallet, tokens, paid);
        IERC20(token).safeTransfer(wallet, tokens);
        // Stablecoin mode: what the claim paid for moves from the wallet's shard vault to the sale, where
        // withdrawProceeds finds it.
        if (paymentToken != address(0) && paid > 0) _payOut(wallet, address(this), paid);
        if (refundAmount > 0) {
            // The unallocated part is split like the payment: floor(r * viaDistributor / contributed) to the
            // distributor, the rest to the wallet, so the two add up to r exactly.
            _refund(wallet, position, refundAmount, Math.mulDiv(refundAmount, position.viaDistributor, contributed));
        }
    }

    /// @notice In refund mode, send back everything paid in for `wallet`: what the distributor paid (card
    /// purchases) to the distributor, the rest to `wallet`. Anyone may call.
    function refund(address wallet) external nonReentrant {
        if (state != State.Refunding) revert NotInRefundMode();
        Position storage position = _settle(wallet, _positions[wallet].contributed);
        _refund(wallet, position, position.contributed, position.viaDistributor);
    }

    /// @notice Send the treasury what settled claims have paid for and it has not yet received. Anyone may call.
    function withdrawProceeds() external nonReentrant {
        uint256 amount = settledProceeds - withdrawnProceeds;
        if (amount == 0) revert NothingToWithdraw();
        withdrawnProceeds = settledProceeds;
        emit ProceedsWithdrawn(treasury, amount);
        if (paymentToken == address(0)) {
            Address.sendValue(payable(treasury), amount);
        } else {
            IERC20(paymentToken).safeTransfer(treasury, amount);
        }
    }

    /// @notice After the claim deadline, anyone may send what is left (unclaimed payments, unclaimed
    /// refunds, rounding dust) to the treasury and the unclaimed tokens back to it.
    function sweep() external nonReentrant {
        if (state != State.Finalized) revert NotFinalized();
        uint256 deadline = claimDeadline();
        if (block.timestamp <= deadline) revert ClaimPeriodNotOver(deadline);
        uint256 payment = paymentHeld();
        uint256 tokens = IERC20(token).balanceOf(address(this));
        if (payment == 0 && tokens == 0) revert NothingToSweep();
        withdrawnProceeds = settledProceeds;
        emit Swept(treasury, payment, tokens);
        if (tokens > 0) IERC20(token).safeTransfer(treasury, tokens);
        if (paymentToken == address(0)) {
            if (payment > 0) Address.sendValue(payable(treasury), payment);
        } else {
            IERC20 coin = IERC20(paymentToken);
            uint256 own = coin.balanceOf(address(this));
            if (own > 0) coin.safeTransfer(treasury, own);
            for (uint256 i = 0; i < shardCount; ++i) {
                uint256 held = coin.balanceOf(vaultOf[i]);
                if (held > 0) coin.safeTransferFrom(vaultOf[i], treasury, held);
            }
        }
    }

    // ---------------------------------------------------------------- operator

    /// @notice Add (`allowed` true) or remove wallets from the allowlist. Removal stops purchases only.
    function updateAllowlist(address[] calldata wallets, bool allowed) external onlyRole(OPERATOR_ROLE) {
        for (uint256 i = 0; i < wallets.length; ++i) {
            allowlisted[wallets[i]] = allowed;
            emit AllowlistUpdated(wallets[i], allowed);
        }
    }

    function setMerkleRoot(bytes32 root) external onlyRole(OPERATOR_ROLE) {
        emit MerkleRootUpdated(merkleRoot, root);
        merkleRoot = root;
    }

    /// @notice Stop purchases. Claims, refunds, withdrawals, sweeping and refund mode are not affected.
    function pause() external onlyRole(OPERATOR_ROLE) {
        _pause();
    }

    function unpause() external onlyRole(OPERATOR_ROLE) {
        _unpause();
    }

    // ---------------------------------------------------------------- views

    /// @notice Everything paid in so far: the running total (first-come-first-served) or the sum of the
    /// sharded accumulators (pro-rata).
    function totalRaised() public view returns (uint256 total) {
        if (allocation == Allocation.FirstComeFirstServed) return _runningTotal;
        for (uint256 i = 0; i < shardCount; ++i) {
            total += _shards[i];
        }
    }

    /// @notice All the payment currency this sale holds: its own balance, plus its vaults' in stablecoin mode.
    function paymentHeld() public view returns (uint256 held) {
        if (paymentToken == address(0)) return address(this).balance;
        IERC20 coin = IERC20(paymentToken);
        held = coin.balanceOf(address(this));
        for (uint256 i = 0; i < shardCount; ++i) {
            held += coin.balanceOf(vaultOf[i]);
        }
    }

    function shardTotal(uint256 shard) external view returns (uint256) {
        return _shards[shard];
    }

    function shardOf(address wallet) public view returns (uint256) {
        return uint256(uint160(wallet)) % shardCount;
    }

    function contributionOf(address wallet) external view returns (uint256) {
        return _positions[wallet].contributed;
    }

    function settled(address wallet) external view returns (bool) {
        return _positions[wallet].settled;
    }

    /// @notice The part of `contributionOf(wallet)` that the distributor paid through `buyFor*` (card
    /// purchases), and which distributor address paid it (address(0) and 0 if none). Refunds of that part go
    /// to that address.
    function distributorShareOf(address wallet) external view returns (address distributor, uint256 contributed) {
        Position storage position = _positions[wallet];
        return (position.distributor, position.viaDistributor);
    }

    /// @notice Last moment a claim is accepted (0 before finalization).
    function claimDeadline() public view returns (uint256) {
        if (state != State.Finalized) return 0;
        return uint256(finalizedAt) + claimPeriod;
    }

    /// @notice What `wallet` would get if the sale were finalized with the current total:
    /// the part of its payment accepted, the tokens that buys, and the refund of the rest.
    function allocationOf(address wallet) external view returns (uint256 paid, uint256 tokens, uint256 refundAmount) {
        (, paid, tokens, refundAmount) = _allocation(wallet);
    }

    function hashVoucher(Voucher calldata voucher) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(abi.encode(VOUCHER_TYPEHASH, voucher.investorId, voucher.wallet, voucher.maxAmount, voucher.expiry))
        );
    }

    // ---------------------------------------------------------------- internals

    /// @dev `byDistributor`: a `buyFor*` purchase, paid by `payer` (the distributor) for the beneficiary.
    function _purchase(
        address payer,
        address beneficiary,
        bool byDistributor,
        uint256 amount,
        bytes32 investorId,
        uint256 limit
    ) private {
        _requireActive();
        if (block.timestamp < start) revert SaleNotStarted(start);
        if (block.timestamp >= end) revert SaleEnded(end);
        if (amount == 0) revert ZeroAmount();
        uint256 sent = msg.value;
        if (paymentToken == address(0) ? sent != amount : sent != 0) {
            revert IncorrectPayment(paymentToken == address(0) ? amount : 0, sent);
        }

        Position storage position = _positions[beneficiary];
        uint256 walletTotal = position.contributed + amount;
        uint256 investorTotal = investorId == bytes32(0) ? walletTotal : investorTotals[investorId] + amount;
        if (investorTotal < minPerInvestor) revert InvestorMinimumNotMet(investorTotal, minPerInvestor);
        if (investorTotal > limit) revert InvestorMaximumExceeded(investorTotal, limit);
        // A card purchase reads the second slot; the first card purchase of the beneficiary writes it once.
        if (byDistributor) {
            address recorded = position.distributor;
            if (recorded == address(0)) {
                position.distributor = payer;
            } else if (recorded != payer) {
                revert DistributorMismatch(recorded, payer);
            }
        }

        if (allocation == Allocation.FirstComeFirstServed) {
            uint256 newTotal = _runningTotal + amount;
            if (newTotal > hardCap) revert HardCapExceeded(newTotal, hardCap);
            _runningTotal = newTotal;
        } else {
            _shards[shardOf(beneficiary)] += amount;
        }
        // walletTotal <= investorTotal <= limit <= maxPerInvestor <= type(uint128).max
        position.contributed = uint128(walletTotal);
        // Below 2**120 for any real currency (the limit allows up to 2**128 - 1): reverts rather than wraps.
        if (byDistributor) position.viaDistributor = SafeCast.toUint120(position.viaDistributor + amount);
        if (investorId != bytes32(0)) investorTotals[investorId] = investorTotal;

        emit Purchased(beneficiary, payer, investorId, amount);
        if (paymentToken != address(0)) {
            IERC20(paymentToken).safeTransferFrom(payer, vaultOf[shardOf(beneficiary)], amount);
        }
    }

    function _allocation(address wallet)
        private
        view
        returns (uint256 contributed, uint256 paid, uint256 tokens, uint256 refundAmount)
    {
        contributed = _positions[wallet].contributed;
        uint256 total = state == State.Active ? totalRaised() : totalContributed;
        // Pro-rata when oversubscribed: floor(c * H / T), so the sum over investors never exceeds H.
        paid = total > hardCap ? Math.mulDiv(contributed, hardCap, total) : contributed;
        // Tokens are rounded down too; any payment left over by that rounding stays with the treasury.
        tokens = Math.mulDiv(paid, tokenUnit, price);
        refundAmount = contributed - paid;
    }

    function _settle(address wallet, uint256 contributed) private returns (Position storage position) {
        position = _positions[wallet];
        if (contributed == 0) revert NothingToSettle(wallet);
        if (position.settled) revert AlreadySettled(wallet);
        position.settled = true;
    }

    /// @dev Pay back `amount` of `wallet`'s money: `toDistributor` of it to the distributor that paid it, the
    /// rest to `wallet`. `Refunded` carries the whole amount; `DistributorRefunded` the distributor's part.
    /// A part of zero is not sent (a pure card buyer's wallet is not called at all).
    function _refund(address wallet, Position storage position, uint256 amount, uint256 toDistributor) private {
        emit Refunded(wallet, amount);
        if (toDistributor > 0) {
            address distributor = position.distributor;
            emit DistributorRefunded(wallet, distributor, toDistributor);
            _payOut(wallet, distributor, toDistributor);
        }
        if (amount > toDistributor) _payOut(wallet, wallet, amount - toDistributor);
    }

    function _enterRefundMode(RefundReason reason, uint256 raised) private {
        state = State.Refunding;
        totalContributed = raised;
        emit RefundModeEntered(reason, raised);
    }

    /// @dev Pay `amount` of `wallet`'s money to `to`: from the sale's balance (ETH) or from the wallet's
    /// shard vault (stablecoin).
    function _payOut(address wallet, address to, uint256 amount) private {
        if (paymentToken == address(0)) {
            Address.sendValue(payable(to), amount);
        } else {
            IERC20(paymentToken).safeTransferFrom(vaultOf[shardOf(wallet)], to, amount);
        }
    }

    function _requireOperatorOrAdmin() private view {
        if (!hasRole(DEFAULT_ADMIN_ROLE, _msgSender()) && !hasRole(OPERATOR_ROLE, _msgSender())) {
            revert Unauthorized(_msgSender());
        }
    }

    function _requireActive() private view {
        if (state != State.Active) revert SaleNotActive(state);
    }

    function _requireMode(Eligibility mode) private view {
        if (eligibility != mode) revert WrongEligibilityMode(eligibility);
    }

    function _checkAllowlisted(address wallet) private view {
        if (!allowlisted[wallet]) revert NotAllowlisted(wallet);
    }

    function _checkMerkleProof(address wallet, bytes32[] calldata proof) private view {
        // Leaf as in OpenZeppelin's StandardMerkleTree with leaf encoding ["address"].
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(wallet))));
        if (!MerkleProof.verifyCalldata(proof, merkleRoot, leaf)) revert InvalidMerkleProof(wallet);
    }

    function _checkVoucher(address wallet, Voucher calldata voucher, bytes calldata signature)
        private
        view
        returns (uint256 limit)
    {
        if (block.timestamp > voucher.expiry) revert VoucherExpired(voucher.expiry);
        if (voucher.wallet != wallet) revert VoucherWalletMismatch(voucher.wallet, wallet);
        // Totals are kept per investor id; id 0 would fall back to per-wallet totals and lose that guarantee.
        if (voucher.investorId == bytes32(0)) revert MissingInvestorId();
        (address signer, ECDSA.RecoverError error,) = ECDSA.tryRecoverCalldata(hashVoucher(voucher), signature);
        if (error != ECDSA.RecoverError.NoError || !hasRole(VOUCHER_SIGNER_ROLE, signer)) {
            revert InvalidVoucherSignature(signer);
        }
        limit = Math.min(voucher.maxAmount, maxPerInvestor);
    }
}
