"""Every platform's default DAG templates name our operators with params that fit the platform."""

import dataclasses
import json

import pytest

from connectors.registry import PLATFORMS, platform_spec
from ingestion.services.templates import template_validate
from reports.operators import PARAMS, ParamsInvalid, operator_params

TEMPLATES = sorted(
    (slug, path)
    for slug in PLATFORMS
    if platform_spec(slug).templates_dir
    for path in platform_spec(slug).templates_dir.glob("*.json")
)


def test_every_platform_has_templates():
    assert {slug for slug, _ in TEMPLATES} == set(PLATFORMS)
    assert len(TEMPLATES) >= 3 * len(PLATFORMS)


@pytest.mark.parametrize(("slug", "path"), TEMPLATES, ids=[f"{s}/{p.stem}" for s, p in TEMPLATES])
def test_default_templates_validate_and_their_params_fit_the_platform(slug, path):
    spec = json.loads(path.read_text())
    template_validate(spec=spec)
    platform = platform_spec(slug)
    ours = [t for t in spec["tasks"] if t["operator_name"] in PARAMS]
    assert ours, "a default template that runs none of the report operators"
    for task in ours:
        resolved = operator_params(task["operator_name"], task.get("params") or {}, platform)
        if task["operator_name"] == "insight_operator":
            assert resolved["level"] in platform.levels and resolved["granularity"] in platform.granularities


def test_params_problems_name_the_field():
    sandbox = platform_spec("sandbox")
    baidu = platform_spec("baidu")
    cases = [
        (
            "insight_operator",
            {"granularity": "day", "lookback": 3},
            sandbox,
            "params.lookback: unknown parameter; insight_operator takes granularity, level, lookback_days, start_date, "
            "end_date",
        ),
        (
            "insight_operator",
            {"start_date": "2024-03-01"},
            sandbox,
            "params.end_date: give start_date and end_date together (an explicit window of data days)",
        ),
        (
            "insight_operator",
            {"start_date": "2024-03-02", "end_date": "2024-03-01"},
            sandbox,
            "params.end_date: the window ends (2024-03-01) before it starts (2024-03-02)",
        ),
        (
            "insight_operator",
            {"start_date": "March 1st", "end_date": "2024-03-01"},
            sandbox,
            "params.start_date: expected a date YYYY-MM-DD, got 'March 1st'",
        ),
        (
            "ad_meta_operator",
            {"levls": ["ad"]},
            sandbox,
            "params.levls: unknown parameter; ad_meta_operator takes levels, level",
        ),
        (
            "insight_operator",
            {"granularity": "day", "lookback_days": "3"},
            sandbox,
            "params.lookback_days: expected an integer from 0 to 365, got '3'",
        ),
        ("insight_operator", {"granularity": "week"}, sandbox, "params.granularity: 'week' is not one of hour, day"),
        (
            "ad_meta_operator",
            {"level": "ad", "levels": ["ad"]},
            sandbox,
            "params.level: give levels or level, not both",
        ),
        (
            "ad_meta_operator",
            {"levels": ["campaign", "creative"]},
            baidu,
            "params.levels[1]: baidu has no level 'creative' below the account (it has campaign, ad_group, ad)",
        ),
        ("ad_meta_operator", {"levels": "ad"}, sandbox, "params.levels: expected a list of levels, got 'ad'"),
        (
            "account_meta_operator",
            {"levels": ["ad"]},
            sandbox,
            "params.levels: unknown parameter; account_meta_operator takes no params",
        ),
    ]
    for operator, params, platform, message in cases:
        with pytest.raises(ParamsInvalid) as caught:
            operator_params(operator, params, platform)
        assert str(caught.value) == message


def test_defaults_come_from_the_platform():
    assert operator_params("insight_operator", {"granularity": "day"}, platform_spec("meta")) == {
        "granularity": "day",
        "level": "ad",
        "lookback_days": 28,
    }
    assert operator_params("ad_meta_operator", {}, platform_spec("tiktok")) == {
        "levels": ["campaign", "ad_group", "ad"]
    }
    assert operator_params("ad_meta_operator", {"levels": ["ad", "campaign"]}, platform_spec("sandbox")) == {
        "levels": ["campaign", "ad"]
    }
    # what our users' templates already say: no params at all, or one `level`
    assert operator_params("insight_operator", {}, platform_spec("sandbox")) == {
        "granularity": "day",
        "level": "ad",
        "lookback_days": 3,
    }
    assert operator_params("ad_meta_operator", {"level": "ad"}, platform_spec("sandbox")) == {"levels": ["ad"]}


def test_operators_offer_the_check_to_template_validation():
    from ingestion.operators.registry import operator_class

    cls = operator_class("insight_operator")
    assert cls.check_params({"granularity": "hour"}, platform_spec("tiktok"))["level"] == "ad"
    with pytest.raises(ParamsInvalid, match=r"^params.granularity: 'hour' is not one of day$"):
        cls.check_params({"granularity": "hour"}, dataclasses.replace(platform_spec("sandbox"), granularities=("day",)))
