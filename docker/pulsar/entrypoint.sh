#!/bin/sh
# Writes Pulsar's configuration from the environment (the token never lives in the image), then starts Pulsar.
set -eu
: "${PULSAR_PRIVATE_TOKEN:?set PULSAR_PRIVATE_TOKEN}"
: "${PULSAR_CONCURRENT_JOBS:=4}"
mkdir -p /var/lib/pulsar/persisted "$PULSAR_STAGING_DIRECTORY"
sed -e "s|\${PULSAR_PRIVATE_TOKEN}|$PULSAR_PRIVATE_TOKEN|" \
    -e "s|\${PULSAR_STAGING_DIRECTORY}|$PULSAR_STAGING_DIRECTORY|" \
    -e "s|\${PULSAR_CONCURRENT_JOBS}|$PULSAR_CONCURRENT_JOBS|" \
    /etc/pulsar/app.yml.template > /var/lib/pulsar/app.yml
cp /etc/pulsar/server.ini /var/lib/pulsar/server.ini
cd /var/lib/pulsar
exec pulsar-serve /var/lib/pulsar/server.ini
