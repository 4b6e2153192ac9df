#!/usr/bin/env bash
# Peer benchmark harness: octopus against curl --parallel, wget2, xargs+curl, the original
# octopus-http, aria2c and wget --warc-file, all in one run, against nginx on 127.0.0.1
# (echo module for latency).
# Installs what it needs (Debian packages, a virtualenv from PyPI) and writes its results
# to bench/results/. Not part of CI; takes roughly 10-15 minutes. Run as root:
#
#   bash bench/peers.sh            # all workloads
#   bash bench/peers.sh W1 W4      # some of them
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

if ! command -v nginx >/dev/null || ! [ -e /usr/lib/nginx/modules/ngx_http_echo_module.so ] \
   || ! command -v wget2 >/dev/null || ! command -v wrk >/dev/null || ! command -v curl >/dev/null \
   || ! command -v aria2c >/dev/null || ! command -v wget >/dev/null || ! [ -x /usr/bin/time ] \
   || ! command -v redis-server >/dev/null || ! command -v dnsmasq >/dev/null \
   || ! command -v ip >/dev/null || ! command -v squid >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    nginx libnginx-mod-http-echo curl wget wget2 wrk aria2 time python3-venv redis-server \
    dnsmasq-base iproute2 squid >/dev/null
fi
venv="$root/target/bench-venv"
if ! [ -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import octopus, warcio' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q octopus-http==0.6.4 warcio
fi
# This repository's Python package with the Python peers (W1py-W3py), apart from the
# original (both import as `octopus`).
ours="$root/target/bench-venv-ours"
if ! [ -x "$ours/bin/python" ] || ! "$ours/bin/python" -c 'import aiohttp, requests' 2>/dev/null; then
  python3 -m venv "$ours"
  "$ours/bin/pip" install -q aiohttp requests
fi
"$ours/bin/pip" install -q --force-reinstall --no-deps "$root/python"
(cd "$root" && cargo build --release -q)

exec python3 "$here/peers.py" --octopus "$root/target/release/octopus" \
  --python "$venv/bin/python" --py-ours "$ours/bin/python" --original "$here/original_octopus.py" --warcio "$venv/bin/warcio" \
  --out "$here/results" "$@"
