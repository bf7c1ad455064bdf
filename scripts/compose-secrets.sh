#!/usr/bin/env bash
# Creates the secret files docker-compose.yml mounts (under .secrets/, never committed), each only if
# it is missing, so running it again keeps the values you have. Values are never printed.
set -euo pipefail

cd "$(dirname "$0")/.."
umask 077
mkdir -p .secrets

random() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; }

create() {
  local name=$1 value=$2
  if [[ -s ".secrets/$name" ]]; then
    echo "kept    .secrets/$name"
  else
    printf '%s\n' "$value" >".secrets/$name"
    echo "created .secrets/$name"
  fi
}

# Grafana's admin password (user admin).
create grafana-admin-password "$(random)"
# The bearer token Alertmanager sends to toilless serve.
create toilless-webhook-token "$(random)"
# Put your Slack incoming-webhook URL here; `.invalid` never resolves, so nothing is sent until then.
create slack-webhook-url "https://slack-webhook.invalid/"
