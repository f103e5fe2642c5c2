"""The Ad Fontes Media Interactive Media Bias Chart (2019): political bias and quality ratings of
news articles, the item pool of the news experiments of Morik, Singh, Hong & Joachims
(SIGIR 2020; their code reads ``data/InteractiveMediaBiasChart.csv`` and uses polarity =
Bias / 40).

``read_adfontes(path)`` reads a CSV file with a header row that has at least the columns
``Source`` and ``Bias`` (``Quality`` and any other columns, e.g. ``Url``, are optional) and
returns an ``AdFontes`` record: source names, bias (Ad Fontes' horizontal axis, about -42 (left)
to +42 (right)), quality (vertical axis, NaN when the column is absent) and ``polarity`` =
bias / 40 (the authors' scaling, not clipped). ``load_adfontes`` finds the file under the data
home as ``fairness/adfontes/InteractiveMediaBiasChart.csv``. Bad files raise DataFormatError
naming the file and line.
"""
from __future__ import annotations

import csv
import io
import math
from typing import NamedTuple

import numpy as np

from ..boundary.text import read_text
from ..errors import DataFormatError
from .home import require_file

__all__ = ["AdFontes", "read_adfontes", "load_adfontes", "RELATIVE_PATH"]

RELATIVE_PATH = "fairness/adfontes/InteractiveMediaBiasChart.csv"
_SOURCE = ("the Ad Fontes Media Interactive Media Bias Chart, downloaded as CSV from "
           "https://www.adfontesmedia.com/interactive-media-bias-chart/ (the file the FairCo "
           "authors' README names, MarcoMorik/Dynamic-Fairness; columns Source, Bias, Quality, "
           "one row per rated article). The 2019 article ratings (1,916 rows with Source, Url, "
           "Bias, Quality) are also public in the JavaScript file newSources.js of "
           "github.com/meyerclemon/maya-media-bias-check")


class AdFontes(NamedTuple):
    """Rated articles: source name, bias (about -42..42), quality (NaN if absent), polarity =
    bias / 40."""
    source: list
    bias: np.ndarray
    quality: np.ndarray
    polarity: np.ndarray


def _number(text, path, lineno, column):
    try:
        x = float(text)
    except (TypeError, ValueError):
        raise DataFormatError(f"{path}, line {lineno}: column {column} must be a number, got "
                              f"{text!r}", path, lineno) from None
    if not math.isfinite(x):
        raise DataFormatError(f"{path}, line {lineno}: column {column} must be finite, got "
                              f"{text!r}", path, lineno)
    return x


def read_adfontes(path) -> AdFontes:
    """Read an Ad Fontes article CSV (header with Source and Bias; Quality optional)."""
    text = read_text(path, encoding="utf-8-sig", errors="strict")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as e:
        raise DataFormatError(f"{path}: not a CSV file ({e})", path) from None
    if not rows:
        raise DataFormatError(f"{path}: empty file, expected a header with Source and Bias",
                              path, 1)
    header = [h.strip() for h in rows[0]]
    for need in ("Source", "Bias"):
        if need not in header:
            raise DataFormatError(f"{path}, line 1: the header has no {need!r} column "
                                  f"(got {header[:8]})", path, 1)
    i_src, i_bias = header.index("Source"), header.index("Bias")
    i_q = header.index("Quality") if "Quality" in header else None
    source, bias, quality = [], [], []
    for lineno, row in enumerate(rows[1:], start=2):
        if not row or all(not f.strip() for f in row):
            continue
        if len(row) != len(header):
            raise DataFormatError(f"{path}, line {lineno}: expected {len(header)} fields, got "
                                  f"{len(row)}", path, lineno)
        name = row[i_src].strip()
        if not name:
            raise DataFormatError(f"{path}, line {lineno}: empty Source", path, lineno)
        b = _number(row[i_bias].strip(), path, lineno, "Bias")
        if abs(b) > 100:
            raise DataFormatError(f"{path}, line {lineno}: Bias {b} is outside the chart's "
                                  "range (|Bias| <= 100)", path, lineno)
        source.append(name)
        bias.append(b)
        quality.append(_number(row[i_q].strip(), path, lineno, "Quality")
                       if i_q is not None else math.nan)
    if not source:
        raise DataFormatError(f"{path}: no rated articles", path)
    b = np.array(bias, dtype=np.float64)
    return AdFontes(source, b, np.array(quality, dtype=np.float64), b / 40.0)


def load_adfontes(data_home=None, path=None) -> AdFontes:
    """The Ad Fontes articles from ``path``, else the data home's
    fairness/adfontes/InteractiveMediaBiasChart.csv (FileNotFoundError naming the public source
    when absent)."""
    if path is None:
        path = require_file(data_home, RELATIVE_PATH, _SOURCE)
    return read_adfontes(path)
