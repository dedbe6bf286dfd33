"""README and `benchctl run --help` as a fresh user reads them: list values quoted for the
shell (an unquoted [..] is a glob pattern: zsh refuses it, bash expands it when a file
matches), and the opening line says which servers are supported today."""

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
BENCHCTL = Path(sys.executable).with_name("benchctl")
UNQUOTED_LIST = re.compile(r"--(?:set|target-set) [\w.]+=\[")


def test_readme_quotes_list_values_and_names_todays_servers():
    text = README.read_text()
    assert not UNQUOTED_LIST.findall(text)
    assert "--set 'rates=[50,100,200,400]'" in text
    opening = text.split("```")[0]
    assert "are next" not in opening
    assert all(name in opening for name in ("KServe", "Triton", "TorchServe", "MLServer"))
    assert "~4 min" not in text


def test_run_help_quotes_list_values(tmp_path):
    done = subprocess.run(
        [str(BENCHCTL), "run", "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    assert not UNQUOTED_LIST.findall(done.stdout)
    assert "--set 'rates=[50,100,200,400]'" in done.stdout
