"""Turning records into plain JSON values, shared by sidecar files and ``--json`` output."""

from __future__ import annotations

import enum
import math
from datetime import datetime
from pathlib import PurePath
from typing import Any


def to_jsonable(value: Any) -> Any:
    """Datetimes → ISO 8601, paths → str, enums → value; infinities (the loudness and peak of
    digital silence) → null, since JSON has no infinity."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return value
