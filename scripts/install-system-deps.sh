#!/usr/bin/env bash
# Installs the Debian packages behind the real components the tests start: rsyslog with the OpenSSL
# driver (the SIEM), SoftHSM2 and OpenSC (the HSM), Chromium (the evidence report's browser test) and
# jq (the docs' examples, run by tests/test_docs_examples.py).
# Idempotent: does nothing when every package is already installed.
set -euo pipefail
packages=(rsyslog rsyslog-openssl softhsm2 opensc chromium chromium-driver jq)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "install-system-deps: missing ${missing[*]}; run as root (apt-get install ${missing[*]})" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
