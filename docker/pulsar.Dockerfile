# Galaxy Pulsar in REST mode (or, with PULSAR_MESSAGE_QUEUE_URL, in message-queue mode with kombu), able to start executor containers through the host's Docker (Docker-outside-of-Docker:
# the staging directory is mounted at the same path in this container and on the host, so that the containers it
# starts see the job files). The private token comes from the PULSAR_PRIVATE_TOKEN environment variable.

FROM python:3.11-slim-bookworm
RUN apt-get update \
    && apt-get install -y --no-install-recommends docker.io curl \
    && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir 'pulsar-app[web]==0.16.0' 'kombu==5.7.0'
COPY docker/pulsar/server.ini docker/pulsar/app.yml.template docker/pulsar/entrypoint.sh /etc/pulsar/
RUN chmod +x /etc/pulsar/entrypoint.sh
ENV PULSAR_STAGING_DIRECTORY=/tmp/tesp-pulsar/staging
EXPOSE 8913
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
    CMD ["sh", "-c", "curl -sf -o /dev/null \"http://127.0.0.1:8913/healthz?private_token=$PULSAR_PRIVATE_TOKEN\""]
ENTRYPOINT ["/etc/pulsar/entrypoint.sh"]
