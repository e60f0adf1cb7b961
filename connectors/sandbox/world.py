"""The sandbox's advertisers, their objects and their numbers, derived from a seed.

Nothing is stored: an advertiser id encodes its profile (seed, number of ads, index),
every object and every number is a pure function of ids and time, so the same request
always gets the same answer (tests assert exact totals) and a profile of thousands of
advertisers with thousands of ads each costs no memory. No Django in here.

Shape of an advertiser with A ads: ads are grouped 5 to an ad group and 4 ad groups to a
campaign; each ad has one creative. Some objects are paused or deleted (about 1 in 8);
only ads whose ad, ad group and campaign are all enabled deliver. Higher levels' numbers
are the sums of their ads' numbers, and a day's numbers the sum of its local hours'.

Numbers per ad and UTC hour: a per-ad daily volume, a diurnal curve over the advertiser's
local hour, a per-day and a per-hour jitter; CTR, CPC and CVR are per-ad constants.
Conversions of the last `restate_days` local days are preliminary (80 % of final) and
become final once, when the day leaves that window, as real platforms restate them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

MAX_SEED = 2_000_000
MAX_ADS = 99_999
MAX_ACCOUNTS = 10_000
ADS_PER_GROUP = 5
GROUPS_PER_CAMPAIGN = 4

# (timezone, currency, CPC scale): the currency scale keeps costs plausible per currency.
MARKETS = [
    ("Asia/Shanghai", "CNY", 7.0),
    ("America/New_York", "USD", 1.0),
    ("Europe/Berlin", "EUR", 0.9),
    ("Asia/Tokyo", "JPY", 150.0),
    ("UTC", "USD", 1.0),
    ("America/Los_Angeles", "USD", 1.0),
    ("Australia/Sydney", "AUD", 1.5),
]

# Share of a day's impressions per local hour: quiet nights, a lunch bump, an evening peak.
_CURVE = [
    0.6,
    0.4,
    0.3,
    0.25,
    0.25,
    0.35,
    0.6,
    1.0,
    1.3,
    1.4,
    1.45,
    1.55,
    1.7,
    1.6,
    1.45,
    1.4,
    1.45,
    1.55,
    1.75,
    2.0,
    2.1,
    1.9,
    1.4,
    0.9,
]
DIURNAL = [w / sum(_CURVE) for w in _CURVE]

LEVELS = ("advertiser", "campaign", "adgroup", "ad", "creative")
EXTRA_METRICS = ("video_play", "like", "share", "follow")
PRELIMINARY_CONVERSIONS = 0.8

_M64 = (1 << 64) - 1


def _mix(x: int) -> int:
    """splitmix64 finalizer: a fast, well-spread 64-bit hash step."""
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def rand(*keys: int) -> float:
    """A deterministic number in [0, 1) from integer keys."""
    h = 0x5EED
    for k in keys:
        h = _mix(h ^ (k & _M64))
    return (h >> 11) / float(1 << 53)


class UnknownAdvertiser(LookupError):
    pass


@dataclass(frozen=True)
class Profile:
    """What a grant reaches: `accounts` advertisers of `ads` ads each, from `seed`."""

    seed: int = 1
    accounts: int = 3
    ads: int = 20

    def __post_init__(self):
        for name, value, top in (
            ("seed", self.seed, MAX_SEED),
            ("accounts", self.accounts, MAX_ACCOUNTS),
            ("ads", self.ads, MAX_ADS),
        ):
            if not isinstance(value, int) or not 1 <= value <= top:
                raise ValueError(f"{name} must be an integer from 1 to {top}, got {value!r}")

    def advertiser_ids(self) -> list[str]:
        return [advertiser_id(self.seed, self.ads, i) for i in range(self.accounts)]

    def reaches(self, adv_id: str) -> bool:
        try:
            adv = Advertiser.parse(adv_id)
        except UnknownAdvertiser:
            return False
        return adv.seed == self.seed and adv.n_ads == self.ads and adv.index < self.accounts

    @classmethod
    def parse(cls, text: str) -> Profile:
        """'seed:accounts:ads' (the consent form's and the password user's notation)."""
        try:
            seed, accounts, ads = (int(p) for p in text.split(":"))
        except ValueError:
            raise ValueError(f"a sandbox profile is 'seed:accounts:ads' (e.g. 1:3:20), got {text!r}") from None
        return cls(seed=seed, accounts=accounts, ads=ads)

    def __str__(self) -> str:
        return f"{self.seed}:{self.accounts}:{self.ads}"


def advertiser_id(seed: int, ads: int, index: int) -> str:
    return str(seed * 10**9 + ads * 10**4 + index)


@dataclass(frozen=True)
class Entity:
    level: str
    id: str
    parent_id: str | None
    name: str
    status: str  # enable | disable | delete


@dataclass(frozen=True)
class Advertiser:
    seed: int
    n_ads: int
    index: int

    @classmethod
    def parse(cls, adv_id: str) -> Advertiser:
        try:
            n = int(adv_id)
        except (TypeError, ValueError):
            raise UnknownAdvertiser(adv_id) from None
        seed, rest = divmod(n, 10**9)
        ads, index = divmod(rest, 10**4)
        if not (1 <= seed <= MAX_SEED and 1 <= ads <= MAX_ADS) or str(n) != str(adv_id):
            raise UnknownAdvertiser(adv_id)
        return cls(seed, ads, index)

    @property
    def id(self) -> str:
        return advertiser_id(self.seed, self.n_ads, self.index)

    @property
    def key(self) -> int:
        return int(self.id)

    @property
    def market(self) -> tuple[str, str, float]:
        return MARKETS[(self.seed + self.index) % len(MARKETS)]

    @property
    def timezone(self) -> str:
        return self.market[0]

    @property
    def currency(self) -> str:
        return self.market[1]

    @property
    def name(self) -> str:
        return f"Sandbox advertiser {self.seed}-{self.index + 1}"

    @property
    def n_groups(self) -> int:
        return math.ceil(self.n_ads / ADS_PER_GROUP)

    @property
    def n_campaigns(self) -> int:
        return math.ceil(self.n_groups / GROUPS_PER_CAMPAIGN)

    def count(self, level: str) -> int:
        return {
            "advertiser": 1,
            "campaign": self.n_campaigns,
            "adgroup": self.n_groups,
            "ad": self.n_ads,
            "creative": self.n_ads,
        }[level]

    def _status(self, level_no: int, i: int) -> str:
        r = rand(self.key, level_no, i, 17)
        return "delete" if r < 0.04 else "disable" if r < 0.12 else "enable"

    def entity(self, level: str, i: int) -> Entity:
        """The i-th object of `level` (0-based)."""
        a = self.id
        if level == "advertiser":
            return Entity("advertiser", a, None, self.name, "enable")
        if level == "campaign":
            return Entity("campaign", f"{a}0{i + 1:06d}", a, f"Campaign {i + 1}", self._status(1, i))
        if level == "adgroup":
            return Entity(
                "adgroup",
                f"{a}1{i + 1:06d}",
                self.entity("campaign", i // GROUPS_PER_CAMPAIGN).id,
                f"Ad group {i + 1}",
                self._status(2, i),
            )
        if level == "ad":
            return Entity(
                "ad",
                f"{a}2{i + 1:06d}",
                self.entity("adgroup", i // ADS_PER_GROUP).id,
                f"Ad {i + 1}",
                self._status(3, i),
            )
        if level == "creative":
            ad = self.entity("ad", i)
            return Entity(
                "creative",
                f"{a}3{i + 1:06d}",
                ad.id,
                f"Creative {i + 1} ({('video', 'image', 'carousel')[int(rand(self.key, 4, i) * 3)]})",
                ad.status,
            )
        raise ValueError(f"unknown level {level!r}")

    def delivering_ads(self) -> list[int]:
        return _delivering(self)

    def reporting(self, level: str) -> list[tuple[str, list[int]]]:
        """The objects of `level` that delivered, each with the indexes of its delivering ads."""
        return _reporting(self, level)

    # --- numbers ---
    def ad_hour(
        self, ad: int, utc_hour: int, local_hour: int, local_day: int
    ) -> tuple[int, int, int, int, tuple[int, int, int, int]]:
        """(impressions, clicks, cost in cents, conversions, extras) of ad `ad` in one hour."""
        volume, ctr, cpc_cents, cvr, video_rate, follow_rate, key = _ad_constants(self, ad)
        day = 0.75 + 0.5 * rand(key, local_day)
        # one 64-bit hash per (ad, hour), cut into four 16-bit jitters (plenty for noise)
        h = _mix(key ^ (utc_hour * 0x9E3779B97F4A7C15 & _M64))
        j1, j2, j3, j4 = (h & 0xFFFF) / 65536, (h >> 16 & 0xFFFF) / 65536, (h >> 32 & 0xFFFF) / 65536, (h >> 48) / 65536
        impressions = int(volume * DIURNAL[local_hour] * day * (0.85 + 0.3 * j1))
        clicks = int(impressions * ctr * (0.8 + 0.4 * j2))
        cost = int(clicks * cpc_cents * (0.9 + 0.2 * j3))
        conversions = int(clicks * cvr + j4)
        likes = int(clicks * 0.3 * j1)
        return (
            impressions,
            clicks,
            cost,
            conversions,
            (
                int(impressions * video_rate),
                likes,
                int(likes * 0.2 + j3),
                int(clicks * follow_rate + j2),
            ),
        )


@lru_cache(maxsize=65536)
def _ad_constants(adv: Advertiser, ad: int) -> tuple[float, float, float, float, float, float, int]:
    """Per-ad constants: daily volume, CTR, CPC in cents, CVR, video and follow rates, hash key."""
    k = adv.key
    return (
        300 + 24000 * rand(k, ad, 1) ** 2,
        0.004 + 0.03 * rand(k, ad, 4),
        (20 + 180 * rand(k, ad, 6)) * adv.market[2],
        0.01 + 0.12 * rand(k, ad, 8),
        0.05 + 0.4 * rand(k, ad, 10),
        0.05 * rand(k, ad, 13),
        _mix(k * 100_003 + ad),
    )


@lru_cache(maxsize=256)
def _delivering(adv: Advertiser) -> list[int]:
    out = []
    for i in range(adv.n_ads):
        g = i // ADS_PER_GROUP
        c = g // GROUPS_PER_CAMPAIGN
        if adv._status(3, i) == adv._status(2, g) == adv._status(1, c) == "enable":
            out.append(i)
    return out


@lru_cache(maxsize=256)
def _reporting(adv: Advertiser, level: str) -> list[tuple[str, list[int]]]:
    ads = _delivering(adv)
    if level == "advertiser":
        return [(adv.id, ads)] if ads else []
    if level in ("ad", "creative"):
        return [(adv.entity(level, i).id, [i]) for i in ads]
    per = ADS_PER_GROUP if level == "adgroup" else ADS_PER_GROUP * GROUPS_PER_CAMPAIGN
    groups: dict[int, list[int]] = {}
    for i in ads:
        groups.setdefault(i // per, []).append(i)
    return [(adv.entity(level, g).id, members) for g, members in sorted(groups.items())]


@dataclass(frozen=True)
class Slot:
    """One reporting period: an hour or a local day, as UTC hours with their local hour."""

    start_local: datetime
    hours: tuple[tuple[int, int], ...]  # (UTC hour number since the epoch, local hour of day)
    local_day: int  # local date ordinal
    fraction_last: float = 1.0  # the running hour counts partly


def slots(tz_name: str, granularity: str, start: date, end: date, now: datetime) -> list[Slot]:
    """The hours or days of [start, end] (local dates) that have begun by `now`."""
    tz = ZoneInfo(tz_name)
    first = datetime(start.year, start.month, start.day, tzinfo=tz).astimezone(UTC)
    after = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=tz).astimezone(UTC)
    limit = min(after, now)
    out: list[Slot] = []
    t = first
    while t < limit:
        local = t.astimezone(tz)
        hour_no = int(t.timestamp()) // 3600
        frac = min(1.0, (now - t).total_seconds() / 3600)
        if granularity == "hour":
            out.append(Slot(local, ((hour_no, local.hour),), local.date().toordinal(), frac))
        else:
            day = local.date()
            if out and out[-1].local_day == day.toordinal():
                prev = out[-1]
                out[-1] = Slot(prev.start_local, (*prev.hours, (hour_no, local.hour)), prev.local_day, frac)
            else:
                out.append(
                    Slot(
                        datetime(day.year, day.month, day.day, tzinfo=tz),
                        ((hour_no, local.hour),),
                        day.toordinal(),
                        frac,
                    )
                )
        t += timedelta(hours=1)
    return out


def metrics(
    adv: Advertiser, ads: list[int], slot: Slot, *, today: date, restate_days: int, stopped: dict | None = None
) -> dict:
    """Summed numbers of `ads` over `slot`. `stopped`: ad index -> the UTC hour number from
    which it delivers nothing (it was deleted then)."""
    stopped = stopped or {}
    impressions = clicks = cost = conversions = 0
    extras = [0, 0, 0, 0]
    last = len(slot.hours) - 1
    for n, (utc_hour, local_hour) in enumerate(slot.hours):
        share = slot.fraction_last if n == last else 1.0
        for ad in ads:
            if ad in stopped and utc_hour >= stopped[ad]:
                continue
            i, c, s, v, ex = adv.ad_hour(ad, utc_hour, local_hour, slot.local_day)
            if share < 1.0:
                i, c, s, v = int(i * share), int(c * share), int(s * share), int(v * share)
                ex = (int(ex[0] * share), int(ex[1] * share), int(ex[2] * share), int(ex[3] * share))
            impressions += i
            clicks += c
            cost += s
            conversions += v
            for j in range(4):
                extras[j] += ex[j]
    if slot.local_day > today.toordinal() - restate_days:
        conversions = int(conversions * PRELIMINARY_CONVERSIONS)
    return {
        "impressions": impressions,
        "clicks": clicks,
        "cost_cents": cost,
        "conversions": conversions,
        **dict(zip(EXTRA_METRICS, extras, strict=False)),
    }


def deleted_ads(adv: Advertiser, count: int, days_ago: int, now: datetime) -> dict[int, int]:
    """The last `count` delivering ads of `adv`, deleted at local midnight `days_ago` days
    before `now`'s local date: ad index -> UTC hour number of the deletion."""
    if count <= 0:
        return {}
    tz = ZoneInfo(adv.timezone)
    day = now.astimezone(tz).date() - timedelta(days=days_ago)
    hour_no = int(datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()) // 3600
    return dict.fromkeys(adv.delivering_ads()[-count:], hour_no)
