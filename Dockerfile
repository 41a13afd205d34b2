# The project image. The code location (gRPC server), the webserver and the daemon all run from it;
# docker-compose.yml starts each with its own command. Build context: the repository root.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DAGSTER_HOME=/opt/dagster/home \
    CREATIVE_ASSETS_BRAND_KITS=/opt/dagster/app/brand_kits

# Pillow's wheels shape Arabic/Hebrew/Indic text through raqm, which loads the system FriBiDi.
# PyICU builds from its sdist against the system ICU (headers, pkg-config, a C++ compiler).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libfribidi0 libicu-dev pkg-config g++ \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 dagster \
    && useradd --system --uid 10001 --gid dagster --create-home --home-dir /home/dagster \
       --shell /usr/sbin/nologin dagster

WORKDIR /opt/dagster/app

# The dependencies first, from pyproject.toml alone, so a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
       > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The project itself (no test extras). brand_kits/ and deploy/workspace.yaml stay in the work dir:
# CREATIVE_ASSETS_BRAND_KITS points at the kits, the webserver and daemon read deploy/workspace.yaml.
COPY . .
RUN pip install . \
    && rm -rf build ./*.egg-info \
    && python -c "from PIL import features; import sys; sys.exit(0 if features.check('raqm') else 'Pillow has no raqm text layout: is libfribidi0 installed?')"

# The Dagster instance: the project's dagster.yaml (PostgreSQL via DAGSTER_POSTGRES_URL). storage/
# (compute logs) is a volume shared by usercode, webserver and daemon in docker-compose.yml.
COPY dagster.yaml ${DAGSTER_HOME}/dagster.yaml
RUN mkdir -p ${DAGSTER_HOME}/storage \
    && chown -R dagster:dagster ${DAGSTER_HOME}

USER dagster
EXPOSE 3000 4000
CMD ["dagster", "api", "grpc", "-h", "0.0.0.0", "-p", "4000", "-m", "creative_assets.definitions"]
