#!/bin/sh
# Entrypoint of the lernode image.
#
# Why it exists: the node reads its settings only from LERNODE_* environment variables (or a
# TOML file), but secrets should reach a container as files (compose/swarm secrets, Kubernetes
# secret volumes) so they never show up in `docker inspect`, in the compose file or in a shell
# history. This script turns every secret file named /run/secrets/lernode_<field> into the
# variable LERNODE_<FIELD> (e.g. lernode_key_passphrase -> LERNODE_KEY_PASSPHRASE), then execs
# the command ("lernode up" by default). Both a non-empty variable and a secret for the same
# field is a configuration error: silently preferring one would hide the mistake.
#
# Empty LERNODE_* variables are unset, so `VAR=` in an env file means "not configured" (the
# node's default) rather than "configured as the empty string".
set -eu

for name in $(env | sed -n 's/^\(LERNODE_[A-Z0-9_]*\)=$/\1/p'); do
    unset "$name"
done

# ENTRYPOINT_SECRETS_DIR only exists so tests can point the script at a temporary directory.
secrets_dir="${ENTRYPOINT_SECRETS_DIR:-/run/secrets}"
for secret in "$secrets_dir"/lernode_*; do
    [ -f "$secret" ] || continue
    name=$(basename "$secret" | tr '[:lower:]' '[:upper:]')
    case "$name" in
        *[!A-Z0-9_]*)
            echo "docker-entrypoint: ignoring secret with an unusable name: $secret" >&2
            continue
            ;;
    esac
    if [ -n "$(printenv "$name" || true)" ]; then
        echo "docker-entrypoint: $name is set both in the environment and as secret $secret;" \
            "keep one" >&2
        exit 2
    fi
    # $(cat) drops trailing newlines, which editors add to secret files.
    value=$(cat "$secret")
    export "$name=$value"
done

exec "$@"
