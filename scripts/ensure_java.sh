#!/usr/bin/env bash
# The Spark lake test (pytest -m spark) runs pyspark in local mode, which needs Java 17.
# Install Debian's headless JRE when java is missing and we may.
set -euo pipefail
if command -v java >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's openjdk-17-jre-headless for the Spark test…"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
else
  echo "The Spark test needs Java 17:" >&2
  echo "  sudo apt-get install openjdk-17-jre-headless" >&2
  exit 1
fi
