"""The arrival plan of a scenario, before any traffic: its phases, offered rate over time and
arrival times (shapes.py), and replay traces read from files (traces.py). Pure functions of
the scenario; the load engine (benchctl.load) executes a plan, analysis re-derives it."""
