"""Boundary checks: paths (see structpred.boundary)."""
from __future__ import annotations

__all__: list[str] = []
