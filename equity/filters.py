"""The ledger's filters, one FilterSet for the ledger page, its CSV and the API."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from companies.models import Company
from equity.choices import TransactionKind
from equity.models import EquityTransaction, ShareClass, Stakeholder


class EquityTransactionFilter(django_filters.FilterSet):
    """Filter a company's ledger by kind, stakeholder, share class, dates and security.

    The stakeholder and share class choices are those of the companies in the queryset it is given (which is
    always one company's ledger), so another company's names are never offered or accepted.
    """

    kind = django_filters.ChoiceFilter(label=_("Transaction"), choices=TransactionKind.choices,
                                       empty_label=_("All transactions"))
    stakeholder = django_filters.ModelChoiceFilter(label=_("Stakeholder"), queryset=Stakeholder.objects.none(),
                                                   method="by_stakeholder", empty_label=_("All stakeholders"))
    share_class = django_filters.ModelChoiceFilter(label=_("Share class"), queryset=ShareClass.objects.none(),
                                                   method="by_share_class", empty_label=_("All classes"))
    date_from = django_filters.DateFilter(label=_("From"), field_name="effective_date", lookup_expr="gte")
    date_to = django_filters.DateFilter(label=_("To"), field_name="effective_date", lookup_expr="lte")
    security = django_filters.CharFilter(label=_("Security"), method="by_security")

    class Meta:
        model = EquityTransaction
        fields = ["kind", "stakeholder", "share_class", "date_from", "date_to", "security"]

    def __init__(self, data: Any = None, queryset: QuerySet[EquityTransaction] | None = None, *,
                 company: Company | None = None, **kwargs: Any) -> None:
        super().__init__(data, queryset, **kwargs)
        companies = [company.pk] if company is not None else self.queryset.values("company_id")
        self.filters["stakeholder"].queryset = Stakeholder.objects.filter(company__in=companies).order_by("name")
        self.filters["share_class"].queryset = ShareClass.objects.filter(company__in=companies).order_by(
            "-seniority", "name")

    def by_stakeholder(self, queryset: QuerySet[EquityTransaction], name: str,
                       value: Stakeholder) -> QuerySet[EquityTransaction]:
        """Rows naming the stakeholder, and rows acting on their securities (a transfer away, a cancellation)."""
        return queryset.filter(Q(stakeholder=value) | Q(acts_on__stakeholder=value))

    def by_share_class(self, queryset: QuerySet[EquityTransaction], name: str,
                       value: ShareClass) -> QuerySet[EquityTransaction]:
        """Stock of the class, and options and pool changes over it."""
        return queryset.filter(Q(share_class=value) | Q(plan__share_class=value))

    def by_security(self, queryset: QuerySet[EquityTransaction], name: str, value: str) -> QuerySet[EquityTransaction]:
        """A security's whole history: the row that created it and every row acting on it."""
        value = value.strip()
        return queryset.filter(Q(security_ref__iexact=value) | Q(acts_on__security_ref__iexact=value))
