#!/usr/bin/env bash
# Makes sure the real binaries the tests start are installed: installs their Debian packages when
# running as root on Debian, otherwise names the packages and the command, and fails.
set -euo pipefail

# binary -> Debian package. Add a row to require another binary.
REQUIRED=(
  "prometheus prometheus"
  "promtool prometheus"
  "prometheus-alertmanager prometheus-alertmanager"
  "amtool prometheus-alertmanager"
  "prometheus-blackbox-exporter prometheus-blackbox-exporter"
  "prometheus-node-exporter prometheus-node-exporter"
  "nginx nginx-core"
)

missing_packages() {
  local row binary package seen=" "
  for row in "${REQUIRED[@]}"; do
    read -r binary package <<<"$row"
    if ! command -v "$binary" >/dev/null 2>&1 && [[ "$seen" != *" $package "* ]]; then
      seen+="$package "
      printf '%s\n' "$package"
    fi
  done
}

mapfile -t missing < <(missing_packages)
attempted_install=false

if ((${#missing[@]} > 0)); then
  if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian packages for the tests: ${missing[*]}"
    apt-get update -qq
    # The packages may start their system service; the tests start their own instances and ignore it.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    attempted_install=true
    hash -r
    mapfile -t missing < <(missing_packages)
  fi
fi

if ((${#missing[@]} > 0)); then
  {
    echo "The tests need binaries from these Debian packages, which are not installed: ${missing[*]}"
    if $attempted_install; then
      echo "apt-get install ran but did not provide them: check the apt sources and the output above."
    fi
    echo "Install them with:"
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
    echo "or run 'npm run test:deps' as root on Debian to install them."
  } >&2
  exit 1
fi

for row in "${REQUIRED[@]}"; do
  read -r binary package <<<"$row"
  # Go tools print "name, version X (branch...)" then build details: keep X, else the first line.
  first_line="$("$binary" --version 2>&1 | head -n 1 || true)"
  version="$(sed -n 's/.*version \([^ ]*\).*/\1/p' <<<"$first_line")"
  echo "$binary ${version:-${first_line:-(version unknown)}} ($(command -v "$binary"), Debian package $package)"
done
