"""Where the public datasets live: an argument, else $STRUCTPRED_DATA, else a user cache folder."""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["get_data_home", "require_file"]


def get_data_home(data_home: str | os.PathLike | None = None) -> Path:
    """The data folder: ``data_home`` if given, else ``$STRUCTPRED_DATA``, else
    ``$XDG_CACHE_HOME/structpred`` (``~/.cache/structpred``)."""
    if data_home is not None:
        return Path(data_home).expanduser()
    env = os.environ.get("STRUCTPRED_DATA")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "structpred"


def require_file(data_home, relative: str, source: str) -> Path:
    """Path of ``relative`` under the data home; FileNotFoundError naming the public source
    (and where to put it) when it is missing."""
    path = get_data_home(data_home) / relative
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found. It comes from {source}. Put it under the data home "
            f"({get_data_home(data_home)}) as {relative}, or point the data_home argument or "
            "the STRUCTPRED_DATA environment variable at a folder that has it.")
    return path
