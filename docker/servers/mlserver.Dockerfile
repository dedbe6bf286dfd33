# Seldon MLServer serving benchctl's reference MLP: the server folder is written at build time
# by make_mlserver_folder.py, i.e. by the same code as `benchctl run --target mlserver --launch`
# (settings.json, model-settings.json, servers/mlserver_runtime.py + refmodel.py), and MLServer
# runs with the launcher's pins (read from launch_mlserver.py). Host and ports come from the
# environment: MLSERVER_HOST (0.0.0.0 here; 127.0.0.1 with host networking),
# MLSERVER_HTTP_PORT 8080 (v2 REST), MLSERVER_GRPC_PORT 8081, MLSERVER_METRICS_PORT 8082.
#
#   docker build -f docker/servers/mlserver.Dockerfile -t benchctl-mlserver:local \
#       --build-arg WORKERS=2 .
#
# Build arguments: PYTHON_IMAGE, EXTRA_CA_CERTS (PEM text of extra CA certificates for pip,
# e.g. a TLS-intercepting proxy's). No `# syntax=` line: it makes BuildKit pull a frontend
# from Docker Hub.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# benchctl's dependencies, from pyproject.toml alone (cached while that list is unchanged).
FROM ${PYTHON_IMAGE} AS requirements
WORKDIR /src
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /requirements.txt

FROM ${PYTHON_IMAGE} AS folder
ARG EXTRA_CA_CERTS=""
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt
RUN if [ -n "${EXTRA_CA_CERTS}" ]; then \
        printf '%s\n' "${EXTRA_CA_CERTS}" > /usr/local/share/ca-certificates/benchctl-extra.crt \
        && update-ca-certificates; \
    fi
COPY --from=requirements /requirements.txt /requirements.txt
RUN python -m venv /opt/benchctl \
    && /opt/benchctl/bin/python -m pip install --no-cache-dir --disable-pip-version-check \
        -r /requirements.txt
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src/ src/
COPY scenarios/ scenarios/
COPY targets/ targets/
COPY examples/ examples/
COPY docker/servers/pins.py docker/servers/make_mlserver_folder.py docker/servers/
RUN /opt/benchctl/bin/python -m pip install --no-cache-dir --disable-pip-version-check --no-deps . \
    && python docker/servers/pins.py src/benchctl/targets/launch_mlserver.py \
        MLSERVER_REQUIREMENTS > /mlserver-requirements.txt
ARG WORKERS=1
ARG REPEAT=1
RUN /opt/benchctl/bin/python docker/servers/make_mlserver_folder.py /models \
        --mount-path /models --scratch /tmp/mlserver --workers "${WORKERS}" --repeat "${REPEAT}"

FROM ${PYTHON_IMAGE}
ARG EXTRA_CA_CERTS=""
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    MLSERVER_HOST=0.0.0.0 MLSERVER_HTTP_PORT=8080 MLSERVER_GRPC_PORT=8081 \
    MLSERVER_METRICS_PORT=8082
RUN if [ -n "${EXTRA_CA_CERTS}" ]; then \
        printf '%s\n' "${EXTRA_CA_CERTS}" > /usr/local/share/ca-certificates/benchctl-extra.crt \
        && update-ca-certificates; \
    fi
COPY --from=folder /mlserver-requirements.txt /requirements.txt
RUN python -m pip install --no-cache-dir --disable-pip-version-check -r /requirements.txt
COPY --from=folder /models /models
RUN groupadd --gid 10001 model && useradd --create-home --uid 10001 --gid 10001 model
USER 10001:10001
WORKDIR /home/model
EXPOSE 8080 8081 8082
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=12 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen(f\"http://127.0.0.1:{os.environ['MLSERVER_HTTP_PORT']}/v2/models/mlp/ready\", timeout=2)"]
CMD ["mlserver", "start", "/models"]
