#!/usr/bin/env bash
# Install the Debian packages a target needs, only those missing, only when we can (root with apt-get).
#   platform/system-packages.sh run    gettext (compiles the translations)
#   platform/system-packages.sh test   + chromium (browser tests) and docker-compose (validates the compose file)
#   platform/system-packages.sh bench  + wrk (the web benchmark's load generator)
set -euo pipefail
want=(gettext)
[ "${1:-run}" = "test" ] && want+=(chromium docker-compose)
[ "${1:-run}" = "bench" ] && want+=(wrk)
declare -A provides=([gettext]=msgfmt [chromium]=chromium [docker-compose]=docker-compose [wrk]=wrk)
missing=()
for pkg in "${want[@]}"; do command -v "${provides[$pkg]}" >/dev/null 2>&1 || missing+=("$pkg"); done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "!! missing system packages: ${missing[*]} (install them with your package manager)" >&2
  [ "${1:-run}" = "run" ] && exit 0 || exit 1
fi
echo "==> installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# --no-install-recommends: docker-compose would otherwise pull in a Docker engine we neither need nor can run.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
