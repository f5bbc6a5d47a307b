"""Reading ``dgx-music batch`` files: plain prompts, or JSON objects with per-line parameters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dgx_music.domain import GenerationRequest
    from dgx_music.service import GenerationService

MAX_BATCH_LINES = 10_000


def read_batch_file(
    service: GenerationService, path: Path, defaults: dict[str, Any]
) -> list[GenerationRequest]:
    """Validate every line before anything is queued: one bad line queues nothing."""
    from dgx_music.service import InvalidRequest

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"cannot read batch file {path}: {exc}") from None
    requests = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        params = dict(defaults)
        if line.startswith("{"):
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidRequest(f"{path}:{number}: invalid JSON: {exc.msg}") from None
            if not isinstance(item, dict) or not isinstance(item.get("prompt"), str):
                raise InvalidRequest(f'{path}:{number}: a JSON line needs a "prompt" string')
            prompt = item.pop("prompt")
            params.update(item)
        else:
            prompt = line
        try:
            requests.append(service.build_request(prompt, **params))
        except (InvalidRequest, TypeError) as exc:
            raise InvalidRequest(f"{path}:{number}: {exc}") from None
    if not requests:
        raise InvalidRequest(f"{path} holds no prompts")
    if len(requests) > MAX_BATCH_LINES:
        raise InvalidRequest(
            f"{path} holds {len(requests)} prompts; the limit is {MAX_BATCH_LINES}"
        )
    return requests
