"""`swflow serve`, the embedded default: the Prefect server, the runner, and swflow's own duties
(dispatch, deliver decisions, recover stranded projects), started and stopped together."""

from .supervisor import Supervisor, serve_forever, state_file

__all__ = ["Supervisor", "serve_forever", "state_file"]
