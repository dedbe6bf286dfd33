"""The launch settings every launcher shares (targets/launch_settings.py): defaults, the
served models, the model-name rule and which keywords a server takes. No server starts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchctl.targets.launch import launch_kserve
from benchctl.targets.launch_mlserver import launch_mlserver
from benchctl.targets.launch_settings import NO_SLASH, LaunchSettings, ModelNameError
from benchctl.targets.refmodel import MODEL_NAME, RefModelConfig


def test_defaults_and_a_launcher_own_default(tmp_path: Path) -> None:
    """60 s readiness by default; TorchServe asks for 90 s; the caller's value wins."""
    plain = LaunchSettings.of(tmp_path, {})
    assert (plain.ready_timeout, plain.model_name, plain.models) == (60.0, MODEL_NAME, None)
    assert plain.served == {MODEL_NAME: {}}
    assert LaunchSettings.of(tmp_path, {}, ready_timeout=90.0).ready_timeout == 90.0
    given = LaunchSettings.of(tmp_path, {"ready_timeout": 5.0}, ready_timeout=90.0)
    assert given.ready_timeout == 5.0


def test_served_models_take_their_own_changes(tmp_path: Path) -> None:
    base = RefModelConfig(cost_ms=2.0)
    settings = LaunchSettings.of(
        tmp_path, {"model": base, "models": {"a": {}, "b": {"cost_ms": 9.0}}}
    )
    assert list(settings.served) == ["a", "b"]
    assert settings.model_for({}) is base
    assert settings.model_for({"cost_ms": 9.0}) == RefModelConfig(cost_ms=9.0)


def test_model_names_follow_the_server_rule(tmp_path: Path) -> None:
    settings = LaunchSettings.of(tmp_path, {"model_name": "a/b"})
    with pytest.raises(ModelNameError, match=re.escape("target field 'model': KServe model names")):
        settings.checked_models("KServe", NO_SLASH)
    assert ModelNameError.exit_code == 2
    assert LaunchSettings.of(tmp_path, {"model_name": "ab"}).checked_models("KServe", NO_SLASH) == {
        "ab": {}
    }


def test_folder_is_absolute_and_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    folder = LaunchSettings.of(Path("logs/here"), {}).folder()
    assert folder == tmp_path / "logs" / "here" and folder.is_dir()


@pytest.mark.parametrize("launch", [launch_kserve, launch_mlserver])
def test_servers_that_do_not_batch_refuse_batching_keywords(launch, tmp_path: Path) -> None:
    """As when each launcher listed its keywords: a TypeError before anything starts."""
    with pytest.raises(TypeError, match="unexpected keyword argument 'max_batch_size'"):
        launch(log_dir=tmp_path, max_batch_size=4)
    with pytest.raises(TypeError, match="bogus"):
        launch(log_dir=tmp_path, bogus=1)
