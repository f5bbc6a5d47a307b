from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import WorkerProcesses


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[WorkerProcesses]:
    spawner = WorkerProcesses(tmp_path)
    yield spawner
    spawner.stop_all()
