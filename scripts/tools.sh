#!/usr/bin/env bash
# Installs the tools the chart and monitoring tests need when they are missing: Go with Debian's
# sprig and ghodss/yaml sources (test/chart/render, the stand-in for `helm template` when no helm
# is on PATH) and Prometheus with promtool (rule unit tests, the scrape test). Debian packages,
# installed as root with apt-get; ~40 s on a fresh machine, nothing when all are present.
set -u
have_renderer() {
  command -v helm >/dev/null && return 0
  command -v go >/dev/null && [ -d /usr/share/gocode/src/github.com/Masterminds/sprig ] && [ -d /usr/share/gocode/src/github.com/ghodss/yaml ]
}
have_prometheus() { command -v promtool >/dev/null && command -v prometheus >/dev/null; }

missing=()
have_renderer || missing+=(golang-go golang-github-masterminds-sprig-dev golang-github-ghodss-yaml-dev)
have_prometheus || missing+=(prometheus)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "tools: missing ${missing[*]}; install them (Debian: apt-get install ${missing[*]}) or put helm and promtool on PATH" >&2
  exit 1
fi
echo "tools: installing ${missing[*]}"
# Other apt users on the machine: wait for the dpkg lock rather than fail.
apt_get() { DEBIAN_FRONTEND=noninteractive timeout 900 apt-get -q -o DPkg::Lock::Timeout=300 "$@"; }
apt_get update >/dev/null && apt_get install -y --no-install-recommends "${missing[@]}" >/dev/null || {
  echo "tools: apt-get install ${missing[*]} failed" >&2
  exit 1
}
have_renderer && have_prometheus
