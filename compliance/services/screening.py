"""Screening applications against the sanctions and PEP lists kept in the database.

The lists are loaded from files by `manage.py screening_lists_load` (OFAC's published SDN CSV and a PEP CSV);
the matching itself is `compliance.screening`, pure and fast. An index over all names is built once per
process and rebuilt when the lists change.
"""

from __future__ import annotations

from pathlib import Path

from django.db import transaction
from django.db.models import Max

from compliance.audit import Actor
from compliance.models import KycApplication, ScreeningHit, ScreeningListEntry
from compliance.screening import Applicant, ListEntry, ScreeningIndex, load_pep, load_sdn
from compliance.services.audit import audit_record

_index: tuple[tuple[int, int | None], ScreeningIndex] | None = None


def screening_index() -> ScreeningIndex:
    """The index over every listed name, rebuilt when the table's size or newest row changes."""
    global _index
    version = (ScreeningListEntry.objects.count(), ScreeningListEntry.objects.aggregate(m=Max("pk"))["m"])
    if _index is None or _index[0] != version:
        entries = [
            ListEntry(list_name=row.list_name, entry_id=row.entry_id, name=row.name, aliases=tuple(row.aliases),
                      dates_of_birth=tuple(filter(None, row.date_of_birth.split("|"))),
                      countries=tuple(filter(None, row.country.split("|"))), program=row.program, kind=row.kind)
            for row in ScreeningListEntry.objects.all()
        ]
        _index = (version, ScreeningIndex(entries))
    return _index[1]


@transaction.atomic
def screening_lists_load(*, sdn_directory: Path, pep_file: Path) -> dict[str, int]:
    """Replace the lists with the files' contents: entries are upserted by (list, id); vanished ones removed."""
    loaded = [*load_sdn(sdn_directory), *load_pep(pep_file)]
    counts: dict[str, int] = {}
    for list_name in {entry.list_name for entry in loaded}:
        keep = [entry for entry in loaded if entry.list_name == list_name]
        ScreeningListEntry.objects.filter(list_name=list_name).exclude(entry_id__in=[e.entry_id for e in keep]).delete()
        for entry in keep:
            ScreeningListEntry.objects.update_or_create(
                list_name=list_name, entry_id=entry.entry_id,
                defaults={"name": entry.name, "aliases": list(entry.aliases), "kind": entry.kind,
                          "date_of_birth": "|".join(entry.dates_of_birth), "country": "|".join(entry.countries),
                          "program": entry.program},
            )
        counts[list_name] = len(keep)
    audit_record(actor=Actor.system(), action="screening.lists_load", changes=counts)
    return counts


@transaction.atomic
def kyc_application_screen(*, application: KycApplication) -> int:
    """Screen the applicant's declared identity; store new hits and the resulting risk. Returns new hits."""
    from compliance.services.kyc import kyc_risk_level

    application = KycApplication.objects.select_for_update().get(pk=application.pk)
    countries = tuple(str(code) for code in (application.country_of_residence, application.tax_residency) if code)
    applicant = Applicant(name=application.legal_name, date_of_birth=application.date_of_birth, countries=countries)
    new = 0
    for hit in screening_index().screen(applicant):
        _, created = ScreeningHit.objects.get_or_create(
            application=application, list_name=hit.list_name, entry_id=hit.entry_id,
            defaults={"matched_name": hit.matched_name, "score": hit.score, "reasons": list(hit.reasons)},
        )
        new += created
    application.risk_level = kyc_risk_level(application)
    application.save(update_fields=["risk_level"])
    audit_record(actor=Actor.system(), action="kyc.screen", target=application,
                 changes={"new_hits": new, "risk": application.risk_level})
    return new
