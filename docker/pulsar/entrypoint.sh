#!/bin/sh
# Writes Pulsar's configuration from the environment (no secret lives in the image), then starts Pulsar: over REST
# with PULSAR_PRIVATE_TOKEN, or in message-queue mode (no web server) with PULSAR_MESSAGE_QUEUE_URL.
set -eu
: "${PULSAR_CONCURRENT_JOBS:=4}"
if [ -z "${PULSAR_MESSAGE_QUEUE_URL:-}" ]; then
    : "${PULSAR_PRIVATE_TOKEN:?set PULSAR_PRIVATE_TOKEN (REST) or PULSAR_MESSAGE_QUEUE_URL (message queue)}"
fi
: "${PULSAR_PRIVATE_TOKEN:=}"
mkdir -p /var/lib/pulsar/persisted "$PULSAR_STAGING_DIRECTORY"
sed -e "s|\${PULSAR_PRIVATE_TOKEN}|$PULSAR_PRIVATE_TOKEN|" \
    -e "s|\${PULSAR_STAGING_DIRECTORY}|$PULSAR_STAGING_DIRECTORY|" \
    -e "s|\${PULSAR_CONCURRENT_JOBS}|$PULSAR_CONCURRENT_JOBS|" \
    /etc/pulsar/app.yml.template > /var/lib/pulsar/app.yml
cd /var/lib/pulsar
if [ -n "${PULSAR_MESSAGE_QUEUE_URL:-}" ]; then
    sed -i '/^private_token:/d' app.yml
    printf 'message_queue_url: %s\n' "$PULSAR_MESSAGE_QUEUE_URL" >> app.yml
    chmod 600 app.yml
    exec pulsar-main -c /var/lib/pulsar
fi
cp /etc/pulsar/server.ini /var/lib/pulsar/server.ini
exec pulsar-serve /var/lib/pulsar/server.ini
