"""The cost ledger is safe across processes; --max-cost refuses before sending."""
from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from mediagen.core import errors
from mediagen.app.gate import Budget, Cap, gate
from mediagen.ops.ledger import Ledger


def _writer(path: str, worker: int) -> None:
    ledger = Ledger(Path(path))
    for i in range(50):
        ledger.append({"worker": worker, "i": i, "actual_usd": 0.01, "status": "succeeded",
                       "note": "x" * 2000})


def test_concurrent_processes_never_interleave(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    procs = [multiprocessing.Process(target=_writer, args=(str(path), w)) for w in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(30)
    lines = path.read_text().splitlines()
    assert len(lines) == 200
    assert all(json.loads(line)["note"] == "x" * 2000 for line in lines)
    assert Ledger(path).spent_usd() == pytest.approx(2.0)


def test_ledger_masks_secrets(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.jsonl")
    ledger.append({"url": "https://x?key=AIzaSySECRETSECRETSECRET", "api_key": "abc"})
    text = (tmp_path / "l.jsonl").read_text()
    assert "SECRET" not in text and '"api_key": "***"' in text


def test_budget_guard() -> None:
    gate(Budget(0.5), Cap(None))
    gate(Budget(0.5), Cap(0.5))
    with pytest.raises(errors.BudgetExceeded) as caught:
        gate(Budget(0.51), Cap(0.5))
    assert caught.value.exit_code == 9 and "nothing was sent" in caught.value.message
    with pytest.raises(errors.BudgetExceeded):
        gate(Budget(None, priced=False), Cap(1.0))
