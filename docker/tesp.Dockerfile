# TESP: a release build on the official Swift image, then a slim runtime with only libmongoc, libcurl, librabbitmq and the binary.
# Build from the repository root: docker build -f docker/tesp.Dockerfile .

FROM swift:6.2-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmongoc-dev libcurl4-openssl-dev librabbitmq-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so that source changes do not re-fetch them.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
RUN swift build -c release --product tesp --static-swift-stdlib \
    && cp "$(swift build -c release --show-bin-path)/tesp" /usr/local/bin/tesp

# Swagger UI's files, from the swagger-ui-bundle package (TESP serves them at /ui).
FROM python:3.11-slim-bookworm AS swagger-ui
RUN pip install --no-cache-dir 'swagger-ui-bundle==1.1.0' \
    && cp -r "$(python -c 'import swagger_ui_bundle; print(swagger_ui_bundle.swagger_ui_path)')" /swagger-ui

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmongoc-1.0-0 libcurl4 librabbitmq4 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --create-home tesp \
    && mkdir -p /var/lib/tesp/staging && chown tesp /var/lib/tesp/staging
COPY --from=build /usr/local/bin/tesp /usr/local/bin/tesp
COPY --from=swagger-ui /swagger-ui /usr/share/tesp/swagger-ui
COPY settings.toml /etc/tesp/settings.toml
ENV TESP_CONFIG=/etc/tesp/settings.toml \
    TESP_PROFILE=dev-docker \
    TESP_SERVER__SWAGGER_UI_DIR=/usr/share/tesp/swagger-ui \
    TESP_TRANSFER__STAGING_DIRECTORY=/var/lib/tesp/staging
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
    CMD ["curl", "-sf", "-o", "/dev/null", "http://127.0.0.1:8000/ga4gh/tes/v1/service-info"]
ENTRYPOINT ["tesp"]
CMD ["serve"]
