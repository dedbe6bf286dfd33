# TensorFlow Serving with benchctl's reference MLP as a SavedModel, built at image build time
# by make_savedmodel.py from refmodel.py's weights (checked against RefModel.predict).
# gRPC on 8500, REST (:predict) and Prometheus metrics
# (/monitoring/prometheus/metrics) on 8501. The image has no shell tools for a HEALTHCHECK.
#
#   docker build -f docker/servers/tfserving.Dockerfile -t benchctl-tfserving:local .
#   GPU: --build-arg TFSERVING_IMAGE=tensorflow/serving:2.18.0-gpu
#
# TF_VERSION must not be newer than the server: the SavedModel is built by that TensorFlow.

# Build arguments: PYTHON_IMAGE, EXTRA_CA_CERTS (PEM text of extra CA certificates for pip,
# e.g. a TLS-intercepting proxy's). No `# syntax=` line: it makes BuildKit pull a frontend
# from Docker Hub.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG TFSERVING_IMAGE=tensorflow/serving:2.18.0

FROM ${PYTHON_IMAGE} AS savedmodel
ARG EXTRA_CA_CERTS=""
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt
RUN if [ -n "${EXTRA_CA_CERTS}" ]; then \
        printf '%s\n' "${EXTRA_CA_CERTS}" > /usr/local/share/ca-certificates/benchctl-extra.crt \
        && update-ca-certificates; \
    fi
ARG TF_VERSION=2.18.0
RUN python -m pip install --no-cache-dir --disable-pip-version-check \
        "tensorflow-cpu==${TF_VERSION}"
WORKDIR /src
COPY src/benchctl/targets/refmodel.py src/benchctl/targets/refmodel.py
COPY docker/servers/make_savedmodel.py docker/servers/make_savedmodel.py
ARG REPEAT=1
RUN python docker/servers/make_savedmodel.py /models/mlp --version 1 --repeat "${REPEAT}" \
    && printf 'prometheus_config {\n  enable: true,\n  path: "/monitoring/prometheus/metrics"\n}\n' \
        > /models/monitoring.config

FROM ${TFSERVING_IMAGE}
COPY --from=savedmodel /models /models
RUN groupadd --gid 10001 model && useradd --create-home --uid 10001 --gid 10001 model
USER 10001:10001
ENV MODEL_NAME=mlp MODEL_BASE_PATH=/models
EXPOSE 8500 8501
# The image's entrypoint runs tensorflow_model_server --port=8500 --rest_api_port=8501
# --model_name=$MODEL_NAME --model_base_path=$MODEL_BASE_PATH/$MODEL_NAME "$@".
CMD ["--monitoring_config_file=/models/monitoring.config"]
