"""Reference keys and links: the range of one referenced object holds its keys and no other's."""

from services.dossier.links import link_document, reference_key, reference_range


def within(key: str, bounds: tuple[str, str]) -> bool:
    low, high = bounds
    return low <= key < high


def test_the_keys_to_an_object_lie_in_its_range() -> None:
    bounds = reference_range("DOS-1", "C1")
    assert within(reference_key("DOS-1", "C1", "S1"), bounds)
    assert within(reference_key("DOS-1", "C1", ""), bounds)
    assert within(reference_key("DOS-1", "C1", "\uffff" * 3), bounds)


def test_no_key_of_an_object_or_dossier_whose_id_begins_alike_lies_in_the_range() -> None:
    bounds = reference_range("DOS-1", "C1")
    assert not within(reference_key("DOS-1", "C10", "S1"), bounds)
    assert not within(reference_key("DOS-1", "C1 ", "S1"), bounds)
    assert not within(reference_key("DOS-1", "C", "1"), bounds)
    assert not within(reference_key("DOS-10", "C1", "S1"), bounds)
    assert not within(reference_key("DOS-", "1", "S1"), bounds)


def test_reference_keys_never_begin_like_a_date() -> None:
    assert not reference_key("2024-03-01", "2024-03-01", "S1")[0].isdigit()
    assert not reference_range("01.02.2024", "C1")[0][0].isdigit()


def test_a_link_is_found_both_ways() -> None:
    link = link_document("DOS-1", "claim", "S1", "R1")
    assert within(link["risk_key"], reference_range("DOS-1", "claim\x1dR1"))
    assert within(link["item_key"], reference_range("DOS-1", "claim\x1dS1"))
    assert not within(link["risk_key"], reference_range("DOS-1", "contract\x1dR1"))


def test_each_pair_has_its_own_link_whatever_its_ids_hold() -> None:
    pairs = [("S1", "R1"), ("S1\x1fR", "1"), ("S1", "R1\x1f"), ("S", "1\x1fR1")]
    assert len({link_document("DOS-1", "claim", item, risk)["_id"]
                for item, risk in pairs}) == len(pairs)
