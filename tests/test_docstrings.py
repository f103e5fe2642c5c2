"""Every public callable of structpred has a docstring (the API reference is generated from
them, so an undocumented function would be an empty entry).

Walks every module of the package, so modules added later are covered without a list here.
Public: a name without a leading underscore in a module without one, listed in the module's
``__all__`` when it has one, else defined in that module; for a public class, the methods and
properties defined in its own body. An override needs its own docstring too (what this task
computes: its Ψ, loss or oracle), not only the contract's.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import structpred


def _modules():
    names = [structpred.__name__]
    for info in pkgutil.walk_packages(structpred.__path__, structpred.__name__ + "."):
        if not any(part.startswith("_")
                   for part in info.name.split(".")):
            names.append(info.name)
    return names


def _public_names(module):
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [n for n, v in vars(module).items() if not n.startswith("_")
            and getattr(v, "__module__", None) == module.__name__
            and (inspect.isfunction(v) or inspect.isclass(v))]


def public_callables():
    """(qualified name, object) of every public function, class, method and property."""
    seen, out, optional = set(), [], []
    for name in _modules():
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:     # an optional third-party dependency is absent
            if exc.name and not exc.name.startswith("structpred"):
                optional.append((name, exc.name))
                continue
            raise
        if module.__doc__ is None or not module.__doc__.strip():
            out.append((name, module))
        for attr in _public_names(module):
            obj = getattr(module, attr, None)
            if obj is None or id(obj) in seen:
                continue
            if inspect.ismodule(obj) or not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            seen.add(id(obj))
            out.append((f"{name}.{attr}", obj))
            if inspect.isclass(obj):
                for meth, value in vars(obj).items():
                    if meth.startswith("_"):
                        continue
                    if isinstance(value, (staticmethod, classmethod)):
                        value = value.__func__
                    if inspect.isfunction(value) or isinstance(value, property):
                        out.append((f"{name}.{attr}.{meth}", getattr(obj, meth) if not isinstance(value, property) else value))
    return out, optional


def own_doc(obj) -> str:
    """The object's own docstring (a property's getter's), not an inherited one."""
    if isinstance(obj, property):
        obj = obj.fget
    return (obj.__doc__ or "").strip()


def test_every_public_callable_has_a_docstring():
    items, optional = public_callables()
    assert len(items) > 300, "the walk found too few callables: is the package importable?"
    missing = sorted(q for q, obj in items if not own_doc(obj))
    assert not missing, (f"{len(missing)} of {len(items)} public callables have no docstring:\n  "
                         + "\n  ".join(missing))


def test_the_check_catches_an_undocumented_function(monkeypatch):
    import structpred.version as target

    def undocumented():
        pass
    undocumented.__module__ = target.__name__
    monkeypatch.setattr(target, "brand_new_function", undocumented, raising=False)
    monkeypatch.delattr(target, "__all__", raising=False)
    items, _ = public_callables()
    assert "structpred.version.brand_new_function" in [q for q, _ in items]
    assert not own_doc(undocumented)
