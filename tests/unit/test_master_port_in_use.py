"""``--master-port`` already in use (trial 8): ``benchctl run ... --workers 1 --master-port
18181`` with 18181 held ran, the master died on the bind ("interrupted: engine exited with
code 1", a traceback in engine.log) and left an 'interrupted, 0 reqs' run. The port is now
bind-tested on the address the master will use before anything starts: one stderr line,
exit 2, no run directory. The installed ``benchctl`` from a fresh folder; the port held by
a listening socket of this test on 127.0.0.1 (no server: the check comes before the
target's)."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.unit.run_files import installed_benchctl

RUN = ("run", "steady", "--target", "kserve", "--rate", "5", "--duration", "3s")


def test_a_master_port_in_use_is_refused_before_anything_starts(tmp_path: Path) -> None:
    """Held on 127.0.0.1: refused for the default bind (127.0.0.1), for --master-bind
    0.0.0.0 (every interface includes the held one) and under --dry-run; exit 2, one line
    naming the flag, the port and the address, no traceback, no runs/ folder."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        for extra, address in (((), "127.0.0.1"), (("--master-bind", "0.0.0.0"), "0.0.0.0")):
            args = (*RUN, "--workers", "1", "--master-port", str(port), *extra)
            done = installed_benchctl(*args, cwd=tmp_path)
            assert done.returncode == 2, done.stdout + done.stderr
            assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
            assert f"--master-port: {port}: address already in use on {address}; " in done.stderr
            assert "pick another port (or omit it)" in done.stderr
        done = installed_benchctl(*RUN, "--workers", "1", "--master-port", str(port),
                                  "--dry-run", cwd=tmp_path)  # fmt: skip
        assert done.returncode == 2 and "address already in use" in done.stderr
    assert not (tmp_path / "runs").exists()
