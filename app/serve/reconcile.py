"""Resume runs whose gate has a recorded decision they have not received (after a crash,
a restart, or a decision recorded while the run was still on its way to the gate)."""

from __future__ import annotations

import sys

from swflow.archive.history import copy_run_history, runs_to_finish
from swflow.config.clock import system_clock
from swflow.domain import undelivered_decisions
from swflow.flows.control import resume_gate, run_states

__all__ = ["resume_decided_gates", "archive_finished_runs", "recover_stranded"]


def resume_decided_gates() -> int:
    resumed = 0
    for flow_run_id, _stage, decision_id in undelivered_decisions():
        if resume_gate(flow_run_id, decision_id):
            resumed += 1
    return resumed


def recover_stranded() -> int:
    """Give every running project whose run is lost, ended, stuck or dead a new run."""
    from swflow.flows.recovery import reconcile_runs

    recovered = reconcile_runs()
    for r in recovered:
        print(f"项目 {r.project_id} 的流程已接续：{r.reason}（新运行 {r.new_run_id}）", file=sys.stderr, flush=True)
    return len(recovered)


def archive_finished_runs() -> int:
    """Copy the final states of ended runs, which the flow itself cannot see (it is still running
    when it records its last stage)."""
    copied = 0
    for project_id, flow_run_id in runs_to_finish():
        states = run_states(flow_run_id)
        if any(s["type"] in ("COMPLETED", "FAILED", "CANCELLED", "CRASHED") for s in states):
            copied += copy_run_history(project_id, states, system_clock())
    return copied
