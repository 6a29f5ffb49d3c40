"""The demo office (`make dev`) looks plausible whatever the day: its dates follow today."""

import json
from datetime import date, timedelta

import pytest

from deploy.local.seed_demo import DEMO_DOSSIERS, as_of
from libs.contracts.dossier import DossierImport

DAYS = [date(2026, 12, 5), date(2028, 2, 29), date(2031, 7, 1), date(2025, 6, 20)]


def demo_office(today: date) -> list[DossierImport]:
    return [DossierImport.model_validate(as_of(json.loads(path.read_text("utf-8")), today))
            for path in DEMO_DOSSIERS]


@pytest.mark.parametrize("today", DAYS, ids=str)
def test_every_active_contract_renews_ahead_of_today(today: date) -> None:
    for dossier in demo_office(today):
        for contract in dossier.contracts:
            assert contract.start_date < today, contract.contract_id
            if contract.status == "active" and contract.renewal_date is not None:
                assert today < contract.renewal_date <= today + timedelta(days=366), (
                    contract.contract_id, contract.renewal_date)


@pytest.mark.parametrize("today", DAYS, ids=str)
def test_exactly_one_invoice_is_overdue_and_the_newest_claim_is_recent(today: date) -> None:
    invoices = [invoice for dossier in demo_office(today) for invoice in dossier.invoices]
    overdue = [invoice.invoice_id for invoice in invoices
               if invoice.status == "overdue" or (invoice.status == "open"
                                                  and invoice.due_date < today)]
    assert overdue == ["F-00951-2"]
    claims = [claim for dossier in demo_office(today) for claim in dossier.claims]
    newest = max(claim.occurred_on for claim in claims)
    assert today - timedelta(days=365) < newest < today
