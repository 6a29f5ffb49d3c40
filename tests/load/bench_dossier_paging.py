"""Benchmark: one list page by skip vs by keyset, straight on the dossier store (no gateway).

Against the Mongo-wire server of a running stack that holds the benchmark dossier (run
`bench_dossier_lists.py` first): for several sorts and depths, reads the same page the way the
lists did before (`sort().skip().limit()`) and the way they do now (`DossierStore.page`: one
range on the unique sort key past the boundary row), alternately, so a busy machine slows both
alike. Checks that both read the same rows, then prints p50/p95 of each and their ratio.

    python -m tests.load.bench_dossier_paging --run-dir .run/dev
"""

import argparse
import asyncio
import time
from pathlib import Path

from pydantic import BaseModel
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts.dossier import Claim, Contract, ObjectKind
from libs.servicekit.mongo import Document
from services.dossier.import_plan import object_id
from services.dossier.store import COLLECTIONS, KINDS_OF_MODELS, DossierStore, ModelT, document_id
from tests.load.bench_dossier_lists import DOSSIER_ID, percentile

PAGE_SIZE = 20
# (model, sort, descending, page): first, middle and last pages of the benchmark dossier.
CASES: list[tuple[type[Contract] | type[Claim], str, bool, int]] = [
    (Contract, "position", False, 1),
    (Contract, "renewal_date", True, 50),
    (Contract, "policy_number", False, 100),
    (Claim, "occurred_on", True, 1),
    (Claim, "claim_number", False, 250),
    (Claim, "status", False, 500),
]


def kind_of(model: type[BaseModel]) -> ObjectKind:
    return KINDS_OF_MODELS[model]


async def by_skip(database: AsyncDatabase[Document], model: type[BaseModel], sort: str,
                  descending: bool, page: int) -> list[str]:
    """The page's ids as the lists read it before: skip the rows of the pages before."""
    collection = database[COLLECTIONS[kind_of(model)]]
    cursor = collection.find({"dossier_id": DOSSIER_ID, "present": True}).sort(
        f"s_{sort}", DESCENDING if descending else ASCENDING).skip(
        (page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    return [document["_id"] async for document in cursor]


async def boundary(store: DossierStore, model: type[ModelT], sort: str, descending: bool,
                   page: int) -> str | None:
    """The sort key of the last row before `page` (what the page's cursor holds)."""
    key = None
    for _ in range(page - 1):
        rows = await store.page(DOSSIER_ID, model, sort=sort, descending=descending, after=key,
                                backward=False, limit=PAGE_SIZE)
        key = rows[-1][0]
    return key


async def main() -> None:
    """Time both ways for each case and print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--run-dir", type=Path, required=True, help="`make dev` run dir")
    parser.add_argument("--repeat", type=int, default=30)
    arguments = parser.parse_args()
    environment = dict(line.split("=", 1) for line in (
        arguments.run_dir / "mybroker.env").read_text().splitlines() if "=" in line)
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        environment["MYBROKER_MONGO_URL"], tz_aware=True)
    database = client["mybroker_dossier"]
    store = DossierStore(database)
    print(f"{'page':<40} {'skip p50':>9} {'p95':>7} {'keyset p50':>11} {'p95':>7} {'ratio':>6}")
    for model, sort, descending, page in CASES:
        key = await boundary(store, model, sort, descending, page)
        skipped: list[float] = []
        keyset: list[float] = []
        for _ in range(arguments.repeat):
            started = time.perf_counter()
            old = await by_skip(database, model, sort, descending, page)
            skipped.append(time.perf_counter() - started)
            started = time.perf_counter()
            rows = await store.page(DOSSIER_ID, model, sort=sort, descending=descending,
                                    after=key, backward=False, limit=PAGE_SIZE)
            keyset.append(time.perf_counter() - started)
            if [document_id(DOSSIER_ID, object_id(kind_of(model), item))
                    for _, item in rows] != old:
                raise SystemExit(f"{model.__name__} by {sort}, page {page}: different rows")
        label = f"{model.__name__.lower()}s by {sort}{' desc' if descending else ''}, page {page}"
        print(f"{label:<40} {percentile(skipped, 0.5):9.1f} {percentile(skipped, 0.95):7.1f} "
              f"{percentile(keyset, 0.5):11.1f} {percentile(keyset, 0.95):7.1f} "
              f"{percentile(skipped, 0.5) / percentile(keyset, 0.5):6.1f}")
    await client.close()


if __name__ == "__main__":
    asyncio.run(main())
