"""Fuzzy screening of a person against sanctions and PEP lists.

Pure and typed: no Django import. The caller loads the list entries (from the database or straight from files
with `compliance.screening.sdn`), builds a `ScreeningIndex` once, and screens many applicants against it.

How a score (0-100) is made:
1. Names are normalized: Unicode compatibility form, any script transliterated to ASCII (anyascii: Cyrillic,
   Greek, Arabic, Chinese, Korean, diacritics), lower case, punctuation dropped, honorifics dropped;
   "SURNAME, Given" (the OFAC order for individuals) reads as "Given SURNAME".
2. The name score is the best of, over the entry's name and every alias:
   - the similarity of the sorted tokens (word order does not matter: "PETROV Viktor" = "Viktor Petrov");
   - the similarity with spaces removed, in written and in reversed order ("Zhang Weiming" =
     "Zhang Wei Ming" = "Weiming ZHANG");
   - 95 x the token-set similarity when both names have two or more words (a missing middle name);
   - 90 x the similarity of consonant skeletons for aliases written in an abjad (Arabic, Persian, Hebrew),
     whose transliteration lacks short vowels ("karim al-rashid" ~ "krym lrshyd").
3. Date of birth: a matching full date adds 10, a matching year (or a year inside the listed range) adds 5;
   a different date in the same year changes nothing (day and month are often swapped or wrong);
   a year one off takes 10 away, further off takes 25 away. No date on either side changes nothing.
4. Country: a country of the applicant among the entry's countries adds 5; the entry naming countries, none of
   them the applicant's, takes 5 away (residence often differs from nationality, so the weight is small).
A hit is a final score at or above the threshold. Every step that moved the score is listed in `reasons`.

Speed: every name variant's keys are computed once in the index; a query is a few passes of rapidfuzz's C
scorers with a `score_cutoff` over the candidates an index of letter triples picks (names sharing at least 15%
of the query's triples), plus a word index for the token-set step, so one applicant against the 18,000 entries
of the OFAC SDN list takes milliseconds (`bench/compliance_screening.py`).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from operator import itemgetter
from typing import Protocol

from anyascii import anyascii
from rapidfuzz import fuzz, process

SANCTIONS = "sanctions"  # the values match compliance.choices.ScreeningList
PEP = "pep"

INDIVIDUAL = "individual"
ENTITY = "entity"
VESSEL = "vessel"
AIRCRAFT = "aircraft"

DEFAULT_THRESHOLD = 80
STRONG_SCORE = 90

# How much each check moves the score.
DOB_EXACT_BONUS = 10
DOB_YEAR_BONUS = 5
DOB_YEAR_OFF_BY_ONE = -10
DOB_MISMATCH = -25
COUNTRY_BONUS = 5
COUNTRY_MISMATCH = -5
MAX_BONUS = DOB_EXACT_BONUS + COUNTRY_BONUS
# A name must look like the entry's on its own: dates and countries refine a name match, they never make one.
NAME_FLOOR = 70

SUBSET_WEIGHT = 0.95
SKELETON_WEIGHT = 0.90

HONORIFICS = frozenset(
    {"mr", "mrs", "ms", "miss", "dr", "prof", "sir", "dame", "sheikh", "shaikh", "haji", "hajji", "general", "gen",
     "colonel", "col"}
)

_MONTHS = {
    name: number
    for number, names in enumerate(
        [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
         ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"),
         ("nov", "november"), ("dec", "december")],
        start=1,
    )
    for name in names
}


@dataclass(frozen=True)
class ListEntry:
    """One name on a list, with what the list says about the person or entity."""

    list_name: str  # SANCTIONS or PEP
    entry_id: str
    name: str
    aliases: tuple[str, ...] = ()
    dates_of_birth: tuple[str, ...] = ()  # as lists give them: "12 Apr 1961", "1961-04-12", "1961", "1960 to 1962"
    countries: tuple[str, ...] = ()  # ISO 3166-1 alpha-2 where known; other text is kept but never compared
    program: str = ""
    kind: str = INDIVIDUAL


@dataclass(frozen=True)
class Applicant:
    name: str
    date_of_birth: date | None = None
    countries: tuple[str, ...] = ()  # ISO alpha-2: residence, tax residency, nationality, as known


@dataclass(frozen=True)
class Hit:
    list_name: str
    entry_id: str
    matched_name: str  # the name or alias as written on the list
    score: int  # 0-100, after the date-of-birth and country checks
    name_score: int  # the name similarity alone
    reasons: tuple[str, ...]
    status: str = "open"  # the reviewer's decision is recorded elsewhere; "open" until then


# --- normalization -------------------------------------------------------------------------------------------


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return (
        0x3040 <= code <= 0x30FF  # Hiragana, Katakana
        or 0x3400 <= code <= 0x4DBF  # CJK extension A
        or 0x4E00 <= code <= 0x9FFF  # CJK unified ideographs
        or 0xAC00 <= code <= 0xD7AF  # Hangul syllables
        or 0xF900 <= code <= 0xFAFF  # CJK compatibility ideographs
    )


def _is_abjad(char: str) -> bool:
    code = ord(char)
    return 0x0590 <= code <= 0x06FF or 0x0750 <= code <= 0x077F or 0xFB1D <= code <= 0xFEFC


def _transliterate(name: str) -> str:
    """ASCII for any script. A run of CJK characters becomes one word per run, except that a name written as a
    single run of two to four characters reads as surname + given name ("张伟明" -> "Zhang Weiming"), the way
    Chinese and Korean names are romanized."""
    stripped = name.strip()
    if 2 <= len(stripped) <= 4 and all(_is_cjk(char) for char in stripped):
        syllables = [anyascii(char) for char in stripped]
        return f"{syllables[0]} {''.join(syllables[1:]).lower()}"
    parts: list[str] = []
    run: list[str] = []
    for char in name:
        if _is_cjk(char):
            run.append(anyascii(char))
            continue
        if run:
            parts.append("".join(run).lower())
            run = []
        parts.append(anyascii(char))
    if run:
        parts.append("".join(run).lower())
    return "".join(parts)


def _reorder(name: str) -> str:
    """OFAC writes individuals as "SURNAME, Given names"; read them in the order people write their name."""
    if name.count(",") == 1:
        surname, given = name.split(",")
        return f"{given.strip()} {surname.strip()}"
    return name


def name_tokens(name: str, *, surname_first: bool = False) -> list[str]:
    text = unicodedata.normalize("NFKC", name)
    if surname_first:
        text = _reorder(text)
    text = _transliterate(text).lower()
    text = re.sub(r"['`]", "", text)  # O'Brien = OBrien
    return [token for token in re.split(r"[^a-z0-9]+", text) if token and token not in HONORIFICS]


def normalize_name(name: str) -> str:
    """The form names are compared in: "Müller, Jürgen-Karl" -> "muller jurgen karl"."""
    return " ".join(name_tokens(name))


def _skeleton(tokens: Iterable[str]) -> str:
    """Consonants only: the part of a name an abjad writes (short vowels are not written)."""
    return "".join(re.sub(r"[aeiouyw]", "", token) for token in tokens)


# --- dates of birth ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BirthDate:
    """A date of birth as a list gives it: an exact day, or a range of years."""

    first_year: int
    last_year: int
    day: date | None = None


def parse_birth_date(text: str) -> BirthDate | None:
    """"12 Apr 1961", "1961-04-12", "Apr 1961", "1961", "1960 to 1962", "circa 1961"; None if unreadable."""
    value = text.strip().lower().rstrip(".")
    if not value:
        return None
    if match := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", value):
        year, month, day = (int(group) for group in match.groups())
        return _day(year, month, day)
    if match := re.fullmatch(r"(\d{1,2})\s+([a-z]+)\.?\s+(\d{4})", value):
        month_number = _MONTHS.get(match.group(2))
        if month_number is not None:
            return _day(int(match.group(3)), month_number, int(match.group(1)))
    if match := re.fullmatch(r"(?:[a-z]+\.?\s+)?(\d{4})", value):
        prefix = value[: match.start(1)].strip(" .")
        year = int(match.group(1))
        if prefix in ("circa", "c", "ca", "approximately", "approx"):
            return BirthDate(year - 1, year + 1)
        if prefix == "" or prefix in _MONTHS:
            return BirthDate(year, year)
        return None
    if match := re.fullmatch(r"(\d{4})\s*(?:to|-|–)\s*(\d{4})", value):
        first, last = sorted((int(match.group(1)), int(match.group(2))))
        return BirthDate(first, last)
    return None


def _day(year: int, month: int, day: int) -> BirthDate | None:
    try:
        exact = date(year, month, day)
    except ValueError:
        return BirthDate(year, year)
    return BirthDate(year, year, exact)


def _birth_date_check(born: date | None, listed: Sequence[BirthDate]) -> tuple[int, str | None]:
    if born is None or not listed:
        return 0, None
    outcomes: list[tuple[int, str]] = []
    for candidate in listed:
        if candidate.day is not None and candidate.day == born:
            outcome = (DOB_EXACT_BONUS, f"date of birth matches ({born.isoformat()})")
        elif candidate.first_year <= born.year <= candidate.last_year:
            if candidate.day is not None:
                outcome = (0, f"same year of birth, different date (list: {candidate.day.isoformat()})")
            else:
                outcome = (DOB_YEAR_BONUS, f"year of birth matches ({born.year})")
        else:
            distance = min(abs(born.year - candidate.first_year), abs(born.year - candidate.last_year))
            listed_text = _years(candidate)
            if distance == 1:
                outcome = (DOB_YEAR_OFF_BY_ONE, f"year of birth one year off (list: {listed_text})")
            else:
                outcome = (DOB_MISMATCH, f"date of birth differs (list: {listed_text})")
        outcomes.append(outcome)
    adjustment, reason = max(outcomes, key=lambda outcome: outcome[0])
    return adjustment, reason


def _years(birth: BirthDate) -> str:
    if birth.day is not None:
        return birth.day.isoformat()
    if birth.first_year == birth.last_year:
        return str(birth.first_year)
    return f"{birth.first_year}-{birth.last_year}"


def _country_check(applicant: Sequence[str], listed: Sequence[str]) -> tuple[int, str | None]:
    codes = {code for code in listed if len(code) == 2}
    if not applicant or not codes:
        return 0, None
    shared = sorted(codes & set(applicant))
    if shared:
        return COUNTRY_BONUS, f"country matches ({', '.join(shared)})"
    return COUNTRY_MISMATCH, f"country differs (list: {', '.join(sorted(codes))})"


# --- name similarity -----------------------------------------------------------------------------------------


def _keys(tokens: Sequence[str]) -> tuple[str, str, str]:
    """The forms a list name is compared in: sorted words; no spaces, as written and reversed (a name the list
    reorders to "Given SURNAME" and the applicant writes surname first, "Zhang Wei Ming")."""
    return " ".join(sorted(tokens)), "".join(tokens), "".join(reversed(tokens))


def _query_keys(tokens: Sequence[str]) -> tuple[str, str, str]:
    """The applicant's forms, paired with `_keys`: the written form meets both the written and the reversed."""
    return " ".join(sorted(tokens)), "".join(tokens), "".join(tokens)


def _token_set(query: Sequence[str], candidate: Sequence[str]) -> float:
    if len(query) < 2 or len(candidate) < 2:
        return 0.0
    return SUBSET_WEIGHT * fuzz.token_set_ratio(" ".join(query), " ".join(candidate))


def name_similarity(a: str, b: str) -> float:
    """How alike two names are, 0-100, by the rules in the module docstring (both names in any script)."""
    tokens_a, tokens_b = name_tokens(a), name_tokens(b)
    if not tokens_a or not tokens_b:
        return 0.0
    keys_a, keys_b = _query_keys(tokens_a), _keys(tokens_b)
    score = max(fuzz.ratio(x, y) for x, y in zip(keys_a, keys_b, strict=True))
    score = max(score, _token_set(tokens_a, tokens_b))
    if any(_is_abjad(char) for char in a) != any(_is_abjad(char) for char in b):
        score = max(score, SKELETON_WEIGHT * fuzz.ratio(_skeleton(tokens_a), _skeleton(tokens_b)))
    return score


# A candidate must share this fraction of the query's letter triples. Measured on the benchmark's synthetic
# 18,000-entry list: for 300 listed names, most misspelt, the index finds 3,175 of the 3,176 hits (threshold 80)
# an exhaustive scan finds (the one missed: a two-character Chinese alias) in about a quarter of the time; for
# the benchmark's applicants it finds all 539.
MIN_SHARED_GRAMS = 0.15


def _grams(tokens: Iterable[str]) -> set[str]:
    """The letter triples of each word, with its start and end marked ("^sa", "sam", "am$"): the index's key."""
    grams: set[str] = set()
    for token in tokens:
        padded = f"^{token}$"
        grams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return grams


def _picker(rows: Sequence[int]) -> Callable[[Sequence[str]], Sequence[str]]:
    """Select `rows` from a list at C speed (operator.itemgetter returns a bare value for a single row)."""
    if len(rows) == 1:
        row = rows[0]
        return lambda values: [values[row]]
    if not rows:
        return lambda values: []
    return itemgetter(*rows)


# --- the index -----------------------------------------------------------------------------------------------


@dataclass
class _Variants:
    """Parallel lists, one row per name or alias of every entry."""

    owner: list[int] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    tokens: list[list[str]] = field(default_factory=list)
    sorted_key: list[str] = field(default_factory=list)
    compact: list[str] = field(default_factory=list)
    compact_reversed: list[str] = field(default_factory=list)


class ScreeningIndex:
    """Entries prepared for fast screening. Build once per list load; `screen` is read-only and thread-safe.

    Vessels and aircraft are left out: applicants are people.
    """

    def __init__(self, entries: Iterable[ListEntry], *, exhaustive: bool = False) -> None:
        self.exhaustive = exhaustive  # compare with every name instead of the candidates the letter triples pick
        self.entries: list[ListEntry] = [entry for entry in entries if entry.kind not in (VESSEL, AIRCRAFT)]
        self._by_gram: dict[str, list[int]] = {}
        self._by_skeleton_gram: dict[str, list[int]] = {}
        self._variants = _Variants()
        self._birth_dates: list[tuple[BirthDate, ...]] = []
        self._by_token: dict[str, list[int]] = {}
        self._abjad_rows: list[int] = []
        self._abjad_skeletons: list[str] = []
        for position, entry in enumerate(self.entries):
            parsed = (parse_birth_date(text) for text in entry.dates_of_birth)
            self._birth_dates.append(tuple(birth for birth in parsed if birth is not None))
            seen: set[str] = set()
            for written in (entry.name, *entry.aliases):
                tokens = name_tokens(written, surname_first=entry.kind == INDIVIDUAL)
                sorted_key, compact, compact_reversed = _keys(tokens)
                if not tokens or sorted_key in seen:
                    continue
                seen.add(sorted_key)
                row = len(self._variants.owner)
                variants = self._variants
                variants.owner.append(position)
                variants.written.append(written)
                variants.tokens.append(tokens)
                variants.sorted_key.append(sorted_key)
                variants.compact.append(compact)
                variants.compact_reversed.append(compact_reversed)
                for token in set(tokens):
                    self._by_token.setdefault(token, []).append(row)
                for gram in _grams(tokens):
                    self._by_gram.setdefault(gram, []).append(row)
                if any(_is_abjad(char) for char in written):
                    skeleton = _skeleton(tokens)
                    for gram in _grams([skeleton]):
                        self._by_skeleton_gram.setdefault(gram, []).append(len(self._abjad_skeletons))
                    self._abjad_rows.append(row)
                    self._abjad_skeletons.append(skeleton)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def name_count(self) -> int:
        """Names and aliases indexed (after removing duplicates within an entry)."""
        return len(self._variants.owner)

    def _name_scores(self, tokens: list[str], cutoff: float) -> dict[int, tuple[float, int]]:
        """entry position -> (best name score, row of the variant that gave it), for scores >= cutoff."""
        best: dict[int, tuple[float, int]] = {}

        def offer(row: int, score: float) -> None:
            owner = self._variants.owner[row]
            if score >= cutoff and (owner not in best or score > best[owner][0]):
                best[owner] = (score, row)

        query_keys = _query_keys(tokens)
        variants = self._variants
        rows = self._candidates(_grams(tokens), self._by_gram, len(variants.owner))
        choice_lists = (variants.sorted_key, variants.compact, variants.compact_reversed)
        pick = _picker(rows)
        for query, choices in zip(query_keys, choice_lists, strict=True):
            subset = pick(choices)
            for _, score, found in process.extract(
                query, subset, scorer=fuzz.ratio, processor=None, score_cutoff=cutoff, limit=None
            ):
                offer(rows[found], score)
        if len(tokens) >= 2:
            # A missing or extra middle name: only names sharing at least two words can reach the cutoff.
            shared: dict[int, int] = {}
            for token in set(tokens):
                for row in self._by_token.get(token, ()):
                    shared[row] = shared.get(row, 0) + 1
            for row, count in shared.items():
                if count >= 2:
                    offer(row, _token_set(tokens, self._variants.tokens[row]))
        if self._abjad_skeletons:
            skeleton = _skeleton(tokens)
            positions = self._candidates(_grams([skeleton]), self._by_skeleton_gram, len(self._abjad_skeletons))
            skeletons = _picker(positions)(self._abjad_skeletons)
            for _, score, found in process.extract(
                skeleton, skeletons, scorer=fuzz.ratio, processor=None, score_cutoff=cutoff / SKELETON_WEIGHT, limit=None
            ):
                offer(self._abjad_rows[positions[found]], SKELETON_WEIGHT * score)
        return best

    def _candidates(self, grams: set[str], by_gram: dict[str, list[int]], size: int) -> list[int]:
        """Rows sharing enough letter triples with the query to be worth scoring (every row when `exhaustive`).
        Names alike enough to be a hit share many triples; this is a heuristic, not a bound (at a 70% cutoff no
        q-gram bound exists), so `test_screening.py` compares it with the exhaustive scan on misspelt names."""
        if self.exhaustive:
            return list(range(size))
        counts: Counter[int] = Counter()
        for gram in grams:
            counts.update(by_gram.get(gram, ()))
        need = max(1, int(len(grams) * MIN_SHARED_GRAMS))
        return [row for row, count in counts.items() if count >= need]

    def screen(self, applicant: Applicant, *, threshold: int = DEFAULT_THRESHOLD) -> list[Hit]:
        """Hits at or above `threshold`, best first."""
        tokens = name_tokens(applicant.name)
        if not tokens:
            return []
        cutoff = max(float(threshold - MAX_BONUS), float(NAME_FLOOR))
        hits = []
        for position, (name_score, row) in self._name_scores(tokens, cutoff).items():
            hit = self._score(applicant, position, name_score, row)
            if hit.score >= threshold:
                hits.append(hit)
        hits.sort(key=lambda hit: (-hit.score, hit.list_name, hit.entry_id))
        return hits

    def score_entry(self, applicant: Applicant, entry_id: str, list_name: str) -> Hit | None:
        """The full score against one entry, whatever the threshold (for review screens and tests)."""
        tokens = name_tokens(applicant.name)
        for position, entry in enumerate(self.entries):
            if entry.entry_id == entry_id and entry.list_name == list_name:
                rows = [row for row, owner in enumerate(self._variants.owner) if owner == position]
                if not rows or not tokens:
                    return None
                scored = [(self._row_score(tokens, row), row) for row in rows]
                name_score, row = max(scored)
                return self._score(applicant, position, name_score, row)
        return None

    def _row_score(self, tokens: list[str], row: int) -> float:
        query = _query_keys(tokens)
        variants = self._variants
        candidate = (
            variants.sorted_key[row], variants.compact[row], variants.compact_reversed[row],
        )
        score = max(fuzz.ratio(x, y) for x, y in zip(query, candidate, strict=True))
        score = max(score, _token_set(tokens, variants.tokens[row]))
        if any(_is_abjad(char) for char in variants.written[row]):
            score = max(score, SKELETON_WEIGHT * fuzz.ratio(_skeleton(tokens), _skeleton(variants.tokens[row])))
        return score

    def _score(self, applicant: Applicant, position: int, name_score: float, row: int) -> Hit:
        entry = self.entries[position]
        written = self._variants.written[row]
        reasons = [f"name {round(name_score)}% similar to {written!r}" + ("" if written == entry.name else " (alias)")]
        total = name_score
        for adjustment, reason in (
            _birth_date_check(applicant.date_of_birth, self._birth_dates[position]),
            _country_check([code.upper() for code in applicant.countries], entry.countries),
        ):
            if reason is not None:
                total += adjustment
                reasons.append(reason)
        return Hit(
            list_name=entry.list_name,
            entry_id=entry.entry_id,
            matched_name=written,
            score=max(0, min(100, round(total))),
            name_score=round(name_score),
            reasons=tuple(reasons),
        )


# --- risk ----------------------------------------------------------------------------------------------------


class ReviewedHit(Protocol):
    """What the risk level needs of a hit: a `Hit` here, or the stored hit with the reviewer's decision."""

    @property
    def list_name(self) -> str: ...

    @property
    def score(self) -> int: ...

    @property
    def status(self) -> str: ...


LOW = "low"  # the values match compliance.choices.RiskLevel
MEDIUM = "medium"
HIGH = "high"


@dataclass(frozen=True)
class RiskAssessment:
    level: str
    reasons: tuple[str, ...]


def risk_level(
    *,
    hits: Iterable[ReviewedHit],
    country: str,
    declared_amount: Decimal | None,
    high_risk_countries: Iterable[str],
    high_amount: Decimal,
    strong_score: int = STRONG_SCORE,
) -> RiskAssessment:
    """Low, medium or high, with the reasons.

    High at once: a confirmed hit on either list, or an open sanctions hit scoring `strong_score` or more.
    Otherwise each of these is a factor: an open hit; a country of residence in `high_risk_countries`; a
    declared amount (income, net worth or intended investment: the caller's choice) at or above `high_amount`.
    Two or more factors: high; one: medium; none: low. Cleared hits count for nothing.
    """
    reasons: list[str] = []
    immediate = False
    open_hits = 0
    for hit in hits:
        if hit.status == "confirmed":
            immediate = True
            reasons.append(f"confirmed {'PEP' if hit.list_name == PEP else 'sanctions'} match")
        elif hit.status == "open":
            open_hits += 1
            if hit.list_name == SANCTIONS and hit.score >= strong_score:
                immediate = True
                reasons.append(f"strong sanctions match ({hit.score}) to review")
    factors = 0
    if open_hits:
        factors += 1
        reasons.append(f"{open_hits} screening hit{'s' if open_hits != 1 else ''} to review")
    if country.strip().upper() in {code.strip().upper() for code in high_risk_countries}:
        factors += 1
        reasons.append(f"high-risk country ({country.upper()})")
    if declared_amount is not None and declared_amount >= high_amount:
        factors += 1
        reasons.append("large declared amounts")
    if immediate or factors >= 2:
        level = HIGH
    elif factors == 1:
        level = MEDIUM
    else:
        level = LOW
    return RiskAssessment(level=level, reasons=tuple(reasons))
