"""Writes to the metadata store: ad entities upserted in bulk, deletions marked.

`entities_upsert` writes one INSERT ... ON CONFLICT/ON DUPLICATE KEY UPDATE per page of
entities (never one statement per row): on MySQL an account with 50,000 ads is 100
statements; SQLite's 999-parameter cap makes its pages 90 entities.
`entities_mark_deleted` closes a full metadata fetch of one level: whatever it did not
see is gone on the platform and gets `deleted_at`, but stays (old report rows keep names).

Timestamps: `first_seen_at` is set once, when a row is created. `updated_at` is when the
row was last written by a fetch (the database clock of this process at write time, not
the fetch's start), so of two overlapping fetches of the same level the earlier one can
never make rows look older than the later fetch's start and get them marked deleted by it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from connectors.base import Entity
from reports.models import AdEntity

PAGE_SIZE = 500
_LEVELS = frozenset(AdEntity.Level.values)
_UPDATE_FIELDS = ["platform", "parent_external_id", "name", "status", "raw", "updated_at", "deleted_at"]
_MAX: dict[str, int] = {
    f: AdEntity._meta.get_field(f).max_length  # type: ignore[union-attr, misc]  # CharFields, all of them
    for f in ("external_id", "parent_external_id", "name", "status")
}


class EntityError(ValueError):
    """An entity that cannot be stored (names the account, level and id)."""


def _row(ad_account, entity: Entity, seen_at: datetime, now: datetime) -> AdEntity:
    where = f"{ad_account.platform} account {ad_account.external_id}: {entity.level} {entity.external_id!r}"
    if entity.level not in _LEVELS:
        raise EntityError(f"{where}: unknown level; one of {', '.join(sorted(_LEVELS))}")
    external_id = str(entity.external_id or "")
    if not external_id or len(external_id) > _MAX["external_id"]:
        raise EntityError(f"{where}: external id must be 1 to {_MAX['external_id']} characters")
    return AdEntity(
        ad_account_id=ad_account.pk,
        platform=ad_account.platform,
        level=entity.level,
        external_id=external_id,
        parent_external_id=str(entity.parent_external_id or "")[: _MAX["parent_external_id"]],
        # Names are free text on every platform; a longer one is cut rather than failing the fetch.
        name=str(entity.name or "")[: _MAX["name"]],
        status=str(entity.status or "")[: _MAX["status"]],
        raw=entity.raw or {},
        first_seen_at=seen_at,
        updated_at=now,
        deleted_at=seen_at if entity.deleted else None,
    )


def _statement_rows(page_size: int) -> int:
    """`page_size`, or fewer where the backend caps the parameters of one statement (SQLite:
    999 parameters, i.e. 90 entities of 11 columns), so that a page always is exactly one statement."""
    fields = [f for f in AdEntity._meta.concrete_fields if not f.primary_key]
    cap = connection.ops.bulk_batch_size(fields, [None] * page_size)
    return max(1, min(page_size, cap))


def _upsert_page(rows: list[AdEntity]) -> None:
    # MySQL's ON DUPLICATE KEY UPDATE takes no conflict target (any unique key counts);
    # SQLite and PostgreSQL need the target named.
    unique = (
        ["ad_account", "level", "external_id"] if connection.features.supports_update_conflicts_with_target else None
    )
    AdEntity.objects.bulk_create(rows, update_conflicts=True, unique_fields=unique, update_fields=_UPDATE_FIELDS)


def _keep_deletion_times(ad_account, rows: dict[tuple[str, str], AdEntity]) -> None:
    """An entity the platform still reports deleted keeps the deleted_at it got first: one
    read, only for a page that has such entities (the upsert cannot say "keep if set")."""
    deleted = [key for key, row in rows.items() if row.deleted_at is not None]
    if not deleted:
        return
    earlier = AdEntity.objects.filter(
        ad_account_id=ad_account.pk,
        level__in={lvl for lvl, _ in deleted},
        external_id__in=[e for _, e in deleted],
        deleted_at__isnull=False,
    ).values_list("level", "external_id", "deleted_at")
    for level, external_id, deleted_at in earlier:
        row = rows.get((level, external_id))
        if row is not None and row.deleted_at is not None:
            row.deleted_at = deleted_at


def entities_upsert(
    *, ad_account, entities: Iterable[Entity], seen_at: datetime | None = None, page_size: int = PAGE_SIZE
) -> dict:
    """Create or update `entities` of `ad_account` (an accounts.AdAccount), one write statement
    per page (and one read for a page holding entities the platform reports deleted).

    `seen_at`: when the fetch that yielded them started (default now); new rows get it as
    first_seen_at, entities the platform reports as deleted get it as deleted_at (unless they
    had one already), and an entity seen alive again loses its deleted_at. Entities stream:
    one page in memory.
    Returns {"entities": n, "pages": p, "deleted": d} (d = reported deleted by the platform).
    """
    seen_at = seen_at or timezone.now()
    page_size = _statement_rows(page_size)
    iterator = iter(entities)
    counts = {"entities": 0, "pages": 0, "deleted": 0}
    while page := list(itertools.islice(iterator, page_size)):
        now = max(timezone.now(), seen_at)
        # The same object twice in one page (a platform paging over a changing list) would
        # make one statement update a row twice; the later copy wins.
        rows = {}
        for entity in page:
            row = _row(ad_account, entity, seen_at, now)
            rows[(row.level, row.external_id)] = row
        _keep_deletion_times(ad_account, rows)
        # Key order: two fetches upserting the same entities at once (the metadata DAG and
        # the hourly DAG) lock index rows in the same order, so they wait, not deadlock.
        _upsert_page([rows[key] for key in sorted(rows)])
        counts["entities"] += len(rows)
        counts["pages"] += 1
        counts["deleted"] += sum(1 for r in rows.values() if r.deleted_at is not None)
    return counts


@transaction.atomic
def entities_mark_deleted(*, ad_account, level: str, seen_before: datetime) -> int:
    """Mark deleted every live entity of `level` not written since `seen_before` (the start
    of a complete fetch of that level). Returns how many were marked. Call it only after the
    whole level was fetched: a fetch that failed half-way must not delete the rest."""
    if level not in _LEVELS:
        raise EntityError(f"{ad_account.platform} account {ad_account.external_id}: unknown level {level!r}")
    return AdEntity.objects.filter(
        ad_account_id=ad_account.pk,
        level=level,
        deleted_at__isnull=True,
        updated_at__lt=seen_before,
    ).update(deleted_at=seen_before)
