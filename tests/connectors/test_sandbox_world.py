"""connectors.sandbox.world (pure): ids round-trip, shapes, sums; and the grant stores."""

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.sandbox.state import MemoryStore, RedisStore, Sandbox
from connectors.sandbox.world import Advertiser, Profile, UnknownAdvertiser, advertiser_id, metrics, slots


@given(st.integers(1, 2_000_000), st.integers(1, 99_999), st.integers(0, 9_999))
def test_advertiser_ids_round_trip(seed, ads, index):
    adv = Advertiser.parse(advertiser_id(seed, ads, index))
    assert (adv.seed, adv.n_ads, adv.index) == (seed, ads, index)
    assert Profile(seed=seed, accounts=index + 1, ads=ads).reaches(adv.id)
    assert not Profile(seed=seed, accounts=index, ads=ads).reaches(adv.id) if index else True


@settings(max_examples=30)
@given(st.integers(1, 500), st.integers(1, 300))
def test_hierarchy_shape(seed, ads):
    adv = Advertiser(seed, ads, 0)
    groups = {adv.entity("adgroup", g).id for g in range(adv.count("adgroup"))}
    campaigns = {adv.entity("campaign", c).id for c in range(adv.count("campaign"))}
    assert {adv.entity("ad", i).parent_id for i in range(ads)} == groups
    assert {adv.entity("adgroup", g).parent_id for g in range(adv.count("adgroup"))} == campaigns
    delivering = set(adv.delivering_ads())
    assert {i for _, members in adv.reporting("campaign") for i in members} == delivering


def test_bad_input_is_refused_with_the_field():
    with pytest.raises(ValueError, match="ads must be an integer from 1 to 99999, got 0"):
        Profile(seed=1, accounts=1, ads=0)
    with pytest.raises(ValueError, match="'seed:accounts:ads'"):
        Profile.parse("1:2")
    for bad in ("abc", "0001000000", "999", ""):
        with pytest.raises(UnknownAdvertiser):
            Advertiser.parse(bad)


def test_day_is_the_sum_of_its_hours_and_today_is_partial():
    adv = Advertiser(4, 30, 2)
    now = datetime(2026, 5, 2, 12, 30, tzinfo=UTC)
    day = slots(adv.timezone, "day", date(2026, 5, 1), date(2026, 5, 1), now)
    hours = slots(adv.timezone, "hour", date(2026, 5, 1), date(2026, 5, 1), now)
    ads = adv.delivering_ads()
    kw = {"today": date(2026, 5, 20), "restate_days": 3}
    total = metrics(adv, ads, day[0], **kw)
    summed = [metrics(adv, ads, h, **kw) for h in hours]
    for key in total:
        assert total[key] == sum(m[key] for m in summed)
    running = slots("UTC", "hour", date(2026, 5, 2), date(2026, 5, 2), now)
    assert len(running) == 13 and running[-1].fraction_last == 0.5


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_single_use_store(store, request):
    if store == "redis":
        request.applymarker(pytest.mark.redis)
        from django.conf import settings as dj

        url = dj.REDIS_URL or (dj.CELERY_BROKER_URL or "")
        if not url.startswith("redis"):
            pytest.skip("needs Redis (REDIS_URL or CELERY_BROKER_URL)")
        import redis

        s = RedisStore(redis.Redis.from_url(url))
    else:
        s = MemoryStore()
    key = f"test:{datetime.now().timestamp()}"
    assert s.add(key, 10) is True and s.add(key, 10) is False and s.exists(key)
    assert not s.exists(key + "x")


def test_faults_are_validated_and_consumed_in_order():
    box = Sandbox()
    with pytest.raises(ValueError, match="unknown fault 'boom'"):
        box.inject("boom")
    with pytest.raises(ValueError, match="unknown sandbox settings: colour"):
        box.configure(colour="red")
    box.inject("429", path="/reports")
    box.inject("500", times=2)
    assert box.take_fault("/api/v1/advertisers") == "500"
    assert box.take_fault("/api/v1/advertisers/1/reports") == "429"
    assert box.take_fault("/x") == "500" and box.take_fault("/x") is None
