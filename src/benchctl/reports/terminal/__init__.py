"""Everything ``benchctl`` writes to the terminal, one module per kind of screen.

- ``console``: the console each command prints to (pipe-safe), and the one-line stderr error;
- ``live``: the panel (or plain lines off a terminal) while a run sends traffic;
- ``run_summary``: a run's plan (``--dry-run``) and its end: latency table and warnings;
- ``search``: the capacity search's plan and one line per level decided;
- ``listings``: ``benchctl runs``, ``scenarios`` and ``targets`` tables;
- ``answer``: the capacity answer of ``analyze`` and the end of ``run --slo``;
- ``gate``: the gate's verdict table;
- ``telemetry``: ``benchctl telemetry``'s table and self-check lines;
- ``compare`` and ``history``: the tables of ``benchctl compare`` and ``benchctl history``;
- ``split``: a ``--split`` run's arms, canary verdicts and per-arm server telemetry;
- ``batch``: a batch sweep's settings and the best one;
- ``cells``: number formats the tables share.

Only this package builds what is printed (rich tables, panels, markup): ``analysis``,
``telemetry``, ``rundir``, ``plan`` and the rest of ``reports`` compute and return data and
never print; commands and the run pass a ``Console`` down and call these screens
(tests/unit/test_terminal_output.py checks it).
Nothing is imported here, so ``benchctl --help`` loads only ``console``.
"""
