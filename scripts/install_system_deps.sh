#!/usr/bin/env bash
# Debian packages used by the test suite: headless Chromium (browser tests of the HTML
# reports, kedro-viz and the serving page), a PostgreSQL server (prediction-log
# tests) and Prometheus, Alertmanager and the Pushgateway (alert rules and delivery
# tests, make monitoring-up). Installed only when missing and only as root; otherwise
# the tests that need them say so and skip, except under CI=true where they must run.
# Services that the packages would start at install time are kept from starting: the
# tests and make monitoring-up run their own instances on free loopback ports.
#
#   scripts/install_system_deps.sh image   the container tools instead (`make image`,
#                                          `make image-test`): podman with the runc
#                                          runtime, debootstrap for the local base image
set -euo pipefail
need=()
if [ "${1:-}" = image ]; then
  command -v podman >/dev/null 2>&1 || need+=(podman)
  command -v runc >/dev/null 2>&1 || need+=(runc)
  command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
else
  command -v chromium >/dev/null 2>&1 || need+=(chromium chromium-driver)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
  fc-list 2>/dev/null | grep -qi dejavu || need+=(fonts-dejavu-core)
  command -v promtool >/dev/null 2>&1 || need+=(prometheus)
  command -v prometheus-alertmanager >/dev/null 2>&1 || need+=(prometheus-alertmanager)
  command -v prometheus-pushgateway >/dev/null 2>&1 || need+=(prometheus-pushgateway)
fi
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install_system_deps: not root; missing Debian packages: ${need[*]}" >&2
  exit 0
fi
echo "install_system_deps: apt-get install ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
if [ ! -e /usr/sbin/policy-rc.d ]; then
  # invoke-rc.d asks this file whether a package may start its service: "no" (101)
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
