from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from equity.choices import InvestmentState
from payments.choices import PaymentMethod
from payments.models import Commitment


class CommitmentFilter(django_filters.FilterSet):
    """The founder's commitments table and its CSV: by state, by payment method, by investor name or e-mail."""

    state = django_filters.ChoiceFilter(label=_("State"), field_name="investment__state",
                                        choices=InvestmentState.choices, empty_label=_("All states"))
    method = django_filters.ChoiceFilter(label=_("Paid by"), choices=PaymentMethod.choices,
                                         empty_label=_("Any method"))
    q = django_filters.CharFilter(label=_("Investor"), method="search")

    class Meta:
        model = Commitment
        fields = ["state", "method", "q"]

    def search(self, queryset: QuerySet[Commitment], name: str, value: str) -> QuerySet[Commitment]:
        return queryset.filter(Q(investment__stakeholder__name__icontains=value) | Q(investor__email__icontains=value))
