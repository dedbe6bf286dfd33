"""Everything ``benchctl`` writes to the terminal, one module per kind of screen.

- ``console``: the console each command prints to (pipe-safe), the one-line stderr error and
  the recovery notice;
- ``live``: the panel (or plain lines off a terminal) while a run sends traffic;
- ``run_progress``: a run as it starts: plan notes, run directory, launched server, telemetry
  notes, where remote workers join;
- ``run_summary``: a run's plan (``--dry-run``) and its end: latency table and warnings;
- ``repeat``: ``run --repeat``: the heading of each run, the runs made and their gate command;
- ``search``: the capacity search's plan, one line per level decided, and how ``run --slo``
  goes on from it;
- ``listings``: ``benchctl runs``, ``scenarios`` and ``targets`` tables;
- ``answer``: the capacity answer of ``analyze`` and the end of ``run --slo``;
- ``gate``: the gate's verdict table;
- ``telemetry``: ``benchctl telemetry``'s table and self-check lines;
- ``compare`` and ``history``: the tables of ``benchctl compare`` and ``benchctl history``;
- ``split``: a ``--split`` run's arms, canary verdicts and per-arm server telemetry;
- ``batch``: a batch sweep's settings (a heading per setting's run) and the best one;
- ``cells``: number formats the tables share.

Only this package builds what is printed (rich tables, panels, markup): ``analysis``,
``telemetry``, ``rundir``, ``plan`` and the rest of ``reports`` compute and return data and
never print; commands and the run pass a ``Console`` down and call these screens
(tests/unit/test_terminal_output.py checks it).
Nothing is imported here, so ``benchctl --help`` loads only ``console``.
"""
