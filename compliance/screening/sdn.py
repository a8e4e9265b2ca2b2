"""Readers for the lists screening uses: OFAC's SDN list in its published CSV format, and a simple PEP CSV.

Pure and typed: no Django import.

OFAC SDN CSV (https://www.treasury.gov/ofac/downloads/, data specification `dat_spec.txt`): no header row,
comma separated, double-quoted text, "-0-" for an empty value, linked by `ent_num`.
  sdn.csv  ent_num, SDN_Name, SDN_Type, Program, Title, Call_Sign, Vess_type, Tonnage, GRT, Vess_flag,
           Vess_owner, Remarks
  alt.csv  ent_num, alt_num, alt_type, alt_name, alt_remarks
SDN_Type is "individual", "vessel", "aircraft", or "-0-" for an entity. Individuals are written
"SURNAME, Given Names". Dates of birth and nationalities sit in Remarks, separated by semicolons:
"DOB 12 Apr 1961; alt. DOB 1962; POB Moscow, Russia; nationality Russia; citizen Russia; Gender Male.".
The published files end with a line holding an end-of-file character (\\x1a), which is skipped.

PEP CSV (our format, UTF-8, with a header row):
  id,name,aliases,date_of_birth,country,position
  aliases: names separated by "|"; date_of_birth: "1961-04-12", "1961" or "1960 to 1962", several separated
  by "|"; country: ISO 3166-1 alpha-2 codes separated by "|"; position: free text, shown to the reviewer.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from pathlib import Path

from compliance.screening.matching import AIRCRAFT, ENTITY, INDIVIDUAL, PEP, SANCTIONS, VESSEL, ListEntry

EMPTY = "-0-"

SDN_COLUMNS = (
    "ent_num", "SDN_Name", "SDN_Type", "Program", "Title", "Call_Sign", "Vess_type", "Tonnage", "GRT",
    "Vess_flag", "Vess_owner", "Remarks",
)
ALT_COLUMNS = ("ent_num", "alt_num", "alt_type", "alt_name", "alt_remarks")
PEP_COLUMNS = ("id", "name", "aliases", "date_of_birth", "country", "position")

# Country names as OFAC writes them in Remarks -> ISO 3166-1 alpha-2. Names not here are kept as written and
# never compared (the score ignores them), so a missing name costs a check, never a wrong one.
COUNTRY_CODES: dict[str, str] = {
    "afghanistan": "AF", "albania": "AL", "algeria": "DZ", "angola": "AO", "argentina": "AR", "armenia": "AM",
    "austria": "AT", "azerbaijan": "AZ", "bahrain": "BH", "bangladesh": "BD", "belarus": "BY", "belgium": "BE",
    "belize": "BZ", "bolivia": "BO", "bosnia and herzegovina": "BA", "brazil": "BR", "bulgaria": "BG",
    "burma": "MM", "myanmar": "MM", "cambodia": "KH", "canada": "CA", "central african republic": "CF",
    "chile": "CL", "china": "CN", "colombia": "CO", "congo, democratic republic of the": "CD", "croatia": "HR",
    "cuba": "CU", "cyprus": "CY", "czech republic": "CZ", "czechia": "CZ", "ecuador": "EC", "egypt": "EG",
    "eritrea": "ER", "estonia": "EE", "ethiopia": "ET", "finland": "FI", "france": "FR", "georgia": "GE",
    "germany": "DE", "ghana": "GH", "greece": "GR", "guatemala": "GT", "haiti": "HT", "honduras": "HN",
    "hong kong": "HK", "hungary": "HU", "india": "IN", "indonesia": "ID", "iran": "IR", "iraq": "IQ",
    "ireland": "IE", "israel": "IL", "italy": "IT", "japan": "JP", "jordan": "JO", "kazakhstan": "KZ",
    "kenya": "KE", "korea, north": "KP", "north korea": "KP", "korea, south": "KR", "south korea": "KR",
    "kosovo": "XK", "kuwait": "KW", "kyrgyzstan": "KG", "latvia": "LV", "lebanon": "LB", "libya": "LY",
    "lithuania": "LT", "malaysia": "MY", "mali": "ML", "malta": "MT", "mexico": "MX", "moldova": "MD",
    "montenegro": "ME", "morocco": "MA", "netherlands": "NL", "nicaragua": "NI", "nigeria": "NG",
    "north macedonia": "MK", "norway": "NO", "oman": "OM", "pakistan": "PK", "panama": "PA", "paraguay": "PY",
    "peru": "PE", "philippines": "PH", "poland": "PL", "portugal": "PT", "qatar": "QA", "romania": "RO",
    "russia": "RU", "russian federation": "RU", "saudi arabia": "SA", "serbia": "RS", "singapore": "SG",
    "slovakia": "SK", "slovenia": "SI", "somalia": "SO", "south africa": "ZA", "south sudan": "SS",
    "spain": "ES", "sri lanka": "LK", "sudan": "SD", "sweden": "SE", "switzerland": "CH", "syria": "SY",
    "taiwan": "TW", "tajikistan": "TJ", "tanzania": "TZ", "thailand": "TH", "tunisia": "TN", "turkey": "TR",
    "turkiye": "TR", "turkmenistan": "TM", "uganda": "UG", "ukraine": "UA", "united arab emirates": "AE",
    "united kingdom": "GB", "united states": "US", "uruguay": "UY", "uzbekistan": "UZ", "venezuela": "VE",
    "vietnam": "VN", "yemen": "YE", "zimbabwe": "ZW",
}

_SDN_TYPES = {"individual": INDIVIDUAL, "vessel": VESSEL, "aircraft": AIRCRAFT}


def _value(text: str | None) -> str:
    value = (text or "").strip()
    return "" if value == EMPTY else value


def country_code(name: str) -> str:
    """ISO alpha-2 for a country name as OFAC writes it, or the name itself when unknown."""
    cleaned = name.strip().rstrip(".").strip()
    if len(cleaned) == 2 and cleaned.isalpha():
        return cleaned.upper()
    return COUNTRY_CODES.get(cleaned.lower(), cleaned)


def parse_remarks(remarks: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Dates of birth and countries (nationality, citizenship, place of birth) found in an SDN Remarks field."""
    births: list[str] = []
    countries: list[str] = []
    for part in _value(remarks).split(";"):
        item = part.strip().rstrip(".").strip()
        if match := re.match(r"(?:alt\.\s*)?DOB\s+(.+)", item, flags=re.IGNORECASE):
            births.append(match.group(1).strip())
        elif match := re.match(r"(?:alt\.\s*)?(?:nationality|citizen)\s+(.+)", item, flags=re.IGNORECASE):
            countries.append(country_code(match.group(1)))
        elif match := re.match(r"(?:alt\.\s*)?POB\s+(.+)", item, flags=re.IGNORECASE):
            # "POB Moscow, Russia": the country is the last part; a bare city is not a country.
            place = match.group(1).split(",")[-1].strip()
            code = country_code(place)
            if len(code) == 2:
                countries.append(code)
    return tuple(births), tuple(dict.fromkeys(countries))


def _rows(lines: Iterable[str]) -> Iterable[list[str]]:
    for row in csv.reader(lines):
        # Skip blank lines and the end-of-file marker line; ent_num is always a number.
        if len(row) >= 2 and row[0].strip().isdigit():
            yield row


def parse_sdn(sdn_lines: Iterable[str], alt_lines: Iterable[str] = (), *, list_name: str = SANCTIONS) -> list[ListEntry]:
    """Entries from the lines of sdn.csv and alt.csv (any iterable of lines: an open file, a list)."""
    aliases: dict[str, list[str]] = {}
    for row in _rows(alt_lines):
        padded = [*row, *[""] * (len(ALT_COLUMNS) - len(row))]
        alt_name = _value(padded[3])
        if alt_name:
            aliases.setdefault(padded[0].strip(), []).append(alt_name)
    entries: list[ListEntry] = []
    for row in _rows(sdn_lines):
        padded = [*row, *[""] * (len(SDN_COLUMNS) - len(row))]
        entry_id, name = padded[0].strip(), _value(padded[1])
        if not name:
            continue
        births, countries = parse_remarks(padded[11])
        kind = _SDN_TYPES.get(_value(padded[2]).lower(), ENTITY)
        if kind == VESSEL and _value(padded[9]):
            countries = (*countries, country_code(_value(padded[9])))
        entries.append(
            ListEntry(
                list_name=list_name,
                entry_id=entry_id,
                name=name,
                aliases=tuple(aliases.get(entry_id, ())),
                dates_of_birth=births,
                countries=countries,
                program=_value(padded[3]),
                kind=kind,
            )
        )
    return entries


def _read_lines(path: Path) -> list[str]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Older OFAC files are Latin-1; our samples and current files are UTF-8.
        text = raw.decode("latin-1")
    return text.splitlines()


def load_sdn(directory: Path | str) -> list[ListEntry]:
    """Read `sdn.csv` and, when present, `alt.csv` from a directory."""
    folder = Path(directory)
    alt = folder / "alt.csv"
    return parse_sdn(_read_lines(folder / "sdn.csv"), _read_lines(alt) if alt.exists() else ())


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split("|") if part.strip())


def parse_pep(lines: Iterable[str], *, list_name: str = PEP) -> list[ListEntry]:
    """Entries from the lines of a PEP CSV (format in the module docstring)."""
    reader = csv.DictReader(lines)
    missing = set(PEP_COLUMNS) - set(reader.fieldnames or ())
    if missing:
        raise ValueError(f"PEP list is missing columns: {', '.join(sorted(missing))}")
    entries = []
    for row in reader:
        name = (row["name"] or "").strip()
        if not name:
            continue
        entries.append(
            ListEntry(
                list_name=list_name,
                entry_id=(row["id"] or "").strip(),
                name=name,
                aliases=_split(row["aliases"] or ""),
                dates_of_birth=_split(row["date_of_birth"] or ""),
                countries=tuple(country_code(code) for code in _split(row["country"] or "")),
                program=(row["position"] or "").strip(),
                kind=INDIVIDUAL,
            )
        )
    return entries


def load_pep(path: Path | str) -> list[ListEntry]:
    return parse_pep(_read_lines(Path(path)))
