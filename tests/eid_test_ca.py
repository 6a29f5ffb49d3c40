"""The fake Belgian eID hierarchy of the tests: the one `make dev` uses (deploy/local/demo_eid.py),
fresh per test module, "Belgium Root CA" -> "Citizen CA" -> a citizen's certificate."""

from deploy.local.demo_eid import (
    NOW,
    Authority,
    EidHierarchy,
    as_forwarded_header,
    authority,
    citizen_certificate,
    eid_hierarchy,
    pem_of,
)

__all__ = ["NOW", "Authority", "EidHierarchy", "as_forwarded_header", "authority",
           "citizen_certificate", "eid_hierarchy", "pem_of"]
