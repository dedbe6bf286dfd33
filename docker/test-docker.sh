#!/usr/bin/env bash
# make test-docker: build the images and run docker/compose.yaml end to end, on loopback only.
#
#  1. installs what is missing (root, apt): docker.io; debootstrap when a base image must be
#     made; the Compose v2 and buildx CLI plugins from Debian trixie's packages (static
#     binaries: a private sources list, `apt-get download`, `dpkg -x`, copied into
#     $DOCKER_CONFIG/cli-plugins) when `docker compose` is missing or older than 2.24.4;
#  2. starts dockerd when none answers, and stops that one (by its PID) at the end, also on
#     failure or Ctrl-C;
#  3. base image: python:3.11-slim-bookworm when it can be pulled, else a local Python 3.11 base
#     made once with debootstrap + `docker import` (cached: kept while the image exists);
#  4. builds (nice) the benchctl, KServe, MLServer and TorchServe images through compose;
#     Triton's and TF-Serving's bases come from nvcr.io and Docker Hub and are not built (see
#     docs/scaling.md). Docker's layer cache makes a rebuild of unchanged sources take seconds;
#  5. compose up with compose.hostnet.yaml (every service on the host network, servers bound
#     to 127.0.0.1), a steady load from the master with two worker containers against KServe,
#     short loads against MLServer and TorchServe, then checks: every request sent is a row,
#     all succeeded, both workers sent, and each server's own /metrics count equals the rows;
#     nothing listens on our ports beyond 127.0.0.1;
#  6. tears down the compose project (containers, networks, volumes). Images are kept.
#
# Any failure is one line on stderr starting "test-docker: FAILED:", exit 1; details (build and
# container logs) are in $BENCHCTL_DOCKER_STATE/logs. TorchServe is skipped, and said so, only
# when pip finds no distribution of its packages. Environment: BENCHCTL_DOCKER_STATE (default
# ~/.cache/benchctl/docker), PYTHON_IMAGE (a base to use instead), EXTRA_CA_CERTS (PEM text;
# default: /usr/local/share/ca-certificates/*.crt when there are any), TORCH_WHEELS (a folder
# of wheels linked into docker/wheels/ for the TorchServe build; default: $PIP_FIND_LINKS),
# TORCH_INDEX_URL (default: the CPU index, or none when download.pytorch.org does not resolve).
set -Eeuo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${BENCHCTL_DOCKER_STATE:-${HOME:-/root}/.cache/benchctl/docker}
LOGS=$STATE/logs
PROJECT=benchctl-test
LOCAL_BASE=benchctl-local/python:3.11-bookworm
REGISTRY_BASE=python:3.11-slim-bookworm
MIN_COMPOSE=2.24.4   # !reset / !override in compose.hostnet.yaml
PORTS=(18080 18081 18090 18091 18092 17070 17071 18100 18101 18102 15557)   # compose.hostnet.yaml
RATE=20              # req/s; the KServe load lasts DURATION (a few seconds, 2 cores shared)
DURATION=5
mkdir -p "$LOGS"

STARTED_DOCKERD=""
COMPOSE_UP=""
LINKED=()   # wheels linked into docker/wheels/ for the TorchServe build, removed at the end
T0=$(date +%s)

fail() {
    echo "test-docker: FAILED: $*" >&2
    exit 1
}
note() { echo "test-docker: $*"; }

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $COMPOSE_UP ]]; then
        compose logs --no-color >"$LOGS/compose.log" 2>&1 || true
        compose down --volumes --remove-orphans --timeout 10 >>"$LOGS/down.log" 2>&1 \
            || echo "test-docker: warning: compose down failed (see $LOGS/down.log)" >&2
    fi
    if ((${#LINKED[@]})); then rm -f "${LINKED[@]}"; fi
    # Images this test built before and has since replaced (untagged); the current ones stay.
    docker image prune -f --filter "label=com.docker.compose.project=$PROJECT" >/dev/null 2>&1 || true
    if [[ -n $STARTED_DOCKERD ]]; then
        kill -TERM "$STARTED_DOCKERD" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$STARTED_DOCKERD" 2>/dev/null || break; sleep 0.2; done
        if kill -0 "$STARTED_DOCKERD" 2>/dev/null; then
            kill -KILL "$STARTED_DOCKERD" 2>/dev/null || true
        fi
        note "stopped the dockerd it started (pid $STARTED_DOCKERD)"
    fi
    note "wall time $(($(date +%s) - T0)) s"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

compose() {
    docker compose -p "$PROJECT" -f "$REPO/docker/compose.yaml" \
        -f "$REPO/docker/compose.hostnet.yaml" "$@"
}

version_at_least() { # version_at_least HAVE WANT
    [[ $(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1) == "$2" ]]
}

apt_install() {
    [[ $(id -u) == 0 ]] || fail "need root to apt-get install $* (or install it yourself)"
    note "apt-get install $*"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; } \
        >"$LOGS/apt.log" 2>&1 || fail "apt-get install $* failed (see $LOGS/apt.log)"
}

# --------------------------------------------------------------------------- 1. tools
command -v dockerd >/dev/null || apt_install docker.io
command -v docker >/dev/null || fail "no docker client after installing docker.io"

compose_version() { docker compose version --short 2>/dev/null | sed 's/^v//; s/[-+].*//'; }
have=$(compose_version || true)
if [[ -z $have ]] || ! version_at_least "$have" "$MIN_COMPOSE" \
    || ! docker buildx version >/dev/null 2>&1; then
    export DOCKER_CONFIG=${DOCKER_CONFIG:-$STATE/docker-config}
    plugins=$DOCKER_CONFIG/cli-plugins
    if [[ ! -x $plugins/docker-compose || ! -x $plugins/docker-buildx ]]; then
        note "Compose v2 + buildx plugins from Debian trixie into $plugins"
        apt_dir=$STATE/trixie
        mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs" "$plugins"
        keyring=/usr/share/keyrings/debian-archive-keyring.gpg
        [[ -f $keyring ]] || apt_install debian-archive-keyring
        echo "deb [signed-by=$keyring] http://deb.debian.org/debian trixie main" \
            >"$apt_dir/sources.list"
        apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
            -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
            -o Dir::State::status=/dev/null -o APT::Sandbox::User=root)
        (cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" update \
            && apt-get "${apt_opts[@]}" download docker-compose docker-buildx) \
            >"$LOGS/plugins.log" 2>&1 \
            || fail "could not download trixie's docker-compose/docker-buildx (see $LOGS/plugins.log)"
        rm -rf "$apt_dir/x"
        for deb in "$apt_dir"/debs/*.deb; do dpkg -x "$deb" "$apt_dir/x"; done
        cp "$apt_dir"/x/usr/libexec/docker/cli-plugins/docker-{compose,buildx} "$plugins/"
    fi
    have=$(compose_version || true)
    [[ -n $have ]] && version_at_least "$have" "$MIN_COMPOSE" \
        || fail "docker compose is '${have:-missing}', need >= $MIN_COMPOSE"
fi

# --------------------------------------------------------------------------- 2. engine
if ! docker info >/dev/null 2>&1; then
    [[ $(id -u) == 0 ]] || fail "no Docker engine answers and starting dockerd needs root"
    note "starting dockerd (log: $LOGS/dockerd.log)"
    rm -f "$STATE/dockerd.pid"
    setsid dockerd --storage-driver=overlay2 --pidfile "$STATE/dockerd.pid" \
        >"$LOGS/dockerd.log" 2>&1 </dev/null &
    STARTED_DOCKERD=$!
    for _ in $(seq 1 150); do
        docker info >/dev/null 2>&1 && break
        kill -0 "$STARTED_DOCKERD" 2>/dev/null || {
            STARTED_DOCKERD=""
            fail "dockerd exited at start: $(grep -v '^\s*$' "$LOGS/dockerd.log" | tail -n1)"
        }
        sleep 0.2
    done
    docker info >/dev/null 2>&1 \
        || fail "dockerd did not answer within 30 s: $(tail -n1 "$LOGS/dockerd.log")"
    STARTED_DOCKERD=$(cat "$STATE/dockerd.pid")   # dockerd's own PID, whatever started it
fi
note "engine $(docker version --format '{{.Server.Version}}'), compose $(compose_version)"

# --------------------------------------------------------------------------- 3. base image
if [[ -z ${PYTHON_IMAGE:-} ]]; then
    if docker image inspect "$REGISTRY_BASE" >/dev/null 2>&1 \
        || timeout 120 docker pull -q "$REGISTRY_BASE" >"$LOGS/pull.log" 2>&1; then
        PYTHON_IMAGE=$REGISTRY_BASE
    else
        PYTHON_IMAGE=$LOCAL_BASE
        note "cannot pull $REGISTRY_BASE ($(tail -n1 "$LOGS/pull.log")): using $LOCAL_BASE"
        if ! docker image inspect "$LOCAL_BASE" >/dev/null 2>&1; then
            command -v debootstrap >/dev/null || apt_install debootstrap
            # The host's own Debian mirror (one-line or deb822 sources; comments skipped).
            mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
                /etc/apt/sources.list.d/*.sources 2>/dev/null \
                | grep -E '^[[:space:]]*(deb|URIs:)[[:space:]]' | grep -oE 'https?://[^ ]+' \
                | grep -v security | head -n1 || true)
            mirror=${mirror:-http://deb.debian.org/debian}
            rootfs=$(mktemp -d "$STATE/rootfs.XXXXXX")
            note "debootstrap bookworm from $mirror (about a minute)"
            nice debootstrap --variant=minbase \
                --include=python3,python3-venv,python3-pip,python-is-python3,ca-certificates \
                bookworm "$rootfs" "$mirror" >"$LOGS/debootstrap.log" 2>&1 \
                || { rm -rf "$rootfs"; fail "debootstrap failed (see $LOGS/debootstrap.log)"; }
            # pip may install system-wide in an image; no package caches in the layer.
            rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED
            rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
            tar -C "$rootfs" -c . | docker import --change 'ENV LANG=C.UTF-8' \
                --change 'CMD ["python3"]' - "$LOCAL_BASE" >/dev/null \
                || { rm -rf "$rootfs"; fail "docker import of the debootstrap base failed"; }
            rm -rf "$rootfs"
        fi
    fi
fi
export PYTHON_IMAGE
if [[ -z ${EXTRA_CA_CERTS:-} ]] && compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    EXTRA_CA_CERTS=$(cat /usr/local/share/ca-certificates/*.crt)
fi
export EXTRA_CA_CERTS=${EXTRA_CA_CERTS:-}
# TorchServe needs torch: a CPU wheel from download.pytorch.org, or from local wheels (pip's
# own find-links folder here) when that index cannot even be resolved.
if [[ -z ${TORCH_WHEELS:-} && -d ${PIP_FIND_LINKS:-} ]]; then TORCH_WHEELS=$PIP_FIND_LINKS; fi
if [[ -n ${TORCH_WHEELS:-} ]]; then   # into the build context (docker/wheels/, git-ignored)
    for wheel in "$TORCH_WHEELS"/*.whl; do
        [[ -e $wheel ]] || continue
        link=$REPO/docker/wheels/$(basename "$wheel")
        [[ -e $link ]] && continue
        ln "$wheel" "$link" 2>/dev/null || cp "$wheel" "$link"
        LINKED+=("$link")
    done
fi
if [[ -z ${TORCH_INDEX_URL+set} ]] && ! getent hosts download.pytorch.org >/dev/null; then
    export TORCH_INDEX_URL=""
    note "download.pytorch.org does not resolve: torch from PyPI or docker/wheels/ (${#LINKED[@]} linked from ${TORCH_WHEELS:-nowhere})"
fi

# --------------------------------------------------------------------------- 4. images
# Leftovers of an interrupted earlier run go first (same project name).
compose down --volumes --remove-orphans --timeout 5 >"$LOGS/down.log" 2>&1 || true
python3 - "${PORTS[@]}" <<'EOF' || fail "a port that compose.hostnet.yaml needs is taken on 127.0.0.1"
import socket, sys
busy = []
for port in map(int, sys.argv[1:]):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is not "taken"
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            busy.append(port)
if busy:
    sys.stderr.write(f"busy: {busy}\n")
    sys.exit(1)
EOF
SERVERS=(kserve mlserver torchserve)
SKIPPED=""
for service in master kserve mlserver torchserve; do
    t=$(date +%s)
    log=$LOGS/build-$service.log
    if ! nice -n 10 docker compose -p "$PROJECT" -f "$REPO/docker/compose.yaml" \
        -f "$REPO/docker/compose.hostnet.yaml" --progress plain build "$service" >"$log" 2>&1; then
        why=$(grep -m1 -E 'No matching distribution|Could not find a version' "$log" || true)
        if [[ $service == torchserve && -n $why ]]; then   # "if its packages install"
            SKIPPED="TorchServe NOT tested: its packages do not install here (${why#*| })"
            note "$SKIPPED"
            SERVERS=(kserve mlserver)
            continue
        fi
        fail "building the $service image failed: $(grep -m1 -E 'ERROR|error:' "$log" || tail -n1 "$log")"
    fi
    note "built the $service image on $PYTHON_IMAGE in $(($(date +%s) - t)) s"
done

# --------------------------------------------------------------------------- 5. compose up, load
COMPOSE_UP=1
timeout 300 docker compose -p "$PROJECT" -f "$REPO/docker/compose.yaml" \
    -f "$REPO/docker/compose.hostnet.yaml" up -d --wait --no-build \
    "${SERVERS[@]}" master worker >"$LOGS/up.log" 2>&1 \
    || fail "compose up --wait failed: $(tail -n1 "$LOGS/up.log")"
note "compose up: ${SERVERS[*]} (healthy), master, 2 workers"

# Every listener on our ports is on 127.0.0.1 (IPv4, or IPv4-mapped IPv6), none on 0.0.0.0/::.
python3 - "${PORTS[@]}" <<'EOF' || fail "a server listens beyond 127.0.0.1 with host networking"
import sys
ports = set(map(int, sys.argv[1:]))
loopback = {"0100007F", "0000000000000000FFFF00000100007F"}  # /proc/net: little-endian hex
wrong = []
for table in ("/proc/net/tcp", "/proc/net/tcp6"):
    for line in open(table).read().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, port = local.split(":")
        if state == "0A" and int(port, 16) in ports and address not in loopback:
            wrong.append((table, address, int(port, 16)))
if wrong:
    sys.stderr.write(f"not loopback: {wrong}\n")
    sys.exit(1)
EOF

counter() { # counter URL REGEX: the sum of matching Prometheus samples (0 when absent)
    python3 - "$1" "$2" <<'EOF'
import re, sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
text = opener.open(sys.argv[1], timeout=10).read().decode()
print(int(sum(float(l.rsplit(" ", 1)[1]) for l in text.splitlines() if re.match(sys.argv[2], l))))
EOF
}
KSERVE_COUNT='^request_predict_seconds_count\{model_name="mlp"\}'
TS_COUNT='^ts_inference_requests_total\{.*model_name="mlp"'
MLSERVER_COUNT='^model_infer_request_success_total\{model="mlp"'

check_run() { # check_run NAME SERVER_DELTA WORKERS PLANNED: run.json, requests.parquet, server
    compose exec -T master python - "$@" <<'EOF'
import glob, json, sys
import pyarrow.parquet as pq
name, server, workers, planned = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
(run,) = glob.glob(f"/work/runs/*-{name}")
info = json.load(open(f"{run}/run.json"))
table = pq.read_table(f"{run}/requests.parquet", columns=["ok", "worker"]).to_pydict()
rows, ok = len(table["ok"]), sum(table["ok"])
counts = info["counts"]
problems = []
if info["status"] != "completed":
    problems.append(f"status {info['status']}: {info.get('reason')}")
if not (counts["sent"] == counts["rows"] == rows and counts["dropped"] == 0):
    problems.append(f"sent {counts['sent']}, dropped {counts['dropped']}, rows {rows}")
if ok != rows:
    problems.append(f"{rows - ok} of {rows} requests failed")
if server != rows:
    problems.append(f"server counted {server}, rows {rows}")
# Poisson arrivals: RATE x DURATION requests on average (100: sd 10; 20: sd 4.5), so half
# to one and a half times the plan is over 4 sd either way; an empty run fails here.
if not planned / 2 <= rows <= planned * 3 / 2:
    problems.append(f"{rows} rows for {planned} planned")
if len(set(table["worker"])) != workers:
    problems.append(f"rows from {sorted(set(table['worker']))}, expected {workers} workers")
if problems:
    sys.exit(f"{name}: " + "; ".join(problems))
print(f"{name}: {rows} requests sent = rows = ok = server count; workers {sorted(set(table['worker']))}")
EOF
}

# KServe: master + the two worker containers (Locust distributed mode over 127.0.0.1:15557).
before=$(counter http://127.0.0.1:18080/metrics "$KSERVE_COUNT") || fail "no KServe /metrics"
timeout 180 docker compose -p "$PROJECT" -f "$REPO/docker/compose.yaml" \
    -f "$REPO/docker/compose.hostnet.yaml" exec -T master benchctl run steady --target kserve \
    --rate "$RATE" --duration "${DURATION}s" --workers 0 --remote-workers 2 \
    --master-bind 127.0.0.1 --master-port 15557 >"$LOGS/run-kserve.log" 2>&1 \
    || fail "benchctl run against KServe failed: $(grep -v '^\s*$' "$LOGS/run-kserve.log" | tail -n1)"
after=$(counter http://127.0.0.1:18080/metrics "$KSERVE_COUNT") || fail "no KServe /metrics after the run"
result=$(check_run steady-kserve $((after - before)) 2 $((RATE * DURATION)) 2>&1) || fail "$(tail -n1 <<<"$result")"
note "$result"

short_run() { # short_run SERVICE TARGET METRICS_URL COUNT_REGEX: the master alone, 2 s at 10 req/s
    local before after result
    before=$(counter "$3" "$4") || fail "no $1 /metrics"
    timeout 120 docker compose -p "$PROJECT" -f "$REPO/docker/compose.yaml" \
        -f "$REPO/docker/compose.hostnet.yaml" exec -T master benchctl run steady \
        --target "$2" --rate 10 --duration 2s >"$LOGS/run-$1.log" 2>&1 \
        || fail "benchctl run against $1 failed: $(grep -v '^\s*$' "$LOGS/run-$1.log" | tail -n1)"
    after=$(counter "$3" "$4") || fail "no $1 /metrics after the run"
    result=$(check_run "steady-$2" $((after - before)) 1 20 2>&1) || fail "$(tail -n1 <<<"$result")"
    note "$result"
}

# MLServer and TorchServe: the master's own load process, 20 requests planned each.
short_run mlserver mlserver http://127.0.0.1:18102/metrics "$MLSERVER_COUNT"
if [[ -n $SKIPPED ]]; then
    note "PASSED without TorchServe ($SKIPPED; logs in $LOGS)"
    exit 0
fi
short_run torchserve torchserve http://127.0.0.1:18092/metrics "$TS_COUNT"

note "PASSED (images on $PYTHON_IMAGE; logs in $LOGS)"
