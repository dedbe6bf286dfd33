"""Scenario and target specs: value types, the pydantic models, YAML spec files.

``benchctl.config`` finds, overrides and loads them and re-exports every public name."""
