"""The dossier service answers whether dossiers and their objects exist (for auth and documents)
and suggests dossiers to staff as they type a number."""
# ruff: noqa: F811 - the service fixture imported from test_dossier is used as a parameter

import pytest

from libs.contracts import dossier
from libs.contracts.caller import Caller, Role
from libs.servicekit.errors import Forbidden
from services.dossier.main import DossierService
from tests.service.conftest import call_in_memory
from tests.service.test_dossier import (  # noqa: F401 - the service fixture
    AGENT,
    DUPONT,
    PEETERS,
    PIETER,
    exported,
    import_dossier,
    service,
)


def ref(dossier_id: str, kind: dossier.ObjectKind, object_id: str) -> dossier.DossierObjectRef:
    return dossier.DossierObjectRef(dossier_id=dossier_id, kind=kind, object_id=object_id)


async def unknown(
    service: DossierService, caller: Caller = AGENT, dossier_ids: tuple[str, ...] = (),
    objects: tuple[dossier.DossierObjectRef, ...] = (),
) -> dossier.UnknownReferences:
    query = dossier.ReferencesQuery(caller=caller, dossier_ids=list(dossier_ids),
                                    objects=list(objects))
    return await call_in_memory(service.runtime.broker, dossier.CHECK_REFERENCES, query)


async def search(service: DossierService, text: str, caller: Caller = AGENT
                 ) -> list[tuple[str, str]]:
    found = await call_in_memory(service.runtime.broker, dossier.SEARCH_DOSSIERS,
                                 dossier.DossierSearch(caller=caller, text=text))
    return [(summary.dossier_id, summary.name) for summary in found.dossiers]


async def test_unknown_dossiers_are_named_and_known_ones_are_not(service: DossierService) -> None:
    await import_dossier(service, exported("dupont"))
    reply = await unknown(service, dossier_ids=(DUPONT, "DOS-DOES-NOT-EXIST"))
    assert reply.dossier_ids == ["DOS-DOES-NOT-EXIST"]
    assert reply.objects == []


async def test_an_object_of_another_dossier_is_unknown_in_this_one(
    service: DossierService,
) -> None:
    await import_dossier(service, exported("dupont"))
    await import_dossier(service, exported("peeters"))
    asked = (ref(DUPONT, "claim", "S-00417-1"), ref(DUPONT, "contract", "C-00417-AUTO"),
             ref(PEETERS, "claim", "S-00417-1"), ref(PEETERS, "contract", "C-00417-AUTO"),
             ref(DUPONT, "contract", "S-00417-1"))  # a claim's id is not a contract's
    reply = await unknown(service, objects=asked)
    assert reply.objects == list(asked[2:])
    assert reply.dossier_ids == []


async def test_a_client_learns_nothing_of_dossiers_not_granted_to_them(
    service: DossierService,
) -> None:
    await import_dossier(service, exported("dupont"))
    await import_dossier(service, exported("peeters"))
    reply = await unknown(service, caller=PIETER, dossier_ids=(DUPONT, PEETERS),
                          objects=(ref(PEETERS, "contract", "C-01288-HUUR"),))
    assert reply.dossier_ids == [PEETERS]  # as if it did not exist
    assert [r.object_id for r in reply.objects] == ["C-01288-HUUR"]


async def test_staff_find_dossiers_by_the_start_of_the_number_or_a_part_of_the_name(
    service: DossierService,
) -> None:
    await import_dossier(service, exported("dupont"))
    await import_dossier(service, exported("peeters"))
    dupont, peeters = (DUPONT, "Gezin Dupont - Claes"), (PEETERS, "An Peeters")
    assert await search(service, "DOS-20") == [dupont, peeters]
    assert await search(service, "dos-2019") == [dupont]
    assert await search(service, "peeters") == [peeters]
    assert await search(service, "claes") == [dupont]
    assert await search(service, "00417") == []  # the number is matched from its start
    assert await search(service, ".*") == []  # typed text, never a pattern
    assert await search(service, "   ") == []


async def test_a_client_cannot_search_the_offices_dossiers(service: DossierService) -> None:
    await import_dossier(service, exported("dupont"))
    with pytest.raises(Forbidden):
        await search(service, "DOS", caller=PIETER)
    with pytest.raises(Forbidden):
        await search(service, "DOS", caller=Caller(user_id="u", role=Role.CLIENT))
