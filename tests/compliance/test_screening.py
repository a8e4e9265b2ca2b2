"""Sanctions and PEP screening: list readers, fuzzy matching with transliteration, dates and countries, risk."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from compliance.screening import (
    PEP,
    SANCTIONS,
    Applicant,
    Hit,
    ListEntry,
    ScreeningIndex,
    load_pep,
    load_sdn,
    name_similarity,
    normalize_name,
    parse_pep,
    parse_sdn,
    risk_level,
)
from compliance.screening.matching import ENTITY, VESSEL, parse_birth_date
from compliance.screening.sdn import parse_remarks

DATA = Path(__file__).resolve().parents[2] / "compliance" / "data"


@pytest.fixture(scope="module")
def sample_entries():
    return load_sdn(DATA) + load_pep(DATA / "pep.csv")


@pytest.fixture(scope="module")
def index(sample_entries):
    return ScreeningIndex(sample_entries)


def hits_for(index, name, born=None, *countries, threshold=80):
    return index.screen(Applicant(name, born, tuple(countries)), threshold=threshold)


# --- the sample lists and their readers ---------------------------------------------------------------------


def test_sdn_reader_reads_the_sample_files(sample_entries):
    sdn = load_sdn(DATA)
    assert len(sdn) == 30
    by_id = {entry.entry_id: entry for entry in sdn}
    volkov = by_id["90002"]
    assert volkov.name == "VOLKOV, Dmitri Anatolyevich"
    assert volkov.list_name == SANCTIONS
    assert volkov.program == "SAMPLE-RUSSIA"
    assert volkov.kind == "individual"
    assert volkov.aliases == ("ВОЛКОВ, Дмитрий Анатольевич", "VOLKOV, Dmitriy")
    assert volkov.dates_of_birth == ("03 Mar 1970",)
    assert volkov.countries == ("RU",)  # nationality Russia; POB Novosibirsk, Russia (counted once)
    assert by_id["90008"].kind == ENTITY  # SDN_Type "-0-"
    assert by_id["90009"].kind == VESSEL
    assert by_id["90001"].dates_of_birth == ()
    assert by_id["90001"].countries == ()
    assert by_id["90010"].countries == ("KP",)  # "Korea, North"
    assert by_id["90026"].dates_of_birth == ("1980", "1981")  # alt. DOB
    assert sum(len(entry.aliases) for entry in sdn) == 21


def test_sdn_reader_follows_the_published_layout():
    sdn = [
        '36,"AEROCARIBBEAN AIRLINES",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ',
        '7157,"PETROV, Ivan",individual,"SAMPLE",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,'
        '"DOB 12 Apr 1961; alt. DOB 1962; POB Moscow, Russia; nationality Russia; citizen Ukraine."',
        "",
        "\x1a",
    ]
    alt = ['7157,501,"aka","PETROFF, Ivan",-0- ', '36,502,"aka","AERO-CARIBBEAN",-0- ', "\x1a"]
    airline, petrov = parse_sdn(sdn, alt)
    assert airline.kind == ENTITY
    assert airline.program == "CUBA"
    assert airline.aliases == ("AERO-CARIBBEAN",)
    assert petrov.aliases == ("PETROFF, Ivan",)
    assert petrov.dates_of_birth == ("12 Apr 1961", "1962")
    assert petrov.countries == ("RU", "UA")


def test_remarks_keep_unknown_countries_as_written():
    assert parse_remarks("nationality Atlantis; DOB circa 1950") == (("circa 1950",), ("Atlantis",))
    assert parse_remarks("-0-") == ((), ())


def test_pep_reader(sample_entries):
    peps = [entry for entry in sample_entries if entry.list_name == PEP]
    assert len(peps) == 10
    petrov = peps[0]
    assert (petrov.entry_id, petrov.name, petrov.dates_of_birth, petrov.countries) == (
        "PEP-0001", "Viktor Petrov", ("1961-04-12",), ("RU",)
    )
    assert "Виктор Петров" in petrov.aliases
    with pytest.raises(ValueError, match="missing columns: position"):
        parse_pep(["id,name,aliases,date_of_birth,country", "1,A B,,,"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12 Apr 1961", (1961, 1961, date(1961, 4, 12))),
        ("1961-04-12", (1961, 1961, date(1961, 4, 12))),
        ("Apr 1961", (1961, 1961, None)),
        ("1961", (1961, 1961, None)),
        ("1960 to 1962", (1960, 1962, None)),
        ("circa 1961", (1960, 1962, None)),
        ("31 Feb 1961", (1961, 1961, None)),
    ],
)
def test_birth_dates_as_lists_write_them(text, expected):
    parsed = parse_birth_date(text)
    assert (parsed.first_year, parsed.last_year, parsed.day) == expected


def test_unreadable_birth_date_is_ignored():
    assert parse_birth_date("unknown") is None
    assert parse_birth_date("") is None


# --- normalization and name similarity ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "normalized"),
    [
        ("Müller, Jürgen-Karl", "muller jurgen karl"),
        ("O'Brien  Seán", "obrien sean"),
        ("Виктор Петров", "viktor petrov"),
        ("张伟明", "zhang weiming"),
        ("Dr. Ana María GARCÍA", "ana maria garcia"),
    ],
)
def test_normalization(written, normalized):
    assert normalize_name(written) == normalized


def test_word_order_case_and_punctuation_do_not_matter():
    assert name_similarity("PETROV, Viktor", "viktor petrov") == 100
    assert name_similarity("Zhang Wei-Ming", "ZHANG, Weiming") == 100


# --- the journeys' cases --------------------------------------------------------------------------------------


def test_weak_sanctions_hit_on_a_similar_name(index):
    """Journey 3: "Sam Rivera" is not "Samuel Riviera", but a reviewer must look."""
    hits = hits_for(index, "Sam Rivera", date(1988, 5, 14), "US")
    assert [(hit.list_name, hit.entry_id, hit.matched_name) for hit in hits] == [
        (SANCTIONS, "90001", "RIVIERA, Samuel")
    ]
    assert hits[0].score == 83  # moderate: above the threshold of 80, below a strong 90
    assert hits[0].reasons == ("name 83% similar to 'RIVIERA, Samuel'",)


def test_confirmed_pep_case_scores_full_with_date_and_country(index):
    """Journey 3's high-risk applicant: Viktor Petrov, born 1961-04-12, resident in Russia."""
    hits = hits_for(index, "Viktor Petrov", date(1961, 4, 12), "RU")
    assert [(hit.list_name, hit.entry_id, hit.score) for hit in hits] == [(PEP, "PEP-0001", 100)]
    assert hits[0].reasons[1:] == ("date of birth matches (1961-04-12)", "country matches (RU)")


def test_exact_match_scores_high(index):
    hit = hits_for(index, "Dmitri Anatolyevich Volkov", date(1970, 3, 3), "RU")[0]
    assert hit.entry_id == "90002"
    assert hit.name_score == 100
    assert hit.score == 100


def test_cyrillic_alias_is_matched_through_transliteration(index):
    # The applicant writes the Latin name; the list's alias is in Cyrillic only.
    hits = hits_for(index, "Oleg Korolenko", date(1966, 1, 1), "RU")
    assert [(hit.entry_id, hit.matched_name) for hit in hits] == [("90006", "KOROLENKO, Oleg")]
    entries = [ListEntry(SANCTIONS, "1", "Иван Сергеевич Кузнецов", ("Кузнецов Иван",))]
    hits = hits_for(ScreeningIndex(entries), "Ivan Kuznetsov")
    assert [(hit.matched_name, hit.score) for hit in hits] == [("Кузнецов Иван", 100)]
    # And the other way round: the applicant writes in Cyrillic.
    assert hits_for(index, "Виктор Петров")[0].entry_id == "PEP-0001"


def test_chinese_alias_is_matched_through_transliteration():
    entries = [ListEntry(SANCTIONS, "1", "陈浩然"), ListEntry(SANCTIONS, "2", "CHEN, Hao")]
    hits = hits_for(ScreeningIndex(entries), "Chen Haoran")
    assert [(hit.entry_id, hit.matched_name, hit.score) for hit in hits] == [("1", "陈浩然", 100), ("2", "CHEN, Hao", 84)]


def test_chinese_written_applicant_matches_the_latin_entry(index):
    hits = hits_for(index, "王建国")
    assert [(hit.entry_id, hit.score) for hit in hits] == [("90025", 100)]
    assert hits_for(index, "Zhang Wei Ming")[0].entry_id == "90003"


def test_arabic_alias_is_matched_by_its_consonants(index):
    hits = hits_for(index, "Kareem Rashid")
    assert [(hit.entry_id, hit.matched_name) for hit in hits] == [("90004", "كريم الرشيد")]
    assert 80 <= hits[0].score < 90  # transliterated abjad: never a strong match on its own


def test_date_of_birth_mismatch_lowers_the_score(index):
    same = index.score_entry(Applicant("Viktor Petrov", date(1961, 4, 12)), "PEP-0001", PEP)
    year_off = index.score_entry(Applicant("Viktor Petrov", date(1962, 4, 12)), "PEP-0001", PEP)
    different = index.score_entry(Applicant("Viktor Petrov", date(1985, 1, 1)), "PEP-0001", PEP)
    unknown = index.score_entry(Applicant("Viktor Petrov"), "PEP-0001", PEP)
    assert (same.score, unknown.score, year_off.score, different.score) == (100, 100, 90, 75)
    assert "date of birth differs (list: 1961-04-12)" in different.reasons
    assert not hits_for(index, "Viktor Petrov", date(1985, 1, 1))  # 75: below the threshold


def test_year_only_and_ranges(index):
    in_range = index.score_entry(Applicant("Oleg Korolenko", date(1966, 7, 1)), "90006", SANCTIONS)
    outside = index.score_entry(Applicant("Oleg Korolenko", date(1990, 7, 1)), "90006", SANCTIONS)
    assert in_range.score == 100
    assert "year of birth matches (1966)" in in_range.reasons
    assert outside.score == 75


def test_country_check_moves_the_score_a_little(index):
    rivera = Applicant("Samuel Rivera")
    base = index.score_entry(rivera, "90001", SANCTIONS).score  # the entry names no country
    chen_home = index.score_entry(Applicant("Hao Ran Chen", None, ("CN",)), "90014", SANCTIONS)
    chen_away = index.score_entry(Applicant("Hao Ran Chen", None, ("FR",)), "90014", SANCTIONS)
    chen_unknown = index.score_entry(Applicant("Hao Ran Chen"), "90014", SANCTIONS)
    assert base == index.score_entry(Applicant("Samuel Rivera", None, ("US",)), "90001", SANCTIONS).score
    assert chen_home.score - chen_unknown.score == 5 or chen_home.score == 100
    assert chen_unknown.score - chen_away.score == 5
    assert "country differs (list: CN)" in chen_away.reasons


@pytest.mark.parametrize("name", ["Priya Sharma", "Mei Lin", "John Smith", "Ana Garcia", "Lumen Robotics Inc"])
def test_unrelated_names_are_not_hits(index, name):
    assert hits_for(index, name, date(1990, 1, 1), "GB") == []


def test_a_missing_middle_name_still_matches(index):
    hit = hits_for(index, "Joao Ferreira")[0]
    assert (hit.entry_id, hit.score) == ("90012", 95)


def test_vessels_are_not_screened_against_people(index):
    assert hits_for(index, "Sea Falcon") == []
    assert len(index) == 38  # 30 SDN entries less 2 vessels, plus 10 PEPs


def test_threshold_is_an_argument(index):
    assert hits_for(index, "Sam Rivera", threshold=84) == []
    assert hits_for(index, "Sam Rivera", threshold=83)


def test_empty_name_has_no_hits(index):
    assert hits_for(index, " -- ") == []


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["Viktor Petrov", "Sam Rivera", "Kareem Rashid", "Oleg Korolenko", "Haoran Chen"]),
       st.one_of(st.none(), st.dates(min_value=date(1930, 1, 1), max_value=date(2008, 1, 1))),
       st.lists(st.sampled_from(["RU", "US", "CN", "FR"]), max_size=2))
def test_scores_stay_between_0_and_100_and_respect_the_threshold(index, name, born, countries):
    for hit in hits_for(index, name, born, *countries):
        assert 80 <= hit.score <= 100
        assert 0 <= hit.name_score <= 100


# --- risk -----------------------------------------------------------------------------------------------------


def risk(hits=(), country="FR", amount=Decimal("50000")):
    return risk_level(
        hits=hits, country=country, declared_amount=amount,
        high_risk_countries=["RU", "IR", "KP"], high_amount=Decimal("1000000"),
    )


def hit(list_name=SANCTIONS, score=83, status="open"):
    return Hit(list_name, "1", "X", score, score, (), status)


def test_risk_levels():
    assert risk().level == "low"
    assert risk([hit(status="cleared")]).level == "low"
    assert risk([hit()]).level == "medium"  # the weak hit of journey 3, before it is cleared
    assert risk(country="RU").level == "medium"
    assert risk(amount=Decimal("1000000")).level == "medium"
    assert risk(amount=None).level == "low"
    assert risk([hit()], country="ru").level == "high"
    assert risk(country="RU", amount=Decimal("2500000")).level == "high"
    assert risk([hit(score=92)]).level == "high"  # a strong sanctions hit
    assert risk([hit(PEP, score=92)]).level == "medium"  # an open PEP hit alone is one factor
    assert risk([hit(PEP, status="confirmed")]).level == "high"
    assert risk([hit(status="confirmed")]).level == "high"


def test_journey_high_risk_applicant_is_high_and_says_why():
    assessment = risk([hit(PEP, 100)], country="RU", amount=Decimal("3000000"))
    assert assessment.level == "high"
    assert assessment.reasons == ("1 screening hit to review", "high-risk country (RU)", "large declared amounts")


# --- the index finds what an exhaustive scan finds ------------------------------------------------------------


def _misspell(rng, name):
    letters = list(name)
    for _ in range(rng.randint(1, 2)):
        i = rng.randrange(len(letters))
        roll = rng.random()
        if roll < 0.4:
            letters[i] = rng.choice("aeiouykhcsz")
        elif roll < 0.7 and len(letters) > 4:
            del letters[i]
        elif i + 1 < len(letters):
            letters[i], letters[i + 1] = letters[i + 1], letters[i]
    return "".join(letters)


def test_the_index_finds_what_an_exhaustive_scan_finds():
    import random

    from bench.compliance_screening import synthetic_list

    listed = synthetic_list(4000, seed=5)
    rng = random.Random(5)
    queries = []
    for entry in rng.sample(listed, 150):
        surname, _, given = rng.choice([entry.name, *entry.aliases]).partition(", ")
        name = f"{given} {surname}" if given else surname
        queries.append(Applicant(_misspell(rng, name) if rng.random() < 0.7 else name))
    fast, slow = ScreeningIndex(listed), ScreeningIndex(listed, exhaustive=True)
    found = expected = 0
    for query in queries:
        wanted = {(hit.entry_id, hit.score) for hit in slow.screen(query)}
        expected += len(wanted)
        found += len(wanted & {(hit.entry_id, hit.score) for hit in fast.screen(query)})
    assert expected > 300
    assert found / expected >= 0.995


name_words = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzéüñøабвгдежзиклмнопрстуфхцчшщыэюяابتجدرسعفقكلمنهوي王李张刘陈"),
    min_size=2,
    max_size=9,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(name_words, min_size=1, max_size=3), st.booleans())
def test_a_listed_name_always_finds_its_entry_at_full_score(words, surname_first):
    listed_name = f"{words[-1].upper()}, {' '.join(words[:-1])}" if surname_first and len(words) > 1 else " ".join(words)
    applicant_name = " ".join(words)
    assume(normalize_name(applicant_name))  # "mr dr" alone is all honorifics: no name left to match
    other = ListEntry(SANCTIONS, "2", "Zzyzx Qwerty")
    hits = ScreeningIndex([ListEntry(SANCTIONS, "1", listed_name), other]).screen(Applicant(applicant_name))
    assert hits
    assert (hits[0].entry_id, hits[0].name_score, hits[0].score) == ("1", 100, 100)
