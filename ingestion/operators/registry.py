"""Operator names -> classes.

Three ways in, all ending in `register_operator`:
- `@register_operator("insight_operator")` on a class in a module listed in the setting
  INGESTION_OPERATOR_MODULES (default: `reports.operators`, skipped while it does not exist);
- the Python entry-point group `adplatform.operators` (third-party packages):
  `[project.entry-points."adplatform.operators"] my_operator = "mypkg.ops:MyOperator"`;
- a direct `register_operator("name", cls)` call (tests).
`operator_names()` and `operator_class()` load all of them on first use, so template
validation sees every operator the deployment has, and rejects the rest.
"""
from __future__ import annotations

import importlib
import logging
import threading
from importlib.metadata import entry_points

from ingestion.operators.base import DummyOperator, Operator

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "adplatform.operators"
DEFAULT_OPERATOR_MODULES = ["reports.operators"]

_registry: dict[str, type[Operator]] = {DummyOperator.name: DummyOperator}
_loaded = False
_lock = threading.Lock()


class UnknownOperator(KeyError):
    def __str__(self) -> str:
        return f"unknown operator {self.args[0]!r}; registered: {', '.join(sorted(_registry))}"


def register_operator(name: str, cls: type | None = None, *, replace: bool = False):
    """Register `cls` under `name`; usable as a decorator: `@register_operator("x")`."""

    def add(klass: type) -> type:
        if not callable(getattr(klass, "execute", None)):
            raise TypeError(f"operator {name!r}: {klass!r} has no execute(context) method")
        existing = _registry.get(name)
        if existing is not None and existing is not klass and not replace:
            raise ValueError(f"operator {name!r} is already registered as {existing.__module__}.{existing.__qualname__}")
        _registry[name] = klass
        if not getattr(klass, "name", ""):
            klass.name = name
        return klass

    return add(cls) if cls is not None else add


def unregister_operator(name: str) -> None:
    if name != DummyOperator.name:
        _registry.pop(name, None)


def load_operators() -> None:
    """Import the configured operator modules and entry points (once per process)."""
    global _loaded
    if _loaded:
        return
    with _lock:
        if _loaded:
            return
        from django.conf import settings

        for module in getattr(settings, "INGESTION_OPERATOR_MODULES", DEFAULT_OPERATOR_MODULES):
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as exc:
                if exc.name != module and not module.startswith(f"{exc.name}."):
                    raise
                logger.debug("operator module %s not present", module)
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                target = ep.load()
            except Exception:
                logger.exception("operator entry point %s (%s) failed to load", ep.name, ep.value)
                continue
            if isinstance(target, type):
                register_operator(ep.name, target, replace=True)
        _loaded = True


def operator_names() -> set[str]:
    load_operators()
    return set(_registry)


def operator_class(name: str) -> type[Operator]:
    load_operators()
    try:
        return _registry[name]
    except KeyError:
        raise UnknownOperator(name) from None
