"""Operator plugins through the entry-point group `adplatform.operators`: a real distribution
(a module and its `*.dist-info` with METADATA and entry_points.txt) written into a tmp dir and
put on sys.path, found by importlib.metadata like an installed package."""

from __future__ import annotations

import logging
import sys
import textwrap
from datetime import timedelta

import pytest

from ingestion.dagspec import TemplateInvalid
from ingestion.models import DagRun, TaskLog
from ingestion.operators import registry
from ingestion.services.templates import template_validate
from tests.ingestion.conftest import InlineExecutor
from tests.ingestion.factories import dag as make_dag
from tests.ingestion.factories import spec
from tests.ingestion.scheduling import FakeClock, make_loop, settle

pytestmark = pytest.mark.django_db(transaction=True)

HELLO = textwrap.dedent('''
    """A third-party operator package."""
    from ingestion.operators.base import Operator


    class HelloOperator(Operator):
        def execute(self, context):
            context.log.info("hello from the plugin, %s of %s", context.params.get("greeting", "?"), context.dag_id)


    def not_an_operator():
        return None
''')


def write_distribution(root, *, name: str, modules: dict[str, str], entry_points: dict[str, str]) -> None:
    """What `pip install` leaves in site-packages: the modules and NAME-VERSION.dist-info."""
    for module, source in modules.items():
        (root / f"{module}.py").write_text(source)
    # The folder spells the name with "_" (wheel's escaping): importlib.metadata takes
    # what comes before the first "-" as the name, and lists one distribution per name.
    info = root / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    lines = "".join(f"{ep} = {target}\n" for ep, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[{registry.ENTRY_POINT_GROUP}]\n{lines}")


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    """A site dir on sys.path; the registry as it was before, afterwards."""
    saved, saved_errors, saved_loaded = dict(registry._registry), dict(registry.plugin_errors), registry._loaded
    before = set(sys.modules)
    monkeypatch.syspath_prepend(str(tmp_path))  # also invalidates the import caches
    yield tmp_path
    registry._registry.clear()
    registry._registry.update(saved)
    registry.plugin_errors.clear()
    registry.plugin_errors.update(saved_errors)
    registry._loaded = saved_loaded
    for module in set(sys.modules) - before:
        if module.startswith("adp_plugin_"):
            del sys.modules[module]


def test_the_registry_finds_an_installed_plugins_operator(plugins):
    assert "plugin_hello" not in registry.operator_names()  # the process started before the install
    write_distribution(
        plugins,
        name="adp-plugin-hello",
        modules={"adp_plugin_hello": HELLO},
        entry_points={"plugin_hello": "adp_plugin_hello:HelloOperator"},
    )
    assert "plugin_hello" not in registry.operator_names()  # entry points are read once per process

    registry.load_operators(reload=True)

    cls = registry.operator_class("plugin_hello")
    assert cls.__module__ == "adp_plugin_hello" and cls.__name__ == "HelloOperator" and cls.name == "plugin_hello"
    assert {"test_ok", "DummyOperator"} <= registry.operator_names()  # the others are still there
    registry.load_operators(reload=True)  # reading the same plugin again is no conflict
    assert registry.operator_class("plugin_hello") is cls and registry.plugin_errors == {}


def test_a_template_using_the_plugin_validates_and_its_dag_runs(plugins):
    write_distribution(
        plugins,
        name="adp-plugin-hello",
        modules={"adp_plugin_hello": HELLO},
        entry_points={"plugin_hello": "adp_plugin_hello:HelloOperator"},
    )
    registry.load_operators(reload=True)
    tasks = (
        {"task_id": "start", "is_dummy": True, "downstream_task_ids": ["hello"]},
        {"task_id": "hello", "operator_name": "plugin_hello", "params": {"greeting": "bonjour"}},
    )
    assert template_validate(spec=spec(tasks), platform="sandbox").task("hello").operator_name == "plugin_hello"

    dag = make_dag(tasks=tasks, schedule="0 * * * *")
    clock = FakeClock(dag.next_run_at + timedelta(seconds=0.5))
    settle(make_loop(InlineExecutor(), clock))

    run = DagRun.objects.get(dag=dag)
    assert run.state == "success", list(run.task_instances.values_list("task_id", "state", "error"))
    log = "".join(
        TaskLog.objects.filter(task_instance__run=run, task_instance__task_id="hello").values_list("text", flat=True)
    )
    assert f"hello from the plugin, bonjour of {dag.dag_id}" in log


def test_a_broken_plugin_is_logged_and_skipped_and_the_other_operators_work(plugins, caplog):
    write_distribution(
        plugins,
        name="adp-plugin-hello",
        modules={"adp_plugin_hello": HELLO},
        entry_points={"plugin_hello": "adp_plugin_hello:HelloOperator"},
    )
    write_distribution(
        plugins,
        name="adp-plugin-broken",
        modules={"adp_plugin_broken": "import adp_plugin_missing_dependency\n"},
        entry_points={
            "plugin_broken": "adp_plugin_broken:Whatever",
            "plugin_function": "adp_plugin_hello:not_an_operator",
            "test_ok": "adp_plugin_hello:HelloOperator",
        },
    )

    with caplog.at_level(logging.ERROR, logger="ingestion.operators.registry"):
        registry.load_operators(reload=True)

    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(
        "operator plugin 'plugin_broken' ('adp_plugin_broken:Whatever' of distribution adp-plugin-broken 1.0) "
        "failed to load: ModuleNotFoundError: No module named 'adp_plugin_missing_dependency'"
        in m
        and "the other operators are unaffected" in m
        for m in messages
    ), messages
    assert any("'plugin_function'" in m and "is a function, not an operator class" in m for m in messages)
    assert any(
        "'test_ok'" in m and "already registered" in m and "stays the operator registered before" in m for m in messages
    )  # a plugin replaces nothing
    names = registry.operator_names()
    assert {"plugin_hello", "test_ok", "DummyOperator"} <= names and not {"plugin_broken", "plugin_function"} & names
    assert registry.operator_class("test_ok").__module__ == "tests.ingestion.sample_operators"

    with pytest.raises(TemplateInvalid) as err:
        template_validate(spec=spec(({"task_id": "a", "operator_name": "plugin_broken"},)), platform="sandbox")
    [issue] = err.value.issues
    assert issue.path == "tasks[0].operator_name"
    assert issue.message.startswith("unknown operator 'plugin_broken'")
    assert "No module named 'adp_plugin_missing_dependency'" in issue.message  # why it is unknown
    assert template_validate(spec=spec(({"task_id": "a", "operator_name": "plugin_hello"},)), platform="sandbox")
