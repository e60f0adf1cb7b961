"""Operator names -> classes.

Three ways in, all ending in `register_operator`:
- `@register_operator("insight_operator")` on a class in a module listed in the setting
  INGESTION_OPERATOR_MODULES (default: `reports.operators`, skipped while it does not exist);
- the Python entry-point group `adplatform.operators` (third-party packages), read through
  importlib.metadata: `[project.entry-points."adplatform.operators"]
  my_operator = "mypkg.ops:MyOperator"` (the entry point's name is the operator's name);
- a direct `register_operator("name", cls)` call (tests).
`operator_names()` and `operator_class()` load all of them on first use, so template
validation sees every operator the deployment has, and rejects the rest.

A plugin that cannot be loaded (import error, not an operator class, a name that is taken)
is logged as an error naming the entry point and its distribution, and skipped: the other
operators keep working, and templates that use the missing one are refused as naming an
unknown operator, which is what they are in this process. A plugin never replaces an
operator registered before it (a typo in a package must not swap out `insight_operator`).
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
            raise ValueError(
                f"operator {name!r} is already registered as {existing.__module__}.{existing.__qualname__}"
            )
        _registry[name] = klass
        if not getattr(klass, "name", ""):
            klass.name = name  # type: ignore[attr-defined]
        return klass

    return add(cls) if cls is not None else add


def unregister_operator(name: str) -> None:
    if name != DummyOperator.name:
        _registry.pop(name, None)


def load_operators(*, reload: bool = False) -> None:
    """Import the configured operator modules and entry points (once per process;
    `reload` reads the entry points again, e.g. after installing a plugin in tests)."""
    global _loaded
    if _loaded and not reload:
        return
    with _lock:
        if _loaded and not reload:
            return
        from django.conf import settings

        for module in getattr(settings, "INGESTION_OPERATOR_MODULES", DEFAULT_OPERATOR_MODULES):
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as exc:
                if exc.name != module and not module.startswith(f"{exc.name}."):
                    raise
                logger.debug("operator module %s not present", module)
        plugin_errors.clear()
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            _load_plugin(ep)
        _loaded = True


# Entry-point name -> why it was not registered (shown by `template_validate` next to the
# "unknown operator" issue, so whoever writes the template learns why).
plugin_errors: dict[str, str] = {}


def _load_plugin(ep) -> None:
    dist = getattr(ep, "dist", None)
    origin = f"{ep.value!r}" + (f" of distribution {dist.name} {dist.version}" if dist is not None else "")
    taken = ep.name in _registry
    try:
        target = ep.load()
        if not isinstance(target, type):
            raise TypeError(f"{ep.value} is a {type(target).__name__}, not an operator class")
        if _registry.get(ep.name) is target:
            return  # read again by a reload
        register_operator(ep.name, target)
    except Exception as exc:  # anything a third-party import can raise; the others must still load
        plugin_errors[ep.name] = f"operator plugin {ep.name!r} ({origin}) failed to load: {type(exc).__name__}: {exc}"
        effect = (
            f"{ep.name!r} stays the operator registered before"
            if taken
            else f"templates using {ep.name!r} are refused until the plugin is fixed"
        )
        logger.error(
            "%s. Skipped; the other operators are unaffected, %s.",
            plugin_errors[ep.name],
            effect,
            exc_info=not isinstance(exc, (TypeError, ValueError)),
        )


def operator_names() -> set[str]:
    load_operators()
    return set(_registry)


def operator_class(name: str) -> type[Operator]:
    load_operators()
    try:
        return _registry[name]
    except KeyError:
        raise UnknownOperator(name) from None
