# NVIDIA Triton (python backend) serving benchctl's reference MLP: the model repository is
# written at build time by make_triton_repo.py, i.e. by the same code as
# `benchctl run --target triton --launch` (config.pbtxt + triton_model.py + refmodel.py).
# HTTP (v2) on 8000, gRPC (v2) on 8001, Prometheus metrics on 8002.
#
#   docker build -f docker/servers/triton.Dockerfile -t benchctl-triton:local \
#       --build-arg INSTANCES=2 --build-arg MAX_BATCH_SIZE=8 --build-arg BATCH_DELAY_MS=2 .
#
# 24.10 is Triton 2.51.0, the version tested locally (nvidia-pytriton 0.7.0); its python
# backend runs Python 3.10 with numpy, which is all the model needs.

# Build arguments: PYTHON_IMAGE, EXTRA_CA_CERTS (PEM text of extra CA certificates for pip,
# e.g. a TLS-intercepting proxy's). No `# syntax=` line: it makes BuildKit pull a frontend
# from Docker Hub.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG TRITON_IMAGE=nvcr.io/nvidia/tritonserver:24.10-py3

FROM ${PYTHON_IMAGE} AS repository
ARG EXTRA_CA_CERTS=""
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt
RUN if [ -n "${EXTRA_CA_CERTS}" ]; then \
        printf '%s\n' "${EXTRA_CA_CERTS}" > /usr/local/share/ca-certificates/benchctl-extra.crt \
        && update-ca-certificates; \
    fi
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src/ src/
COPY scenarios/ scenarios/
COPY targets/ targets/
COPY examples/ examples/
RUN python -m pip install --no-cache-dir --disable-pip-version-check .
COPY docker/servers/make_triton_repo.py docker/servers/
ARG INSTANCES=1
ARG MAX_BATCH_SIZE=0
ARG BATCH_DELAY_MS=0
ARG REPEAT=1
RUN python docker/servers/make_triton_repo.py /models --mount-path /models \
        --instances "${INSTANCES}" --max-batch-size "${MAX_BATCH_SIZE}" \
        --batch-delay-ms "${BATCH_DELAY_MS}" --repeat "${REPEAT}"

FROM ${TRITON_IMAGE}
COPY --from=repository /models /models
RUN groupadd --gid 10001 model && useradd --create-home --uid 10001 --gid 10001 model
USER 10001:10001
EXPOSE 8000 8001 8002
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=12 \
    CMD ["python3", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/v2/health/ready', timeout=2)"]
CMD ["tritonserver", "--model-repository=/models", "--metrics-config=summary_latencies=true", "--log-verbose=0", "--exit-timeout-secs=5"]
