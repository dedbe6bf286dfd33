"""Every file and folder name inside a run directory, declared once.

``runs/<UTC time>-<scenario>-<target>/`` holds what the stages hand each other; every
module names these files through the constants here, never as literals.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_RUNS_DIR = Path("runs")  # where ``benchctl run`` creates runs (relative to the cwd)

# Written by ``benchctl run`` (the load stage)
RUN_JSON = "run.json"  # the run's description: spec, versions, machine, timings, counts
REQUESTS = "requests.parquet"  # one row per request (schema: benchctl.rundir.requests)
PARTS = "requests.parts"  # requests.parquet while the run lasts: numbered complete parts
SUMMARY = "summary.json"  # per-phase and overall statistics of requests.parquet
TELEMETRY = "telemetry.parquet"  # host/process/GPU/server samples, long form
TELEMETRY_PARTS = "telemetry.parts"  # telemetry.parquet while the run lasts
TELEMETRY_WINDOWS = "telemetry_windows.parquet"  # telemetry joined per request window
ENGINE_SPEC = "engine-spec.json"  # what the engine process was told (mode 0600)
ENGINE_LOG = "engine.log"  # the engine process's output
WATCHDOG_LOG = "watchdog.log"  # the watchdog's output (benchctl.lifetime)
SHADOW = "shadow.parquet"  # a shadowed run's second target: one row per copy sent
SHADOW_PARTS = "shadow.parts"  # shadow.parquet while the run lasts
SEARCH = "search.json"  # a capacity search's levels and answer (benchctl.search)

# Written by ``benchctl analyze``
CAPACITY = "capacity.json"  # single-replica capacity, replicas, autoscaling, cost
AUTOSCALE_TIMELINE = "autoscale.parquet"  # simulated autoscalers over the run's traffic
MANIFESTS = "manifests"  # folder: HPA/KPA/KEDA YAML for the recommended settings

# Written by ``benchctl report``
REPORT = "report.html"

# Values of run.json ``status``
COMPLETED, INTERRUPTED, FAILED, RUNNING = "completed", "interrupted", "failed", "running"
DAMAGED = "damaged"  # run.json unreadable: listed by list_runs, never used as data

# schema_version written into each JSON file (older versions are migrated on read: models.py)
RUN_SCHEMA_VERSION = 1  # run.json
SUMMARY_SCHEMA_VERSION = 1  # summary.json
CAPACITY_SCHEMA_VERSION = 2  # capacity.json
SCHEMA_VERSION = RUN_SCHEMA_VERSION  # the name run.py and recovery.py use (run.json, summary)
