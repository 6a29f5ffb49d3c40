"""A risk object's further fields as a client reads them (manual 3.1: the detail of a risk).

The broker's system sends kind-specific fields as names and texts (`details`: "fuel",
"power_kw", "catalogue_value_cents", ...). A page never shows such a name: the fields MyBroker
knows get a translated label and their unit (an amount in cents in euros, a power in kW, the
usual driver as that person's name with a link), a known value a translated word; any other
field keeps the label the import gave it (`detail_labels`), else its name made readable.
"""

from collections.abc import Callable
from dataclasses import dataclass

from babel.numbers import format_decimal

from gateway.web.i18n import LOCALES, Language, format_money
from gateway.web.rendering import _mark
from libs.contracts.dossier import USUAL_DRIVER, Person, RiskObjectDetail

# Shown above the further fields from their structured form (vehicle, building): not twice.
STRUCTURED_FIELDS = frozenset({
    "address", "building_type", "occupancy", "license_plate", "make", "model", "vin",
    "first_registration"})

FIELD_LABELS: dict[str, str] = {
    "fuel": _mark("Fuel"),
    "power_kw": _mark("Power"),
    "catalogue_value_cents": _mark("Catalogue value"),
    "insured_value_cents": _mark("Insured value"),
    USUAL_DRIVER: _mark("Usual driver"),
    "seats": _mark("Number of seats"),
    "mileage_km": _mark("Mileage"),
    "colour": _mark("Colour"),
    "floor": _mark("Floor"),
    "main_rooms": _mark("Number of main rooms"),
    "construction_year": _mark("Construction year"),
    "insured_capital_basis": _mark("Basis of the insured capital"),
    "insured_capital_cents": _mark("Insured capital"),
    "contents_value_cents": _mark("Value of the contents"),
}

VALUE_WORDS: dict[str, dict[str, str]] = {
    "fuel": {
        "petrol": _mark("Petrol"), "diesel": _mark("Diesel"), "electric": _mark("Electric"),
        "hybrid": _mark("Hybrid"), "plug-in hybrid": _mark("Plug-in hybrid"),
        "lpg": _mark("LPG"), "cng": _mark("CNG"), "hydrogen": _mark("Hydrogen")},
    "insured_capital_basis": {
        "grid evaluation": _mark("Evaluation grid"),
        "expert valuation": _mark("Valuation by an expert"),
        "declared value": _mark("Declared value")},
}

# A unit a field's name ends in: how its value is shown.
UNIT_SUFFIXES = {"_kw": "kW", "_km": "km", "_m2": "m²"}


@dataclass(frozen=True)
class ShownField:
    """One further field as the page shows it."""

    name: str
    label: str
    value: str
    link: str | None = None


def further_fields(
    detail: RiskObjectDetail,
    language: Language,
    translate: Callable[[str], str],
    person_link: Callable[[Person], str],
) -> list[ShownField]:
    """The risk object's fields beyond the structured ones, labelled for a reader of `language`."""
    risk = detail.risk_object
    shown = []
    for name, value in risk.details.items():
        if name in STRUCTURED_FIELDS:
            continue
        label = FIELD_LABELS.get(name)
        shown_label = translate(label) if label else (
            risk.detail_labels.get(name) or readable_name(name))
        if name == USUAL_DRIVER and detail.usual_driver is not None:
            driver = detail.usual_driver
            shown.append(ShownField(name, shown_label, f"{driver.first_name} {driver.last_name}",
                                    person_link(driver)))
            continue
        shown.append(ShownField(name, shown_label, shown_value(name, value, language, translate)))
    return shown


def shown_value(name: str, value: str, language: Language,
                translate: Callable[[str], str]) -> str:
    """A field's value with its unit, in the reader's way of writing numbers."""
    word = VALUE_WORDS.get(name, {}).get(value.strip().lower())
    if word is not None:
        return translate(word)
    if name.endswith("_cents") and value.strip().lstrip("-").isdigit():
        return format_money(int(value), "EUR", language)
    for suffix, unit in UNIT_SUFFIXES.items():
        if name.endswith(suffix) and _is_number(value):
            return f"{format_decimal(value, locale=LOCALES[language])}\xa0{unit}"
    return value


def readable_name(name: str) -> str:
    """A field name the import gave no label for, as words ("roof_type" -> "Roof type")."""
    return name.replace("_", " ").strip().capitalize()


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True
