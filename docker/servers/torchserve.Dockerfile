# TorchServe serving benchctl's reference MLP: the .mar is archived at build time by
# make_torchserve_mar.py, i.e. by the same code as `benchctl run --target torchserve --launch`
# (servers/torchserve_handler.py + refmodel.py), and TorchServe runs with the launcher's pins
# (read from launch_torchserve.py) on Python 3.11 + Java 17: the official pytorch/torchserve
# images are built with Python 3.9, older than refmodel.py needs (itertools.pairwise).
# Inference 8080, management 8081, metrics 8082, gRPC 7070/7071. Token auth is off.
#
#   docker build -f docker/servers/torchserve.Dockerfile -t benchctl-torchserve:local \
#       --build-arg WORKERS=2 .

# Build arguments: PYTHON_IMAGE, EXTRA_CA_CERTS (PEM text of extra CA certificates for pip,
# e.g. a TLS-intercepting proxy's). No `# syntax=` line: it makes BuildKit pull a frontend
# from Docker Hub.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# benchctl's dependencies, from pyproject.toml alone (cached while that list is unchanged).
FROM ${PYTHON_IMAGE} AS requirements
WORKDIR /src
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /requirements.txt

FROM ${PYTHON_IMAGE} AS model-store
ARG EXTRA_CA_CERTS=""
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt
RUN if [ -n "${EXTRA_CA_CERTS}" ]; then \
        printf '%s\n' "${EXTRA_CA_CERTS}" > /usr/local/share/ca-certificates/benchctl-extra.crt \
        && update-ca-certificates; \
    fi
COPY --from=requirements /requirements.txt /benchctl-requirements.txt
COPY docker/servers/pins.py src/benchctl/targets/launch_torchserve.py /pins/
RUN python /pins/pins.py /pins/launch_torchserve.py TORCHSERVE_REQUIREMENTS > /requirements.txt \
    && grep '^torch-model-archiver==' /requirements.txt > /archiver.txt \
    && python -m venv /opt/archiver \
    && /opt/archiver/bin/python -m pip install --no-cache-dir --disable-pip-version-check \
        -r /benchctl-requirements.txt -r /archiver.txt
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src/ src/
COPY scenarios/ scenarios/
COPY targets/ targets/
COPY examples/ examples/
COPY docker/servers/make_torchserve_mar.py docker/servers/
RUN /opt/archiver/bin/python -m pip install --no-cache-dir --disable-pip-version-check --no-deps .
ARG WORKERS=1
ARG MAX_BATCH_SIZE=0
ARG BATCH_DELAY_MS=0
ARG REPEAT=1
# In a venv: its bin/ is where make_torchserve_mar.py looks for torch-model-archiver
# (sys.prefix; Debian's own python would put the script in /usr/local/bin instead).
RUN /opt/archiver/bin/python docker/servers/make_torchserve_mar.py /out \
        --model-store /home/model-server/model-store --workers "${WORKERS}" \
        --max-batch-size "${MAX_BATCH_SIZE}" --batch-delay-ms "${BATCH_DELAY_MS}" \
        --repeat "${REPEAT}"

FROM ${PYTHON_IMAGE}
ARG EXTRA_CA_CERTS=""
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt
RUN if [ -n "${EXTRA_CA_CERTS}" ]; then \
        printf '%s\n' "${EXTRA_CA_CERTS}" > /usr/local/share/ca-certificates/benchctl-extra.crt \
        && update-ca-certificates; \
    fi
# CPU wheels of torch (the default index has CUDA builds of several GB); empty: PyPI only.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless=17.* \
    && rm -rf /var/lib/apt/lists/*
COPY --from=model-store /requirements.txt /requirements.txt
# docker/wheels/*.whl (usually none) are offered to pip first, e.g. a CPU torch wheel where
# download.pytorch.org is out of reach (then also --build-arg TORCH_INDEX_URL= to skip it).
# Mounted, not copied: no layer keeps them. RUN --mount needs BuildKit (compose v2 uses it).
RUN --mount=type=bind,source=docker/wheels,target=/wheels \
    python -m pip install --no-cache-dir --disable-pip-version-check --find-links /wheels \
        ${TORCH_INDEX_URL:+--extra-index-url "${TORCH_INDEX_URL}"} -r /requirements.txt
RUN groupadd --gid 10001 model-server \
    && useradd --create-home --uid 10001 --gid 10001 model-server \
    && mkdir -p /home/model-server/tmp /home/model-server/logs \
    && chown -R 10001:10001 /home/model-server
COPY --from=model-store --chown=10001:10001 /out/ /home/model-server/
USER 10001:10001
WORKDIR /home/model-server
# TorchServe's own scratch (pid file, worker sockets) and logs stay in its home.
ENV TEMP=/home/model-server/tmp TMPDIR=/home/model-server/tmp \
    LOG_LOCATION=/home/model-server/logs METRICS_LOCATION=/home/model-server/logs
EXPOSE 8080 8081 8082 7070 7071
HEALTHCHECK --interval=5s --timeout=3s --start-period=60s --retries=12 \
    CMD ["python", "-c", "import urllib.request as u; assert b'READY' in u.urlopen('http://127.0.0.1:8081/models/mlp', timeout=2).read()"]
# Foreground: the container lives as long as TorchServe (Java under this launcher).
CMD ["torchserve", "--start", "--foreground", "--ncs", "--ts-config", "/home/model-server/config.properties", "--model-store", "/home/model-server/model-store", "--log-config", "/home/model-server/log4j2.xml"]
