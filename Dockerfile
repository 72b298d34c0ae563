FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml constraints.txt ./
COPY . .
# The wheel carries templates, static files, migrations and compiled translations (setup.py).
RUN pip install --no-cache-dir -c constraints.txt .
RUN useradd --system --home /var/lib/incident-service incident
USER incident
