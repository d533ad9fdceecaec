"""Where a Spark application's time went, from its event log (``spark.eventLog.enabled``).

Prints the application's wall time, its jobs, and per phase (the gaps between jobs split
the timeline) the wall time, the jobs and how busy the task slots were. A phase whose
cores are mostly idle is driver work (planning, listing) or many small jobs.

    python benchmarks/spark_eventlog.py /tmp/events/local-1795490595399 --slots 2
"""
from __future__ import annotations

import argparse
import glob
import json
import os
from dataclasses import dataclass, field
from typing import Iterator, List


@dataclass
class Job:
    start: float
    end: float
    tasks: int = 0
    task_seconds: float = 0.0


@dataclass
class Phase:
    start: float
    end: float
    jobs: List[Job] = field(default_factory=list)

    @property
    def task_seconds(self) -> float:
        return sum(j.task_seconds for j in self.jobs)


def _events(path: str) -> Iterator[dict]:
    files = [path] if os.path.isfile(path) else sorted(glob.glob(os.path.join(path, "*")))
    for name in files:
        if os.path.basename(name).startswith((".", "appstatus")):
            continue
        if name.endswith((".zstd", ".lz4", ".snappy", ".lzf")):
            raise SystemExit(f"{name} is compressed: run with spark.eventLog.compress=false")
        with open(name) as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)


def read_jobs(path: str):
    """(application start, jobs in submission order) in seconds from the epoch."""
    app_start, jobs, stage_job = None, {}, {}
    for e in _events(path):
        kind = e["Event"]
        if kind == "SparkListenerApplicationStart":
            app_start = e["Timestamp"] / 1000
        elif kind == "SparkListenerJobStart":
            jobs[e["Job ID"]] = Job(e["Submission Time"] / 1000, e["Submission Time"] / 1000)
            for stage in e["Stage IDs"]:
                stage_job[stage] = e["Job ID"]
        elif kind == "SparkListenerJobEnd":
            jobs[e["Job ID"]].end = e["Completion Time"] / 1000
        elif kind == "SparkListenerTaskEnd" and e["Stage ID"] in stage_job:
            info = e["Task Info"]
            job = jobs[stage_job[e["Stage ID"]]]
            job.tasks += 1
            job.task_seconds += (info["Finish Time"] - info["Launch Time"]) / 1000
    if app_start is None:
        raise SystemExit(f"{path}: no SparkListenerApplicationStart event (not an event log?)")
    return app_start, [jobs[k] for k in sorted(jobs)]


def phases(jobs: List[Job], gap: float) -> List[Phase]:
    """Jobs grouped into phases: a new phase starts after ``gap`` seconds without a running job."""
    out: List[Phase] = []
    for job in jobs:
        if out and job.start - out[-1].end <= gap:
            out[-1].jobs.append(job)
            out[-1].end = max(out[-1].end, job.end)
        else:
            out.append(Phase(job.start, job.end, [job]))
    return out


def report(path: str, slots: int, gap: float) -> str:
    app_start, jobs = read_jobs(path)
    if not jobs:
        return f"{path}: no jobs"
    lines = [f"application: {jobs[-1].end - app_start:.1f}s to the last job's end, {len(jobs)} jobs, "
             f"{sum(j.tasks for j in jobs)} tasks, {sum(j.task_seconds for j in jobs):.1f} task-seconds on {slots} slots"]
    last = app_start
    for p in phases(jobs, gap):
        wall = p.end - p.start
        busy = p.task_seconds / (slots * wall) if wall > 0 else 0.0
        lines.append(f"  {p.start - app_start:7.1f}s  (idle before {p.start - last:5.1f}s)  wall {wall:6.1f}s  "
                     f"jobs {len(p.jobs):3d}  tasks {sum(j.tasks for j in p.jobs):4d}  slots busy {busy:4.0%}")
        last = p.end
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log", help="an uncompressed event log file, or a folder of its parts")
    parser.add_argument("--slots", type=int, default=2, help="task slots (cores) of the application")
    parser.add_argument("--gap", type=float, default=0.5, help="seconds without a job that end a phase")
    args = parser.parse_args()
    print(report(args.log, args.slots, args.gap))


if __name__ == "__main__":
    main()
