"""The numbers of a broker's export are checked before they reach a client's screen (pure)."""

import pytest

from services.dossier.identifiers import (
    currency_problem,
    money_problem,
    national_number_problem,
    normalized_plate,
    plate_problem,
    postal_code_problem,
    vin_check_digit,
    vin_problem,
)


@pytest.mark.parametrize("plate", ["1-ABC-123", "1abc123", "2 XYZ 987", "ABC-123", "123-ABC"])
def test_belgian_plates_of_every_series_are_accepted(plate: str) -> None:
    assert plate_problem(plate) is None


@pytest.mark.parametrize("plate", [
    "0-ABC-123", "1-AB-123", "1-ABC-12", "AB-12-CD", "", "1-ÅBC-123"])
def test_other_plates_are_refused_with_an_example(plate: str) -> None:
    reason = plate_problem(plate)
    assert reason is not None and "1-ABC-123" in reason


def test_a_plate_is_compared_without_separators() -> None:
    assert normalized_plate("1-abc.123") == "1ABC123"


def test_a_north_american_vin_must_carry_its_check_digit() -> None:
    assert vin_check_digit("1M8GDM9AXKP042788") == "X"
    assert vin_problem("1M8GDM9AXKP042788") is None
    reason = vin_problem("1M8GDM9A1KP042788")
    assert reason is not None and "position 9 should be X" in reason


def test_a_european_vin_without_check_digit_is_accepted_on_its_format() -> None:
    assert vin_problem("WVWZZZCDZMW123456") is None  # Volkswagen: position 9 is "Z"
    assert vin_problem("VF1RFB00X67123456") is None  # Renault: no check digit required


@pytest.mark.parametrize("vin", ["WVWZZZCDZMW12345", "WVWZZZCDZMW1234567", "WVWZZZCDZMWI23456",
                                 "wvwzzzcdzmw123456"])
def test_a_vin_of_the_wrong_length_or_letters_is_refused(vin: str) -> None:
    assert vin_problem(vin) is not None


@pytest.mark.parametrize("code", ["1000", "9000", "2018", "8660"])
def test_belgian_postal_codes_have_four_digits_from_1000(code: str) -> None:
    assert postal_code_problem(code, "BE") is None


@pytest.mark.parametrize("code", ["0999", "900", "90000", "B-9000", ""])
def test_other_belgian_postal_codes_are_refused(code: str) -> None:
    assert postal_code_problem(code, "BE") is not None


def test_foreign_postal_codes_are_not_judged_by_belgian_rules() -> None:
    assert postal_code_problem("75008", "FR") is None


@pytest.mark.parametrize("number", ["81.04.12-153.52", "81041215352", "14.06.03-088.90"])
def test_valid_national_register_numbers_are_accepted(number: str) -> None:
    assert national_number_problem(number) is None


@pytest.mark.parametrize("number", ["81.04.12-153.53", "81.13.12-153.52", "123", ""])
def test_a_wrong_national_register_number_is_refused(number: str) -> None:
    assert national_number_problem(number) is not None


def test_money_is_never_negative_and_zero_is_fine() -> None:
    assert money_problem(0) is None
    assert money_problem(None) is None
    assert money_problem(114532) is None
    assert money_problem(-1) == "must not be negative"


def test_currencies_are_iso_codes() -> None:
    assert currency_problem("EUR") is None
    assert currency_problem("eur") is not None
    assert currency_problem("EURO") is not None
