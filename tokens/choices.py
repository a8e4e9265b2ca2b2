from django.db import models
from django.utils.translation import gettext_lazy as _


class DeployStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    DEPLOYING = "deploying", _("Deploying")
    DEPLOYED = "deployed", _("Deployed")
    FAILED = "failed", _("Failed")


class SaleState(models.TextChoices):
    """draft → deploying → scheduled → live ⇄ paused → succeeded / failed → finalized."""

    DRAFT = "draft", _("Draft")
    DEPLOYING = "deploying", _("Deploying")
    SCHEDULED = "scheduled", _("Scheduled")
    LIVE = "live", _("Live")
    PAUSED = "paused", _("Paused")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    FINALIZED = "finalized", _("Finalized")


class PaymentAsset(models.TextChoices):
    ETH = "eth", _("Ether")
    ERC20 = "erc20", _("ERC-20 stablecoin")


class AllocationMode(models.TextChoices):
    FIRST_COME_FIRST_SERVED = "fcfs", _("First come, first served")
    PRO_RATA = "pro_rata", _("Oversubscription, pro-rata allocation")


class EligibilityMode(models.TextChoices):
    ALLOWLIST = "allowlist", _("Allowlist")
    MERKLE = "merkle", _("Merkle root")
    VOUCHER = "voucher", _("Purchase voucher")


class SignerRole(models.TextChoices):
    """The platform's keys, one per role (settings.CHAIN_KEYS); never stored in the database."""

    DEPLOYER = "deployer", _("Deployer")
    ELIGIBILITY = "eligibility", _("Eligibility manager")
    VOUCHER = "voucher", _("Voucher signer")
    DISTRIBUTOR = "distributor", _("Distributor")


class IntentState(models.TextChoices):
    PENDING = "pending", _("Waiting")  # not signed yet (maybe waiting for the intent it depends on)
    SIGNED = "signed", _("Signed")  # the signed bytes are stored; maybe broadcast, not yet mined
    MINED = "mined", _("Mined")  # in a block, waiting for confirmations
    CONFIRMED = "confirmed", _("Confirmed")
    FAILED = "failed", _("Failed")  # reverted on-chain or refused for good


class ChainEventName(models.TextChoices):
    PURCHASED = "Purchased"
    CLAIMED = "Claimed"
    REFUNDED = "Refunded"
    DISTRIBUTOR_REFUNDED = "DistributorRefunded"  # the distributor's part of a Refunded (a card purchase's refund)
    ALLOWLIST_UPDATED = "AllowlistUpdated"
    MERKLE_ROOT_UPDATED = "MerkleRootUpdated"
    FINALIZED = "Finalized"
    REFUND_MODE_ENTERED = "RefundModeEntered"
    PROCEEDS_WITHDRAWN = "ProceedsWithdrawn"
    SWEPT = "Swept"
    PAUSED = "Paused"
    UNPAUSED = "Unpaused"
    TRANSFER = "Transfer"
    ERC20_RELEASED = "ERC20Released"


class ContractKind(models.TextChoices):
    TOKEN = "token", _("Token")
    SALE = "sale", _("Sale")
    VESTING = "vesting", _("Vesting wallet")


class AllocationKind(models.TextChoices):
    TEAM = "team", _("Team")
    ADVISOR = "advisor", _("Advisors")
    TREASURY = "treasury", _("Treasury")
    INVESTOR = "investor", _("Investors")


class AllocationState(models.TextChoices):
    PLANNED = "planned", _("Planned")
    DEPLOYING = "deploying", _("Deploying")
    VESTING = "vesting", _("Vesting")  # the vesting wallet holds the tokens
    UNPAID = "unpaid", _("Awaiting payment")  # a converted priced warrant: the holder pays before claiming
    CLAIMABLE = "claimable", _("Claimable")  # a converted warrant waiting for the holder's verified wallet
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")


class WarrantKind(models.TextChoices):
    FIXED = "fixed", _("A fixed number of tokens")
    PRO_RATA = "pro_rata", _("Pro-rata share of the investor token pool")


class WarrantState(models.TextChoices):
    OUTSTANDING = "outstanding", _("Outstanding")
    CONVERTED = "converted", _("Converted")
    CANCELLED = "cancelled", _("Cancelled")
