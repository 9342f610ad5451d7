# syntax=docker/dockerfile:1
#
# The lernode node, for joining an external chain (Besu QBFT, or any EVM JSON-RPC endpoint).
#
# Only the Python package is installed. The contracts are not compiled here: the wheel ships the
# committed artifacts from contracts/build (pyproject's force-include), so neither solc nor
# Node.js is needed at run time. The embedded anvil chain is not available in this image either:
# a container always sets LERNODE_RPC_URL (docker-compose.yml points it at a Besu validator, or
# at the anvil service of the `dev` profile).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# -- build: wheels for lernode and every dependency, so the runtime stage needs no compiler -----
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY contracts/build ./contracts/build
COPY node ./node
RUN pip wheel --wheel-dir /wheels .

# -- runtime ------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LERNODE_DATA_DIR=/var/lib/lernode \
    LERNODE_HOST=0.0.0.0 \
    LERNODE_PORT=8000

RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels lernode

# An unprivileged user with a fixed uid, owning the data directory *in the image*: Docker copies
# that ownership into a fresh named volume mounted there, so the node can write its keys and
# deployment.json without the container running as root.
RUN groupadd --system --gid 10001 lernode \
    && useradd --system --uid 10001 --gid lernode --home-dir /var/lib/lernode \
       --shell /usr/sbin/nologin lernode \
    && install -d -o lernode -g lernode -m 0700 /var/lib/lernode

COPY --chmod=0755 deploy/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh

USER lernode
WORKDIR /var/lib/lernode
VOLUME ["/var/lib/lernode"]
EXPOSE 8000

# /health answers 200 while the process lives (its body says "degraded" when the chain or the
# database is unreachable); an HTTP error or no answer at all is what makes the container unhealthy.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=5 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('LERNODE_PORT', '8000'), timeout=4)"]

ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["lernode", "up"]
