"""A project's surveys in the archive: 5,000 respondents of a 30-item instrument recorded at baseline
and again at post (`record_responses`, all or nothing, one event each), then the project's survey
report (summaries and the paired change), the indicators the surveys compute, and `archive verify`, on a
SQLite archive.

Run by hand:  .venv/bin/python bench/survey_archive.py [respondents]
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import yaml

ITEMS = 30


def _definitions(home: Path) -> None:
    items = [{"key": f"q{n}", "text": f"第 {n} 题", "scale": "agree", "reverse": n % 7 == 0} for n in range(1, 31)]
    instrument = {
        "id": "bench-30", "version": 1, "title": "基准问卷（30 题）", "source": "bench", "licence": "bench",
        "scoring_source": "bench", "scales": {"agree": {"points": {1: "1", 2: "2", 3: "3", 4: "4", 5: "5"}}},
        "items": items, "scores": [{"key": "total", "title": "总分", "items": [f"q{n}" for n in range(1, 31)]}],
    }  # fmt: skip
    (home / "definitions" / "instruments").mkdir(parents=True)
    (home / "definitions" / "instruments" / "bench-30.yaml").write_text(yaml.safe_dump(instrument), encoding="utf-8")
    shipped = Path(__file__).resolve().parents[1] / "config" / "templates" / "elderly-care-brief.yaml"
    template = yaml.safe_load(shipped.read_text(encoding="utf-8")) | {"id": "bench-surveyed", "version": 1}
    indicators = [
        {"name": "总分均值", "statistic": "mean", "score": "total"},
        {"name": "总分 ≥ 90 的比例", "statistic": "share_at_least", "score": "total", "cutoff": 90},
    ]
    template["stages"][0]["surveys"] = [
        {"key": "pre", "title": "前测", "instrument": "bench-30", "wave": "baseline", "expected": 5000,
         "indicators": indicators},
        {"key": "post", "title": "后测", "instrument": "bench-30", "wave": "post", "expected": 5000,
         "indicators": indicators},
    ]  # fmt: skip
    (home / "definitions" / "templates").mkdir(parents=True)
    (home / "definitions" / "templates" / "bench.yaml").write_text(yaml.safe_dump(template), encoding="utf-8")


def main(respondents: int) -> None:
    home = Path(tempfile.mkdtemp(prefix="swflow-bench-survey-archive-"))
    os.environ["SWFLOW_HOME"] = str(home)
    _definitions(home)
    from swflow import db, domain
    from swflow.archive.reports import indicator_report
    from swflow.archive.verify import verify_archive
    from swflow.config.clock import SHANGHAI
    from swflow.domain.projects.surveys import Answered, record_responses, survey_report

    db.migrate()
    now = datetime(2026, 6, 15, 10, tzinfo=SHANGHAI)
    degree = [{"kind": "degree", "level": "MSW"}]
    people = domain.PeopleFile.model_validate(
        {"people": [{"id": p, "name": p, "roles": [r], "qualifications": degree} for p, r in
                    (("m", "manager"), ("s", "supervisor"), ("w", "worker"))]}
    ).people  # fmt: skip
    domain.import_people(people, "bench", now)
    request = domain.LaunchRequest(
        template_id="bench-surveyed", name="基准", community="c", manager_id="m", supervisor_id="s", worker_ids=["w"]
    )
    plan = domain.prepare_launch(request, now.date())
    domain.record_launch(plan, "00000000-0000-0000-0000-000000000001", now)
    domain.open_stage(plan.project_id, "assessment", now)
    rng = random.Random(5000)
    pre = [Answered(f"R{r:05d}", "2026-06-15", {f"q{n}": rng.randint(1, 5) for n in range(1, ITEMS + 1)}, f"第 {r} 行")
           for r in range(respondents)]  # fmt: skip
    post = [Answered(a.respondent, a.answered_on, {k: max(1, v - rng.choice((0, 1))) for k, v in a.answers.items()},
                     a.where) for a in pre]  # fmt: skip
    for label, wave, given in (("baseline", "pre", pre), ("post", "post", post)):
        start = time.perf_counter()
        record_responses(plan.project_id, wave, "w", given, now)
        print(f"record {respondents} × {ITEMS} ({label}): {time.perf_counter() - start:.2f} s")
    start = time.perf_counter()
    report = survey_report(plan.project_id)
    change = report[1]["change"][0]
    print(f"survey report (2 × {respondents} responses, paired change): {time.perf_counter() - start:.2f} s"
          f" — paired {change['n_paired']}, change {change['mean_change']:+.3f}")  # fmt: skip
    start = time.perf_counter()
    rows = indicator_report(plan.project_id)
    first = f"{rows[0]['indicator']} {rows[0]['baseline']} → {rows[0]['post']}"
    print(f"indicator report ({len(rows)} indicators computed from 2 × {respondents} responses): "
          f"{time.perf_counter() - start:.2f} s — {first}")  # fmt: skip
    start = time.perf_counter()
    verdict = verify_archive()
    print(f"archive verify: {time.perf_counter() - start:.2f} s ({'BROKEN' if verdict.broken else 'intact'})")
    size = (home / "archive.db").stat().st_size / 1e6
    print(f"archive.db: {size:.1f} MB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
