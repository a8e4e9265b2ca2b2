"""Stateless calculations: a scenario in, the engine's answer out, nothing read from or written to the database.

The input is a capitalization as the engine knows it (share classes with their terms, positions by holder and
class), plus SAFEs and notes and a priced round's terms for the pro-forma, or an exit value for the waterfall.
Exact numbers travel as strings: prices and money as decimals, ownership as an exact fraction ("3/5") next to a
display percentage with two places (the percentages of a table add up to exactly 100.00). The pro-forma answers
with the share classes and positions after the round in the same shape as its input, so a client can pass them
straight to the waterfall.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from rest_framework import serializers

from equity import captable
from equity.captable.rounding import decimal_of, from_cents, percentages, to_cents
from equity.choices import ClassKind

MAX_SHARES = 10**15
MAX_CLASSES = 50
MAX_POSITIONS = 500  # the waterfall re-splits the exit once per distinct exercise threshold: quadratic in them
MAX_CONVERTIBLES = 40  # the exact solve is a dense linear system over them
MAX_INVESTMENTS = 200
ROUNDING_MODES = ["ROUND_HALF_UP", "ROUND_HALF_EVEN", "ROUND_HALF_DOWN", "ROUND_UP", "ROUND_DOWN", "ROUND_CEILING",
                  "ROUND_FLOOR"]


def _money(value: Decimal | Fraction) -> str:
    """An amount in whole cents (half-up), as a decimal string with two places."""
    return f"{from_cents(to_cents(value)):f}"


def _price(value: Decimal) -> str:
    return f"{value:f}"


# --- input -------------------------------------------------------------------------------------------------

class ClassTerms(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=ClassKind.choices, default=ClassKind.COMMON)
    original_issue_price = serializers.DecimalField(max_digits=30, decimal_places=10, min_value=Decimal(0),
                                                    default=Decimal(0))
    liquidation_multiple = serializers.DecimalField(max_digits=12, decimal_places=6, min_value=Decimal(0),
                                                    default=Decimal(1))
    participating = serializers.BooleanField(default=False)
    participation_cap = serializers.DecimalField(
        max_digits=12, decimal_places=6, min_value=Decimal(0), required=False, allow_null=True, default=None,
        help_text="Total return of a participating share, preference included, as a multiple of the issue price.")
    seniority = serializers.IntegerField(min_value=0, max_value=10_000, default=0,
                                         help_text="Higher is paid first; equal seniority is pari passu.")
    conversion_ratio = serializers.DecimalField(max_digits=20, decimal_places=10, min_value=Decimal("0.0000000001"),
                                                default=Decimal(1))


class HolderPosition(serializers.Serializer):
    holder = serializers.CharField(max_length=200)
    share_class = serializers.CharField(max_length=100, help_text="The name of one of the share classes.")
    shares = serializers.IntegerField(min_value=0, max_value=MAX_SHARES)
    kind = serializers.ChoiceField(
        choices=[k.value for k in captable.PositionKind], default=captable.PositionKind.SHARES,
        help_text="shares (issued stock), options or warrants over the class, or pool (reserved, not granted).")
    exercise_price = serializers.DecimalField(max_digits=30, decimal_places=10, min_value=Decimal(0),
                                              default=Decimal(0), help_text="The strike of options and warrants.")


class CapitalizationInput(serializers.Serializer):
    share_classes = serializers.ListField(child=ClassTerms(), min_length=1, max_length=MAX_CLASSES)
    positions = serializers.ListField(child=HolderPosition(), min_length=1, max_length=MAX_POSITIONS)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        names = [share_class["name"] for share_class in attrs["share_classes"]]
        if len(set(names)) != len(names):
            raise serializers.ValidationError({"share_classes": ["Each share class needs its own name."]})
        unknown = sorted({p["share_class"] for p in attrs["positions"]} - set(names))
        if unknown:
            raise serializers.ValidationError({"positions": [f"Unknown share class: {', '.join(unknown)}."]})
        return attrs


class ConvertibleTerms(serializers.Serializer):
    name = serializers.CharField(max_length=100, help_text="Unique among the convertibles, e.g. \"Safe 1\".")
    holder = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=[k.value for k in captable.InstrumentKind])
    amount = serializers.DecimalField(max_digits=20, decimal_places=2, min_value=Decimal("0.01"))
    valuation_cap = serializers.DecimalField(max_digits=20, decimal_places=2, min_value=Decimal("0.01"),
                                             required=False, allow_null=True, default=None)
    discount = serializers.DecimalField(max_digits=11, decimal_places=10, min_value=Decimal(0),
                                        max_value=Decimal("0.9999999999"), default=Decimal(0),
                                        help_text="A fraction: 0.20 for 20% off the round price.")
    issue_date = serializers.DateField(required=False, allow_null=True, default=None)
    interest_rate = serializers.DecimalField(max_digits=11, decimal_places=10, min_value=Decimal(0),
                                             default=Decimal(0), help_text="Notes only; a yearly fraction, 0.05 for 5%.")
    compounding_per_year = serializers.IntegerField(min_value=0, max_value=365, default=0,
                                                    help_text="0 for simple interest (actual/365).")
    mfn = serializers.BooleanField(default=False, help_text="Takes the best terms of SAFEs issued after it.")
    pro_rata = serializers.BooleanField(default=False)


class InvestmentTerms(serializers.Serializer):
    investor = serializers.CharField(max_length=200)
    amount = serializers.DecimalField(max_digits=20, decimal_places=2, min_value=Decimal("0.01"))


class PoolTerms(serializers.Serializer):
    target = serializers.DecimalField(
        max_digits=11, decimal_places=10, min_value=Decimal("0.0000000001"), max_value=Decimal("0.9999999999"),
        required=False, allow_null=True, default=None,
        help_text="The available pool after the round as a fraction of post-money fully diluted: 0.20 for 20%.")
    new_shares = serializers.IntegerField(min_value=0, max_value=MAX_SHARES, required=False, allow_null=True,
                                          default=None, help_text="Or a number of new pool shares.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (attrs.get("target") is None) == (attrs.get("new_shares") is None):
            raise serializers.ValidationError("Give a target or a number of new shares, not both.")
        return attrs


class RoundTerms(serializers.Serializer):
    series = serializers.CharField(max_length=100, help_text="The new class, e.g. \"Series A Preferred\".")
    investments = serializers.ListField(child=InvestmentTerms(), min_length=1, max_length=MAX_INVESTMENTS)
    pre_money = serializers.DecimalField(max_digits=20, decimal_places=2, min_value=Decimal("0.01"), required=False,
                                         allow_null=True, default=None)
    post_money = serializers.DecimalField(max_digits=20, decimal_places=2, min_value=Decimal("0.01"), required=False,
                                          allow_null=True, default=None,
                                          help_text="Instead of pre_money: post-money = pre-money + new money.")
    pool = PoolTerms(required=False, allow_null=True, default=None,
                     help_text="A pool top-up included in the pre-money (the option pool shuffle).")
    closing_date = serializers.DateField(required=False, allow_null=True, default=None,
                                         help_text="When notes stop accruing interest.")
    promised_options = serializers.IntegerField(min_value=0, max_value=MAX_SHARES, default=0)
    pro_rata_holders = serializers.ListField(child=serializers.CharField(max_length=200), default=list,
                                             max_length=MAX_POSITIONS)
    liquidation_multiple = serializers.DecimalField(max_digits=12, decimal_places=6, min_value=Decimal(0),
                                                    default=Decimal(1))
    participating = serializers.BooleanField(default=False)
    participation_cap = serializers.DecimalField(max_digits=12, decimal_places=6, min_value=Decimal(0),
                                                 required=False, allow_null=True, default=None)
    seniority = serializers.IntegerField(min_value=0, max_value=10_000, required=False, allow_null=True, default=None,
                                         help_text="Default: senior to every existing class.")
    convertibles_in_pre_money = serializers.BooleanField(
        default=True, help_text="Converting SAFEs and notes dilute the existing holders only (today's usual term "
                                "sheet); false: they dilute the new investors too.")
    price_decimals = serializers.IntegerField(min_value=0, max_value=10, default=4)
    price_rounding = serializers.ChoiceField(choices=ROUNDING_MODES, default="ROUND_HALF_UP")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (attrs.get("pre_money") is None) == (attrs.get("post_money") is None):
            raise serializers.ValidationError({"pre_money": ["Give the pre-money or the post-money valuation."]})
        return attrs


class ProFormaInput(CapitalizationInput):
    convertibles = serializers.ListField(child=ConvertibleTerms(), default=list, max_length=MAX_CONVERTIBLES)
    round = RoundTerms()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        names = [convertible["name"] for convertible in attrs["convertibles"]]
        if len(set(names)) != len(names):
            raise serializers.ValidationError({"convertibles": ["Each convertible needs its own name."]})
        for convertible in attrs["convertibles"]:
            if convertible["interest_rate"] and convertible["kind"] != captable.InstrumentKind.CONVERTIBLE_NOTE:
                raise serializers.ValidationError({"convertibles": [f"{convertible['name']}: only a note bears interest."]})
            if convertible["interest_rate"] and (convertible["issue_date"] is None
                                                 or attrs["round"]["closing_date"] is None):
                raise serializers.ValidationError({"convertibles": [
                    f"{convertible['name']}: interest needs the note's issue_date and the round's closing_date."]})
        return attrs


class WaterfallInput(CapitalizationInput):
    exit_value = serializers.DecimalField(max_digits=20, decimal_places=2, min_value=Decimal(0),
                                          help_text="What the company is sold for, in whole cents.")


# --- to the engine -----------------------------------------------------------------------------------------

def capitalization_from(data: Mapping[str, Any]) -> captable.Capitalization:
    """The engine's capitalization; the engine's ValueError (inconsistent terms) is left to the caller."""
    classes = tuple(
        captable.ShareClass(
            name=item["name"], kind=captable.ClassKind(item["kind"]),
            original_issue_price=item["original_issue_price"], liquidation_multiple=item["liquidation_multiple"],
            participating=item["participating"], participation_cap=item["participation_cap"],
            seniority=item["seniority"], conversion_ratio=item["conversion_ratio"],
        ) for item in data["share_classes"])
    positions = tuple(
        captable.Position(item["holder"], item["share_class"], item["shares"], captable.PositionKind(item["kind"]),
                          item["exercise_price"]) for item in data["positions"])
    return captable.Capitalization(classes, positions)


def convertibles_from(data: Mapping[str, Any]) -> list[captable.Convertible]:
    return [captable.Convertible(
        name=item["name"], holder=item["holder"], kind=captable.InstrumentKind(item["kind"]), amount=item["amount"],
        valuation_cap=item["valuation_cap"], discount=item["discount"], issue_date=item["issue_date"],
        interest_rate=item["interest_rate"], compounding_per_year=item["compounding_per_year"], mfn=item["mfn"],
        pro_rata=item["pro_rata"],
    ) for item in data["convertibles"]]


def round_from(data: Mapping[str, Any], capitalization: captable.Capitalization) -> captable.PricedRound:
    terms = data["round"]
    pool = terms["pool"]
    pool_holders = [p.holder for p in capitalization.positions if p.kind is captable.PositionKind.POOL]
    return captable.PricedRound(
        series=terms["series"],
        investments=tuple(captable.Investment(item["investor"], item["amount"]) for item in terms["investments"]),
        pre_money=terms["pre_money"], post_money=terms["post_money"],
        pool=captable.PoolTopUp(target=pool["target"], new_shares=pool["new_shares"]) if pool else None,
        closing_date=terms["closing_date"], promised_options=terms["promised_options"],
        pro_rata_holders=tuple(terms["pro_rata_holders"]),
        rounding=captable.RoundingPolicy(terms["price_decimals"], terms["price_rounding"]),
        # The top-up goes to the scenario's own pool (its first), else a new one under the engine's name.
        **({"pool_holder": pool_holders[0]} if pool_holders else {}),
        liquidation_multiple=terms["liquidation_multiple"], participating=terms["participating"],
        participation_cap=terms["participation_cap"], seniority=terms["seniority"],
        convertibles_in_pre_money=terms["convertibles_in_pre_money"],
    )


# --- output ------------------------------------------------------------------------------------------------

class OwnershipRow(serializers.Serializer):
    name = serializers.CharField()
    outstanding = serializers.IntegerField()
    fully_diluted = serializers.IntegerField()
    outstanding_percent = serializers.CharField(help_text="Two places; a table's rows add up to exactly 100.00.")
    fully_diluted_percent = serializers.CharField(help_text="Two places; a table's rows add up to exactly 100.00.")
    outstanding_ownership = serializers.CharField(help_text="Exact fraction, e.g. \"3/5\".")
    fully_diluted_ownership = serializers.CharField(help_text="Exact fraction, e.g. \"3/5\".")


class OwnershipTable(serializers.Serializer):
    total_outstanding = serializers.IntegerField()
    total_fully_diluted = serializers.IntegerField()
    by_holder = OwnershipRow(many=True)
    by_class = OwnershipRow(many=True, help_text="Stock by class; options, warrants and the pool on their own rows.")


def _ownership_rows(rows: tuple[captable.HoldingsRow, ...]) -> list[dict[str, Any]]:
    outstanding = {row.key: row.outstanding for row in rows}
    shown = percentages(outstanding) if sum(outstanding.values()) else dict.fromkeys(outstanding, Decimal("0.00"))
    return [{
        "name": row.key, "outstanding": row.outstanding, "fully_diluted": row.fully_diluted,
        "outstanding_percent": f"{shown[row.key]:.2f}", "fully_diluted_percent": f"{row.fully_diluted_percent:.2f}",
        "outstanding_ownership": str(row.outstanding_ownership),
        "fully_diluted_ownership": str(row.fully_diluted_ownership),
    } for row in rows]


def ownership_table(table: captable.Holdings) -> dict[str, Any]:
    return {"total_outstanding": table.total_outstanding, "total_fully_diluted": table.total_fully_diluted,
            "by_holder": _ownership_rows(table.by_stakeholder), "by_class": _ownership_rows(table.by_class)}


class NewSharesOutput(serializers.Serializer):
    investor = serializers.CharField()
    amount = serializers.CharField()
    price = serializers.CharField()
    shares = serializers.IntegerField()
    share_class = serializers.CharField()


class ConversionOutput(serializers.Serializer):
    instrument = serializers.CharField()
    holder = serializers.CharField()
    kind = serializers.CharField()
    converted_amount = serializers.CharField(help_text="Principal, plus interest for a note.")
    cap_price = serializers.CharField(allow_null=True)
    discount_price = serializers.CharField()
    conversion_price = serializers.CharField(help_text="The price it converted at: the lower of the two.")
    exact_conversion_price = serializers.CharField(help_text="Before rounding, as an exact fraction.")
    basis = serializers.ChoiceField(choices=["cap", "discount", "round price"])
    shares = serializers.IntegerField()
    share_class = serializers.CharField()


class ProRataOutput(serializers.Serializer):
    holder = serializers.CharField()
    ownership = serializers.CharField(help_text="Fully diluted ownership before the new money, exact fraction.")
    shares = serializers.IntegerField()
    amount = serializers.CharField()


class ProFormaOutput(serializers.Serializer):
    price_per_share = serializers.CharField()
    exact_price = serializers.CharField(help_text="Before rounding, as an exact fraction.")
    pre_money = serializers.CharField()
    post_money = serializers.CharField()
    new_money = serializers.CharField()
    effective_pre_money = serializers.CharField(
        help_text="What the holders from before the round hold, at the round price (the option pool shuffle's cost).")
    pre_money_shares = serializers.IntegerField()
    post_money_shares = serializers.IntegerField()
    new_pool_shares = serializers.IntegerField()
    pool_available = serializers.IntegerField()
    investments = NewSharesOutput(many=True)
    conversions = ConversionOutput(many=True)
    pro_rata = ProRataOutput(many=True)
    share_classes = ClassTerms(many=True, help_text="After the round, ready for a waterfall.")
    positions = HolderPosition(many=True, help_text="After the round, ready for a waterfall.")
    ownership = OwnershipTable()


def _class_terms(share_class: captable.ShareClass) -> dict[str, Any]:
    return {"name": share_class.name, "kind": share_class.kind.value,
            "original_issue_price": share_class.original_issue_price,
            "liquidation_multiple": share_class.liquidation_multiple, "participating": share_class.participating,
            "participation_cap": share_class.participation_cap, "seniority": share_class.seniority,
            "conversion_ratio": share_class.conversion_ratio}


def _position(position: captable.Position) -> dict[str, Any]:
    return {"holder": position.holder, "share_class": position.share_class, "shares": position.shares,
            "kind": position.kind.value, "exercise_price": position.exercise_price}


def pro_forma_output(result: captable.ProForma) -> dict[str, Any]:
    return {
        "price_per_share": _price(result.price_per_share), "exact_price": str(result.exact_price),
        "pre_money": _money(result.pre_money), "post_money": _money(result.post_money),
        "new_money": _money(result.new_money), "effective_pre_money": _money(result.effective_pre_money),
        "pre_money_shares": result.pre_money_shares, "post_money_shares": result.post_money_shares,
        "new_pool_shares": result.new_pool_shares, "pool_available": result.pool_available,
        "investments": [{"investor": item.investor, "amount": _money(item.amount), "price": _price(item.price),
                         "shares": item.shares, "share_class": item.share_class} for item in result.investments],
        "conversions": [{
            "instrument": item.instrument, "holder": item.holder, "kind": item.kind.value,
            "converted_amount": _money(item.converted_amount),
            "cap_price": _price(item.cap_price) if item.cap_price is not None else None,
            "discount_price": _price(item.discount_price), "conversion_price": _price(item.conversion_price),
            "exact_conversion_price": str(item.exact_conversion_price), "basis": item.basis, "shares": item.shares,
            "share_class": item.share_class,
        } for item in result.conversions],
        "pro_rata": [{"holder": item.holder, "ownership": str(item.ownership), "shares": item.shares,
                      "amount": _money(item.amount)} for item in result.pro_rata],
        "share_classes": [_class_terms(c) for c in result.capitalization.share_classes],
        "positions": [_position(p) for p in result.capitalization.positions],
        "ownership": ownership_table(result.holdings),
    }


class PayoutOutput(serializers.Serializer):
    holder = serializers.CharField()
    share_class = serializers.CharField()
    kind = serializers.CharField()
    shares = serializers.IntegerField()
    choice = serializers.ChoiceField(
        choices=["common", "preference", "converted", "exercised", "not exercised"],
        help_text="preference: a preferred position took its liquidation preference (and participation, if any).")
    proceeds = serializers.CharField()
    exercise_cost = serializers.CharField(help_text="The strike an exercised option or warrant pays in.")
    net = serializers.CharField(help_text="Proceeds less the exercise cost.")


class HolderPayoutOutput(serializers.Serializer):
    holder = serializers.CharField()
    proceeds = serializers.CharField()
    exercise_cost = serializers.CharField()
    net = serializers.CharField()


class ClassPayoutOutput(serializers.Serializer):
    share_class = serializers.CharField()
    choice = serializers.ChoiceField(choices=["common", "preference", "converted", "mixed"])
    shares = serializers.IntegerField()
    proceeds = serializers.CharField()


class WaterfallOutput(serializers.Serializer):
    exit_value = serializers.CharField()
    exercise_proceeds = serializers.CharField(help_text="Strikes paid in by exercised options and warrants.")
    distributed = serializers.CharField(help_text="Exit value plus exercise proceeds; the proceeds add up to it.")
    common_price_per_share = serializers.CharField(allow_null=True, help_text="Ten places, rounded down.")
    exact_common_price_per_share = serializers.CharField(allow_null=True, help_text="An exact fraction.")
    payouts = PayoutOutput(many=True)
    by_holder = HolderPayoutOutput(many=True)
    by_class = ClassPayoutOutput(many=True, help_text="Stock of each class (options and warrants are by holder).")


def _choice(capitalization: captable.Capitalization, payout: captable.Payout) -> str:
    if payout.kind in (captable.PositionKind.OPTIONS, captable.PositionKind.WARRANTS):
        return "exercised" if payout.chose_common else "not exercised"
    if not capitalization.share_class(payout.share_class).is_preferred:
        return "common"
    return "converted" if payout.chose_common else "preference"


def _cents(cents: int) -> str:
    return f"{from_cents(cents):f}"


def waterfall_output(capitalization: captable.Capitalization, result: captable.Waterfall) -> dict[str, Any]:
    holders: dict[str, list[int]] = {}
    classes: dict[str, list[int]] = {}
    class_choices: dict[str, set[str]] = {}
    for payout in result.payouts:
        totals = holders.setdefault(payout.holder, [0, 0])
        totals[0] += payout.proceeds_cents
        totals[1] += payout.exercise_cost_cents
        if payout.kind is captable.PositionKind.SHARES:
            row = classes.setdefault(payout.share_class, [0, 0])
            row[0] += payout.shares
            row[1] += payout.proceeds_cents
            class_choices.setdefault(payout.share_class, set()).add(_choice(capitalization, payout))
    price = result.common_price
    return {
        "exit_value": _money(result.exit_value), "exercise_proceeds": _money(result.exercise_proceeds),
        "distributed": _money(result.distributed),
        "common_price_per_share": f"{decimal_of(price):f}" if price is not None else None,
        "exact_common_price_per_share": str(price) if price is not None else None,
        "payouts": [{
            "holder": p.holder, "share_class": p.share_class, "kind": p.kind.value, "shares": p.shares,
            "choice": _choice(capitalization, p), "proceeds": _cents(p.proceeds_cents),
            "exercise_cost": _cents(p.exercise_cost_cents), "net": _cents(p.net_cents),
        } for p in result.payouts],
        "by_holder": [{"holder": holder, "proceeds": _cents(proceeds), "exercise_cost": _cents(cost),
                       "net": _cents(proceeds - cost)} for holder, (proceeds, cost) in holders.items()],
        "by_class": [{"share_class": name, "choice": min(class_choices[name]) if len(class_choices[name]) == 1
                      else "mixed", "shares": shares, "proceeds": _cents(cents)}
                     for name, (shares, cents) in classes.items()],
    }
