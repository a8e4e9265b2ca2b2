"""Screening throughput against a list the size of OFAC's SDN list.

`screening_throughput()` returns applications screened per second; `bench/compliance.py` reports it as
`screening_per_second`. The list is synthetic (about 18,000 entries, most of them with aliases, some in Cyrillic,
Arabic and Chinese script, as on the real list) and seeded, so runs compare; the applicants mix names that hit,
near misses and unrelated names. Building the index is timed separately (`index_build_seconds`): it happens once
per list load, not per application.
"""

from __future__ import annotations

import random
import time
from datetime import date

from compliance.screening import Applicant, ListEntry, ScreeningIndex
from compliance.screening.matching import ENTITY, SANCTIONS

ENTRIES = 18_000
APPLICANTS = 400

GIVEN = [
    "Ahmed", "Ali", "Omar", "Karim", "Hassan", "Yusuf", "Ibrahim", "Tariq", "Nour", "Fatima", "Aisha", "Leila",
    "Viktor", "Dmitri", "Sergei", "Oleg", "Pavel", "Ivan", "Yulia", "Olga", "Elena", "Anastasia", "Mikhail",
    "Wei", "Jian", "Hao", "Ming", "Li", "Xiaoming", "Jun", "Hector", "Carlos", "Juan", "Maria", "Jose", "Luis",
    "Rafael", "Miguel", "Ana", "Samuel", "John", "David", "James", "Peter", "Anna", "Sofia", "Mehmet", "Farhad",
    "Reza", "Seon", "Min", "Jae", "Van", "Thanh", "Emeka", "Grace", "Kwame", "Milos", "Dragan", "Goran",
]
FAMILY = [
    "Al-Rashid", "Haddad", "Ibrahim", "Aziz", "Mansour", "Khan", "Hussein", "Saleh", "Nasser", "Qasim",
    "Petrov", "Volkov", "Ivanov", "Sidorov", "Orlov", "Belov", "Korolenko", "Petrenko", "Smirnov", "Popov",
    "Zhang", "Wang", "Li", "Chen", "Liu", "Yang", "Huang", "Zhao", "Morales", "Vega", "Garcia", "Rodriguez",
    "Martinez", "Lopez", "Gonzalez", "Hernandez", "Santos", "Ferreira", "Rivera", "Smith", "Brown", "Miller",
    "Kim", "Park", "Nguyen", "Tran", "Rahimi", "Karimi", "Hosseini", "Okafor", "Mensah", "Novak", "Kovac",
    "Dragan", "Jovanovic", "Yilmaz", "Demir", "Schmidt", "Weber", "Dubois",
]
SYLLABLES = ["ka", "ri", "mo", "za", "len", "dor", "vi", "sha", "tan", "bo", "ne", "ul", "ra", "gi", "per", "os"]
COMPANY_WORDS = ["Trading", "Shipping", "Holdings", "Metals", "Energy", "Logistics", "Aviation", "Group", "Petro",
                 "Star", "Horizon", "Golden", "Eastern", "Northern", "United", "Global"]
CYRILLIC = str.maketrans({"a": "а", "b": "б", "v": "в", "g": "г", "d": "д", "e": "е", "z": "з", "i": "и", "k": "к",
                          "l": "л", "m": "м", "n": "н", "o": "о", "p": "п", "r": "р", "s": "с", "t": "т", "u": "у",
                          "f": "ф", "h": "х", "y": "й"})
HAN = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高伟明国华建军平"
ARABIC = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def synthetic_list(size: int = ENTRIES, seed: int = 7) -> list[ListEntry]:
    rng = random.Random(seed)
    entries = []
    for number in range(size):
        if rng.random() < 0.3:
            name = f"{_word(rng).upper()} {rng.choice(COMPANY_WORDS).upper()} {rng.choice(['LTD', 'LLC', 'FZE', 'CO'])}"
            entity_aliases = (f"{_word(rng).upper()} {rng.choice(COMPANY_WORDS).upper()}",) if rng.random() < 0.5 else ()
            entries.append(ListEntry(SANCTIONS, str(number), name, entity_aliases, kind=ENTITY))
            continue
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        # Invented surnames too, so the list is not 60 x 60 combinations repeated.
        if rng.random() < 0.6:
            family = _word(rng)
        middle = f" {_word(rng)}" if rng.random() < 0.4 else ""
        name = f"{family.upper()}, {given}{middle}"
        aliases: list[str] = []
        for _ in range(rng.randint(0, 4)):
            roll = rng.random()
            if roll < 0.5:
                aliases.append(f"{(family + rng.choice(['', 'i', 'a', 'e'])).upper()}, {given}")
            elif roll < 0.7:
                aliases.append(f"{family.lower().translate(CYRILLIC)} {given.lower().translate(CYRILLIC)}")
            elif roll < 0.85:
                aliases.append("".join(rng.choice(HAN) for _ in range(rng.randint(2, 3))))
            else:
                aliases.append(" ".join("".join(rng.choice(ARABIC) for _ in range(4)) for _ in range(2)))
        year = rng.randint(1940, 1995)
        dob = (f"{rng.randint(1, 28):02d} {rng.choice(['Jan', 'Apr', 'Jul', 'Oct'])} {year}",) if rng.random() < 0.7 else ()
        country = (rng.choice(["RU", "IR", "SY", "CN", "KP", "VE", "MX", "IQ", "LB"]),)
        entries.append(ListEntry(SANCTIONS, str(number), name, tuple(aliases), dob, country, "SYNTHETIC"))
    return entries


def synthetic_applicants(entries: list[ListEntry], count: int = APPLICANTS, seed: int = 11) -> list[Applicant]:
    rng = random.Random(seed)
    applicants = []
    for number in range(count):
        roll = rng.random()
        if roll < 0.1:  # a listed person, as the list writes them
            entry = rng.choice(entries)
            surname, _, given = entry.name.partition(", ")
            name = f"{given} {surname.title()}" if given else entry.name
        elif roll < 0.3:  # common first and family names: near misses
            name = f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}"
        else:
            name = f"{_word(rng)} {_word(rng)}{'' if number % 3 else ' ' + _word(rng)}"
        born = date(rng.randint(1940, 2005), rng.randint(1, 12), rng.randint(1, 28))
        applicants.append(Applicant(name, born, (rng.choice(["US", "FR", "GB", "DE", "RU", "BR", "IN"]),)))
    return applicants


def screening_measure(entries: int = ENTRIES, applicants: int = APPLICANTS) -> dict[str, float]:
    listed = synthetic_list(entries)
    started = time.perf_counter()
    index = ScreeningIndex(listed)
    built = time.perf_counter() - started
    people = synthetic_applicants(listed, applicants)
    started = time.perf_counter()
    hits = sum(len(index.screen(person)) for person in people)
    elapsed = time.perf_counter() - started
    return {
        "screening_per_second": len(people) / elapsed,
        "screening_ms_per_application": 1000 * elapsed / len(people),
        "index_build_seconds": built,
        "index_names": float(index.name_count),
        "hits": float(hits),
    }


def screening_throughput() -> float:
    """Applications screened per second against about 18,000 listed names with their aliases."""
    return screening_measure()["screening_per_second"]


if __name__ == "__main__":
    for key, value in screening_measure().items():
        print(f"{key:32s} {value:,.2f}")
