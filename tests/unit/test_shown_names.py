"""Names people give lose the characters that hide or reorder what a reader sees."""

import pytest
from pydantic import BaseModel, ValidationError

from libs.contracts.shown_names import GivenName, ShownName, shown_name

HIDDEN = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068",
          "\u2069", "\u200e", "\u200f", "\u061c", "\x00", "\x07", "\t", "\n", "\x1b", "\x7f",
          "\x85", "\x9b"]


class Upload(BaseModel):
    filename: GivenName


class Listed(BaseModel):
    filename: ShownName


@pytest.mark.parametrize("hidden", HIDDEN)
def test_every_bidi_control_and_control_character_is_stripped(hidden: str) -> None:
    assert shown_name(f"factuur{hidden}fdp.exe") == "factuurfdp.exe"


def test_the_right_to_left_override_trick_shows_the_real_extension() -> None:
    # "factuur\u202efdp.exe" is shown by a browser as "factuurexe.pdf".
    assert Upload(filename="factuur\u202efdp.exe").filename == "factuurfdp.exe"


def test_letters_of_every_script_and_ordinary_punctuation_are_kept() -> None:
    name = "Été – Überweisung (2).pdf مرحبا שלום 日本 😀"
    assert shown_name(name) == name


def test_a_given_name_of_only_hidden_characters_is_refused_a_shown_one_is_emptied() -> None:
    with pytest.raises(ValidationError, match="only invisible characters"):
        Upload(filename="\u202e\u2066")
    assert Listed(filename="\u202e\u2066").filename == ""
