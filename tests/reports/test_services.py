"""Entity metadata writes: bulk upserts (one statement per page), idempotent, deletions marked."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reports.models import AdEntity
from reports.services import EntityError, entities_mark_deleted, entities_upsert
from tests.reports.factories import ad_account, entity

T0 = datetime(2024, 3, 1, 8, tzinfo=UTC)


def _writes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]


@pytest.mark.django_db
def test_upsert_writes_one_statement_per_page():
    account = ad_account()
    ads = [entity(f"ad{i}", f"Ad {i}", parent="g1") for i in range(1203)]
    with CaptureQueriesContext(connection) as ctx:
        counts = entities_upsert(ad_account=account, entities=iter(ads), seen_at=T0, page_size=500)
    # 500 a page where the backend allows it (MySQL); SQLite caps a statement at 999
    # parameters, so its pages are smaller, but still one statement each.
    per_page = 500 if connection.vendor == "mysql" else 999 // 11  # 11 columns a row
    pages = -(-1203 // per_page)
    assert counts == {"entities": 1203, "pages": pages, "deleted": 0}
    writes = _writes(ctx.captured_queries)
    assert len(writes) == pages and all(w.lstrip().upper().startswith("INSERT") for w in writes)
    assert len(ctx.captured_queries) == pages  # and nothing read row by row either
    assert AdEntity.objects.filter(ad_account=account, level="ad").count() == 1203


@pytest.mark.django_db
def test_upsert_is_idempotent_and_updates_in_place():
    account = ad_account()
    entities_upsert(
        ad_account=account, entities=[entity("c1", "Spring", level="campaign", status="active")], seen_at=T0
    )
    first = AdEntity.objects.get(external_id="c1")
    later = T0 + timedelta(hours=6)
    for _ in range(2):
        entities_upsert(
            ad_account=account,
            entities=[entity("c1", "Spring sale", level="campaign", status="paused", raw={"id": "c1", "budget": 5})],
            seen_at=later,
        )
    rows = list(AdEntity.objects.filter(ad_account=account))
    assert len(rows) == 1
    row = rows[0]
    assert row.pk == first.pk
    assert (row.name, row.status, row.raw, row.platform) == (
        "Spring sale",
        "paused",
        {"id": "c1", "budget": 5},
        "sandbox",
    )
    assert row.first_seen_at == T0  # kept from the first sighting
    assert row.updated_at >= later and row.deleted_at is None


@pytest.mark.django_db
def test_same_external_id_on_two_levels_or_accounts_are_different_rows():
    a, b = ad_account(), ad_account()
    entities_upsert(ad_account=a, entities=[entity("1", "ad", level="ad"), entity("1", "creative", level="creative")])
    entities_upsert(ad_account=b, entities=[entity("1", "other account")])
    assert AdEntity.objects.count() == 3
    assert AdEntity.objects.get(ad_account=a, level="creative", external_id="1").name == "creative"


@pytest.mark.django_db
def test_platform_deleted_entities_get_deleted_at_and_come_back_alive():
    account = ad_account()
    counts = entities_upsert(ad_account=account, entities=[entity("a1", deleted=True), entity("a2")], seen_at=T0)
    assert counts["deleted"] == 1
    assert AdEntity.objects.get(external_id="a1").deleted_at == T0
    assert AdEntity.objects.get(external_id="a2").deleted_at is None
    # still deleted a fetch later: deleted since the first time it was seen so, at one read more
    with CaptureQueriesContext(connection) as ctx:
        entities_upsert(
            ad_account=account, entities=[entity("a1", deleted=True), entity("a2")], seen_at=T0 + timedelta(hours=1)
        )
    assert len(ctx.captured_queries) == 2 and len(_writes(ctx.captured_queries)) == 1
    assert AdEntity.objects.get(external_id="a1").deleted_at == T0
    entities_upsert(ad_account=account, entities=[entity("a1", status="active")], seen_at=T0 + timedelta(hours=2))
    assert AdEntity.objects.get(external_id="a1").deleted_at is None


@pytest.mark.django_db
def test_entities_missing_from_a_full_fetch_are_marked_deleted_not_removed():
    account = ad_account()
    other = ad_account()
    entities_upsert(
        ad_account=account, entities=[entity(f"ad{i}") for i in range(4)] + [entity("c1", level="campaign")], seen_at=T0
    )
    entities_upsert(ad_account=other, entities=[entity("ad9")], seen_at=T0)
    fetch_start = datetime.now(UTC)
    entities_upsert(ad_account=account, entities=[entity("ad0"), entity("ad2")], seen_at=fetch_start)
    assert entities_mark_deleted(ad_account=account, level="ad", seen_before=fetch_start) == 2
    live = set(
        AdEntity.objects.filter(ad_account=account, level="ad", deleted_at__isnull=True).values_list(
            "external_id", flat=True
        )
    )
    assert live == {"ad0", "ad2"}
    gone = AdEntity.objects.get(ad_account=account, external_id="ad1")
    assert gone.deleted_at == fetch_start and gone.name == ""  # still there, marked
    # Other levels and other accounts are not this fetch's business.
    assert AdEntity.objects.get(external_id="c1").deleted_at is None
    assert AdEntity.objects.get(ad_account=other).deleted_at is None
    # The next full fetch sees the same two: nothing new marked, the first deletion time kept.
    second = datetime.now(UTC)
    entities_upsert(ad_account=account, entities=[entity("ad0"), entity("ad2")], seen_at=second)
    assert entities_mark_deleted(ad_account=account, level="ad", seen_before=second) == 0
    assert AdEntity.objects.get(ad_account=account, external_id="ad1").deleted_at == fetch_start


@pytest.mark.django_db
def test_bad_entities_are_refused_with_the_account_and_id_named():
    account = ad_account(external_id="777")
    with pytest.raises(EntityError, match=r"^sandbox account 777: adset 'x1': unknown level"):
        entities_upsert(ad_account=account, entities=[entity("x1", level="adset")])
    with pytest.raises(EntityError, match=r"^sandbox account 777: ad '': external id must be"):
        entities_upsert(ad_account=account, entities=[entity("")])
    assert not AdEntity.objects.exists()


@pytest.mark.mysql
@pytest.mark.django_db(transaction=True)
def test_concurrent_upserts_of_the_same_entities_neither_fail_nor_duplicate():
    """Two DAGs of one account fetch the same levels at the same time (MariaDB row locks)."""
    import threading

    from django.db import connections

    account = ad_account()
    errors = []

    def fetch(n):
        try:
            for round_ in range(4):
                # each fetch sees the platform's list in its own order
                ads = [entity(f"ad{i}", f"Ad {i} r{round_} t{n}") for i in range(1500)]
                entities_upsert(ad_account=account, entities=ads if n % 2 else ads[::-1])
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=fetch, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert AdEntity.objects.filter(ad_account=account).count() == 1500
