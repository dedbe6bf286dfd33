# KServe ModelServer serving benchctl's reference MLP: the same kserve_server.py and
# refmodel.py as `benchctl run --launch`, the same pins (read from launch.py), bound to
# $BENCHCTL_BIND_HOST (0.0.0.0 here; set 127.0.0.1 with host networking) by kserve_entry.py.
# REST (v1 + v2) and /metrics on 8080, v2 gRPC on 8081 (change with --http-port/--grpc-port).
#
#   docker build -f docker/servers/kserve.Dockerfile -t benchctl-kserve:local .
#   docker run -p 127.0.0.1:8080:8080 benchctl-kserve:local --workers 2 --repeat 40
#   docker run --network host -e BENCHCTL_BIND_HOST=127.0.0.1 benchctl-kserve:local
#
# Build arguments: PYTHON_IMAGE, EXTRA_CA_CERTS (PEM text of extra CA certificates for pip).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS pins
WORKDIR /src
COPY docker/servers/pins.py src/benchctl/targets/launch.py ./
RUN python pins.py launch.py KSERVE_REQUIREMENTS > /requirements.txt

FROM ${PYTHON_IMAGE}
ARG EXTRA_CA_CERTS=""
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt BENCHCTL_BIND_HOST=0.0.0.0
RUN if [ -n "${EXTRA_CA_CERTS}" ]; then \
        printf '%s\n' "${EXTRA_CA_CERTS}" > /usr/local/share/ca-certificates/benchctl-extra.crt \
        && update-ca-certificates; \
    fi
COPY --from=pins /requirements.txt /app/requirements.txt
RUN python -m pip install --no-cache-dir --disable-pip-version-check -r /app/requirements.txt
# kserve_server.py finds refmodel.py in its parent folder: keep the package's layout.
COPY src/benchctl/targets/refmodel.py /app/targets/refmodel.py
COPY src/benchctl/targets/servers/kserve_server.py /app/targets/servers/kserve_server.py
COPY docker/servers/kserve_entry.py /app/kserve_entry.py
RUN groupadd --gid 10001 model && useradd --create-home --uid 10001 --gid 10001 model
USER 10001:10001
WORKDIR /home/model
EXPOSE 8080 8081
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=12 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8080/v2/health/ready', timeout=2)"]
ENTRYPOINT ["python", "/app/kserve_entry.py", "--http-port", "8080", "--grpc-port", "8081"]
CMD ["--model-name", "mlp", "--workers", "1"]
