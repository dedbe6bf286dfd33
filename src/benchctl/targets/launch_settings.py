"""What every launcher checks and takes: the model-name rule and the launch settings.

`LaunchSettings` holds the keyword arguments every ``launch_<server>`` function shares
(`LaunchArgs`, `BatchingArgs`); `check_model_name` and `absolute_dir` are the checks and
the folder rule every launcher applies (all re-exported by `benchctl.targets.launch`).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from benchctl.targets.refmodel import MODEL_NAME, RefModelConfig
from benchctl.targets.venvs import LaunchError, server_venv

_DEFAULT_MODEL = RefModelConfig()  # frozen


# A REST path parameter (FastAPI: KServe, MLServer) cannot hold "/", even %-encoded.
NO_SLASH = re.compile(r"^[^/]+$")


class ModelNameError(LaunchError):
    """The target's model name is one the launched server does not accept (bad input, 2)."""

    exit_code = 2


def check_model_name(server: str, name: str, pattern: re.Pattern[str]) -> None:
    """ModelNameError (one line naming the field and what is allowed) unless ``name``
    matches the server's rule for model names."""
    if not pattern.match(name):
        raise ModelNameError(
            f"target field 'model': {server} model names must match {pattern.pattern}, got {name!r}"
        )


def absolute_dir(log_dir: Path | str) -> Path:
    """``log_dir`` made absolute (not following symlinks) and created.

    The one place where launchers turn the folder they were given into the folder every path
    handed to a server derives from: servers run with their own working directory, so a
    relative model repository / model store / settings path fails or is silently ignored
    (Triton: "failed to stat file"; torch-model-archiver: "export-path is not a directory";
    MLServer falls back to its defaults on 0.0.0.0:8080-8082). See TARGETS.md.
    """
    path = Path(os.path.abspath(log_dir))
    path.mkdir(parents=True, exist_ok=True)
    return path


class LaunchArgs(TypedDict, total=False):
    """The keyword arguments every ``launch_<server>`` function takes besides ``log_dir`` and
    its own settings; `LaunchSettings` holds them with their defaults."""

    model: RefModelConfig
    model_name: str
    ready_timeout: float
    cache_dir: Path | None
    log: Callable[[str], None]
    models: dict[str, dict[str, Any]] | None


class BatchingArgs(LaunchArgs, total=False):
    """`LaunchArgs` and dynamic batching, for the servers that batch (Triton, TorchServe)."""

    max_batch_size: int
    batch_delay_ms: float


@dataclass(frozen=True)
class LaunchSettings:
    """What every launcher needs, whatever the server.

    ``log_dir``: the folder for the server's log and files (made absolute by `folder`);
    ``model``: the reference model's settings; ``model_name``: the name it is served under;
    ``ready_timeout``: seconds to wait for readiness; ``cache_dir``: where the server venvs
    are cached (None: the default, see `cache_root`); ``log``: progress lines;
    ``models`` ({name: RefModelConfig fields to change}): served instead of ``model_name``
    when given (a model mix); ``max_batch_size`` (0: no batching) and ``batch_delay_ms``
    (the longest wait to fill a batch): dynamic batching, for the servers that batch.
    """

    log_dir: Path
    model: RefModelConfig = _DEFAULT_MODEL
    model_name: str = MODEL_NAME
    ready_timeout: float = 60.0
    cache_dir: Path | None = None
    log: Callable[[str], None] = print
    models: dict[str, dict[str, Any]] | None = None
    max_batch_size: int = 0
    batch_delay_ms: float = 0.0

    @classmethod
    def of(
        cls, log_dir: Path, args: BatchingArgs, *, batching: bool = False, **defaults: Any
    ) -> LaunchSettings:
        """The settings from a launcher's ``log_dir`` and keyword ``args``; ``defaults``
        replace this class's defaults (e.g. a longer ``ready_timeout``). Raises TypeError
        for an unknown argument, and for a batching one unless ``batching`` (the server
        batches: `BatchingArgs`)."""
        unused = {"max_batch_size", "batch_delay_ms"} & set(args) if not batching else set()
        if unused:
            raise TypeError(f"unexpected keyword argument {sorted(unused)[0]!r}")
        return cls(log_dir=log_dir, **{**defaults, **args})

    @property
    def served(self) -> dict[str, dict[str, Any]]:
        """{model name: RefModelConfig fields to change} of every model to serve."""
        return self.models or {self.model_name: {}}

    def checked_models(self, server: str, pattern: re.Pattern[str]) -> dict[str, dict[str, Any]]:
        """`served`, once every name matches ``pattern``, the rule of ``server`` (its display
        name) for model names; ModelNameError (`check_model_name`) otherwise."""
        for name in self.served:
            check_model_name(server, name, pattern)
        return self.served

    def model_for(self, changes: dict[str, Any]) -> RefModelConfig:
        """``model`` with ``changes`` (a `served` entry) applied."""
        return dataclasses.replace(self.model, **changes) if changes else self.model

    def venv(self, kind: str, requirements: list[str]) -> Path:
        """The cached venv of server ``kind`` (`server_venv`; LaunchError if it cannot be made)."""
        return server_venv(kind, requirements, cache_dir=self.cache_dir, log=self.log)

    def folder(self) -> Path:
        """``log_dir`` made absolute and created (`absolute_dir`): servers run in their own cwd."""
        return absolute_dir(self.log_dir)
