"""Resume runs whose gate has a recorded decision they have not received (after a crash,
a restart, or a decision recorded while the run was still on its way to the gate)."""

from __future__ import annotations

from archive import undelivered_decisions
from flows.control import resume_gate

__all__ = ["resume_decided_gates"]


def resume_decided_gates() -> int:
    resumed = 0
    for flow_run_id, _stage, decision_id in undelivered_decisions():
        if resume_gate(flow_run_id, decision_id):
            resumed += 1
    return resumed
