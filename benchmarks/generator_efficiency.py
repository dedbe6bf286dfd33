"""Generator efficiency: requests per generator CPU-second, side by side in one run.

Against one fast local endpoint (nginx from Debian answering a fixed v2 inference body), at
the same closed-loop concurrency, with medians over repeats:

* benchctl (every request recorded to Parquet and its response validated) vs plain Locust
  FastHttpUser (nothing kept but Locust's aggregate stats) vs wrk (C, the ceiling);
* benchctl with 2 workers vs 1 worker (throughput), the endpoint not being the bottleneck;
* benchctl with telemetry samplers (host, the server's processes) on vs off.

Ratios, not absolute numbers, are the result: this machine is shared and noisy.
Needs ``nginx`` and ``wrk`` (Debian: ``apt-get install nginx-light wrk``).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
RESPONSE = json.dumps(
    {
        "model_name": "mlp",
        "outputs": [{"name": "output-0", "shape": [1, 10], "datatype": "FP32", "data": [0.1] * 10}],
    }
)
REQUEST = json.dumps(
    {"inputs": [{"name": "input-0", "shape": [1, 64], "datatype": "FP32", "data": [0.5] * 64}]}
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_nginx(work: Path, port: int) -> subprocess.Popen:
    conf = work / "nginx.conf"
    temp = work / "nginx-temp"
    temp.mkdir()
    body = RESPONSE.replace("'", "\\'")
    conf.write_text(f"""
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {temp}/body; proxy_temp_path {temp}/proxy;
  fastcgi_temp_path {temp}/fastcgi; uwsgi_temp_path {temp}/uwsgi; scgi_temp_path {temp}/scgi;
  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:{port};
    location / {{ default_type application/json; return 200 '{body}'; }}
  }}
}}
""")
    process = subprocess.Popen(
        ["nginx", "-c", str(conf), "-p", str(work)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"nginx did not start; see {work}/nginx-error.log")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], **kwargs) -> tuple[subprocess.CompletedProcess, float]:
    before = children_cpu()
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    if result.returncode != 0:
        raise SystemExit(f"{command[0]} failed ({result.returncode}): {result.stderr[-800:]}")
    return result, children_cpu() - before


def run_benchctl(
    work: Path, concurrency: int, seconds: int, workers: int, extra: tuple[str, ...] = ()
) -> dict[str, float]:
    runs = work / "runs"
    command = [
        sys.executable,
        "-m",
        "benchctl",
        "run",
        "sweep",
        "--config-dir",
        str(work),
        "--target",
        "nginx",
        "--set",
        f"levels=[{concurrency}]",
        "--set",
        f"hold={seconds}s",
        "--set",
        "warmup=0",
        "--runs-dir",
        str(runs),
        "--workers",
        str(workers),
    ]
    before = set(runs.glob("*")) if runs.exists() else set()
    _, whole_cpu = timed(command)
    (run_dir,) = set(runs.glob("*")) - before
    info = json.loads((run_dir / "run.json").read_text())
    summary = json.loads((run_dir / "summary.json").read_text())
    rows = info["counts"]["rows"]
    engine_cpu = sum(info["generator"]["cpu_seconds"].values())
    return {
        "requests": rows,
        "rps": summary["overall"]["throughput_rps"],
        "per_cpu_s": rows / engine_cpu,
        "per_cpu_s_whole": rows / whole_cpu,
    }


def run_locust(url: str, concurrency: int, seconds: int, body: Path) -> dict[str, float]:
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(HERE / "plain_locust.py"),
        "--headless",
        "-u",
        str(concurrency),
        "-r",
        str(concurrency * 10),
        "-t",
        f"{seconds}s",
        "--host",
        url,
        "--only-summary",
        "--json",
        "--loglevel",
        "WARNING",
    ]
    result, cpu = timed(command, env={"BENCH_BODY": str(body), "PATH": "/usr/bin:/bin"})
    stats = json.loads(result.stdout)
    requests = sum(entry["num_requests"] for entry in stats)
    return {"requests": requests, "rps": requests / seconds, "per_cpu_s": requests / cpu}


def run_wrk(url: str, concurrency: int, seconds: int, script: Path) -> dict[str, float]:
    command = [
        "wrk",
        "-t1",
        f"-c{concurrency}",
        f"-d{seconds}s",
        "-s",
        str(script),
        f"{url}/v2/models/mlp/infer",
    ]
    result, cpu = timed(command)
    requests = int(re.search(r"(\d+) requests in", result.stdout).group(1))
    return {"requests": requests, "rps": requests / seconds, "per_cpu_s": requests / cpu}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    for tool in ("nginx", "wrk"):
        if not shutil.which(tool):
            print(f"benchmark needs {tool}: apt-get install nginx-light wrk", file=sys.stderr)
            return 2
    with tempfile.TemporaryDirectory(prefix="benchctl-bench-") as tmp:
        work = Path(tmp)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        body = work / "request.json"
        body.write_text(REQUEST)
        (work / "targets").mkdir()
        (work / "targets" / "nginx.yaml").write_text(
            f"kind: kserve\ndescription: nginx returning a fixed v2 answer\nurl: {url}\n"
            f"protocol: rest-v2\nmodel: mlp\npayload: {{source: file, file: {body}}}\n"
        )
        script = work / "post.lua"
        script.write_text(
            'wrk.method = "POST"\nwrk.headers["Content-Type"] = '
            f'"application/json"\nwrk.body = [[{REQUEST}]]\n'
        )
        nginx = start_nginx(work, port)
        results: dict[str, list[dict[str, float]]] = {
            "benchctl": [],
            "locust": [],
            "wrk": [],
            "benchctl-1w": [],
            "benchctl-2w": [],
            "telemetry-off": [],
            "telemetry-on": [],
        }
        sampling = ("--server-process", "nginx", "--telemetry-interval", "1s")
        try:
            for repeat in range(args.repeats):
                print(f"repeat {repeat + 1}/{args.repeats} …", file=sys.stderr)
                c, s = args.concurrency, args.seconds
                results["benchctl"].append(run_benchctl(work, c, s, workers=0))
                results["locust"].append(run_locust(url, c, s, body))
                results["wrk"].append(run_wrk(url, c, s, script))
                results["benchctl-1w"].append(run_benchctl(work, 2 * c, s, workers=1))
                results["benchctl-2w"].append(run_benchctl(work, 2 * c, s, workers=2))
                results["telemetry-off"].append(
                    run_benchctl(work, c, s, workers=0, extra=("--no-telemetry",))
                )
                results["telemetry-on"].append(run_benchctl(work, c, s, workers=0, extra=sampling))
        finally:
            nginx.terminate()
            nginx.wait(timeout=10)
    report(results, args)
    return 0


def median(rows: list[dict[str, float]], key: str) -> float:
    return statistics.median(row[key] for row in rows)


def report(results: dict[str, list[dict[str, float]]], args: argparse.Namespace) -> None:
    print(
        f"\nGenerator efficiency, nginx on loopback, concurrency {args.concurrency}, "
        f"{args.seconds}s per run, median of {args.repeats}"
    )
    print(f"{'generator':<34}{'req/s':>10}{'req per CPU-s':>16}")
    for name, label in (
        ("wrk", "wrk (C, ceiling)"),
        ("locust", "plain Locust FastHttpUser"),
        ("benchctl", "benchctl engine (records all)"),
    ):
        print(
            f"{label:<34}{median(results[name], 'rps'):>10,.0f}"
            f"{median(results[name], 'per_cpu_s'):>16,.0f}"
        )
    whole = median(results["benchctl"], "per_cpu_s_whole")
    print(f"{'benchctl whole command':<34}{'':>10}{whole:>16,.0f}  (incl. CLI, merge, summary)")
    ratio = median(results["benchctl"], "per_cpu_s") / median(results["locust"], "per_cpu_s")
    print(
        f"\nbenchctl / plain Locust (req per CPU-s): {ratio:.2f}  "
        f"(goal >= 0.90: recording costs at most 10%) {'PASS' if ratio >= 0.9 else 'MISS'}"
    )
    print(
        f"benchctl / wrk (req per CPU-s): "
        f"{median(results['benchctl'], 'per_cpu_s') / median(results['wrk'], 'per_cpu_s'):.2f}"
    )
    scale = median(results["benchctl-2w"], "rps") / median(results["benchctl-1w"], "rps")
    print(
        f"2 workers / 1 worker (req/s at concurrency {2 * args.concurrency}): {scale:.2f}  "
        f"(goal >= 1.7) {'PASS' if scale >= 1.7 else 'MISS'}"
    )
    on = median(results["telemetry-on"], "per_cpu_s")
    off = median(results["telemetry-off"], "per_cpu_s")
    print(
        f"samplers on / off (req per generator CPU-s): {on:,.0f} / {off:,.0f} = {on / off:.3f}"
        f"  (goal: at most 3% lower) {'PASS' if on / off >= 0.97 else 'MISS'}"
    )


if __name__ == "__main__":
    sys.exit(main())
