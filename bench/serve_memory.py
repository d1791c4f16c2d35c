"""Peak memory of `swflow serve` (supervisor, Prefect server, runner) with N projects waiting at gates.

Run by hand:  .venv/bin/python bench/serve_memory.py [N]   (the issue asks for 1000; that takes a while)
Reads VmHWM (peak resident set) of each process of the serve tree from /proc.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from _served import launch, served_home  # noqa: E402

from app.receiver import Receiver  # noqa: E402


def _tree(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(c) for c in children.read_text().split()] if children.exists() else []
    return [pid] + [p for k in kids for p in _tree(k)]


def _peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _cmd(pid: int) -> str:
    raw = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    return "runner" if "flows.runner" in raw else "prefect server" if "prefect server" in raw else "swflow serve"


def main(n: int) -> None:
    with Receiver() as receiver:
        home = served_home(receiver, "memory")
        try:
            t0 = time.monotonic()
            runs = []
            for i in range(n):
                launch(name=f"内存 {i}")
            import archive

            runs = [p["id"] for p in archive.list_projects()]
            flow_runs = [archive.project_status(p)["flow_run_id"] for p in runs]
            deadline = time.monotonic() + 3 * 3600
            while time.monotonic() < deadline:
                states = [httpx.get(f"{home.api}/flow_runs/{r}").json()["state"]["name"] for r in flow_runs]
                if all(s == "Suspended" for s in states):
                    break
                time.sleep(2)
            waited = time.monotonic() - t0
            assert home.serve_proc is not None
            pids = [p for p in _tree(home.serve_proc.pid) if Path(f"/proc/{p}").exists()]
            rows = [(_cmd(p), _peak_kib(p)) for p in pids]
        finally:
            home.stop_serve()
    print(f"{n} projects suspended at their first gate after {waited:.0f} s")
    for name, kib in rows:
        print(f"  {name:<16} peak RSS {kib / 1024:7.1f} MiB")
    print(f"  total            peak RSS {sum(k for _, k in rows) / 1024:7.1f} MiB")
    print(f"reproduce: .venv/bin/python bench/serve_memory.py {n}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
