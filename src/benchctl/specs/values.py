"""Value types shared by scenario and target specs: durations, rates, size limits, the
base model, and ``${VAR}`` headers (resolved from the environment, redacted when stored)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
)

from benchctl.durations import parse_duration
from benchctl.errors import InputError

# Above this an open-loop schedule measures the generator, not the server (one generator
# process sends a few thousand req/s); also keeps the arrival arithmetic finite.
MAX_RATE = 1_000_000.0
# Scenario sizes past these are typos that would run for days or exhaust memory.
MAX_REPEATS = 10_000
MAX_CONCURRENCY = 100_000


def _rate_cap(value: float) -> float:
    if value > MAX_RATE:
        raise ValueError(
            f"must be at most {MAX_RATE:,.0f} req/s (got {value:g}): one generator process "
            "sends a few thousand req/s, so a higher rate would measure the generator"
        )
    return value


Seconds = Annotated[float, BeforeValidator(parse_duration), Field(ge=0)]
Rate = Annotated[
    float,
    Field(ge=0, allow_inf_nan=False, description="requests per second"),
    AfterValidator(_rate_cap),
]
# What a 0 would do, for the durations where the line says it (others: no time at all).
_ZERO_MEANS = {
    "drop_after": "0 would drop every request not sent at its exact intended time",
    "timeout": "0 would time out every request",
    "connect_timeout": "0 would fail every connection",
    "burst_length": "0 would be no burst at all",
}


def _above_zero(value: float, info: ValidationInfo) -> float:
    """The duration itself; ValueError naming what is allowed (and what 0 would do)."""
    if value <= 0:
        why = _ZERO_MEANS.get(info.field_name or "", "0 leaves no time at all")
        raise ValueError(f"must be greater than 0 s, e.g. 1s or 250ms ({why}), got {value:g}")
    return value


# A rate or a length that a scenario cannot do without: 0 would plan no request at all.
PositiveRate = Annotated[Rate, Field(gt=0)]
PositiveSeconds = Annotated[Seconds, AfterValidator(_above_zero)]


class Spec(BaseModel):
    """Base of every scenario and target section: unknown fields refused, values frozen,
    no NaN or infinity."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def resolve_env(value: str, environ: Mapping[str, str] | None = None) -> str:
    """Replace ``${VAR}`` with the environment's value; InputError naming a missing one."""
    env = os.environ if environ is None else environ

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise InputError(f"environment variable {name} is not set")
        return env[name]

    return _ENV_REF.sub(substitute, value)


_SENSITIVE = re.compile(r"auth|token|key|secret|cookie|password", re.IGNORECASE)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers safe to store: ``${VAR}`` templates kept, literal sensitive values hidden."""
    return {
        name: "<redacted>"
        if _SENSITIVE.search(name) and value and not _ENV_REF.search(value)
        else value
        for name, value in headers.items()
    }
