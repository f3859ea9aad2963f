# syntax=docker/dockerfile:1
#
# Image for every Airflow component of the egov pipeline (and the demo portal simulator).
#
#   docker compose build            # what docker-compose.yaml does
#   docker build -t egov-airflow:3.3.2-python3.11 .
#
# It extends the official image the way https://airflow.apache.org/docs/docker-stack/build.html
# recommends ("add-requirement-packages"): install as the `airflow` user and pin
# apache-airflow to the base image's version in the same pip call, so pip cannot up- or
# downgrade Airflow while resolving our requirements.
#
# Build context: this repository. Only requirements.txt, constraints.txt (if present),
# pyproject.toml and include/ are copied; dags/ and plugins/ are mounted by docker-compose.yaml.

ARG AIRFLOW_BASE_IMAGE=apache/airflow:3.3.2-python3.11
FROM ${AIRFLOW_BASE_IMAGE}

# celery 5.7.0 breaks Airflow's CeleryExecutor ("cannot import name 'retry' from
# 'celery.backends.database'"); 5.6.3 ran egov_nightly end to end with Redis and PostgreSQL.
ARG CELERY_VERSION=5.6.3

# GX phones home unless told not to; set for every process, including the simulator.
ENV GX_ANALYTICS_ENABLED=False

USER airflow

# 1. Third-party dependencies, resolved against the project lock when there is one.
#    `constraints.tx[t]` is a glob so that the COPY still works when the lock is absent.
COPY --chown=airflow:0 requirements.txt constraints.tx[t] /tmp/egov-build/
RUN set -eu; \
    cd /tmp/egov-build; \
    constraint_args=""; \
    if [ -f constraints.txt ]; then \
        # A pip-freeze lock may contain the project itself as an editable or file:// line
        # ("-e /work/main", "egov-pipeline @ file://..."), which pip refuses as constraints,
        # and the freezing machine's pip/setuptools/wheel, which are the image's business.
        grep -v -i -E '^[[:space:]]*(-e|--editable)[[:space:]]|^[[:space:]]*#|[[:space:]]@[[:space:]]|^(egov[-_]pipeline|pip|setuptools|wheel)==' \
            constraints.txt > constraints.pinned.txt || true; \
        constraint_args="--constraint constraints.pinned.txt"; \
    fi; \
    pip install --no-cache-dir \
        "apache-airflow==${AIRFLOW_VERSION}" \
        "celery==${CELERY_VERSION}" \
        -r requirements.txt \
        ${constraint_args}; \
    # The base image ships ~80 providers we do not use; a conflict among those must not
    # block the build, but it must be visible in the build log.
    pip check || echo "WARNING: pip check reports conflicts (see above); review before release."; \
    rm -rf /tmp/egov-build

# 2. The project package `egov` (include/egov), installed editable at /opt/airflow/include,
#    the path docker-compose.yaml bind-mounts ./include onto: setuptools writes a static .pth
#    pointing at /opt/airflow/include, so the mounted code is what runs, and without the mount
#    the copy baked in here runs. --no-deps: the dependencies were installed above.
COPY --chown=airflow:0 pyproject.toml /opt/airflow/pyproject.toml
COPY --chown=airflow:0 include/ /opt/airflow/include/
RUN set -eu; \
    pip install --no-cache-dir --no-deps -e /opt/airflow; \
    # Raw zone and demo output; group 0 writable so any AIRFLOW_UID (with GID 0) can write.
    # A new named volume mounted here inherits this ownership.
    mkdir -p /opt/airflow/raw /opt/airflow/var; \
    chmod -R g+rwX /opt/airflow/raw /opt/airflow/var /opt/airflow/include; \
    python -c "import celery, egov; \
assert celery.__version__ == '${CELERY_VERSION}', celery.__version__; \
print('egov from', egov.__file__, '| celery', celery.__version__)"
