#!/usr/bin/env bash
# tests/integration/test_packs_open_in_office.py opens the board packs in LibreOffice
# (headless) and renders a page with poppler's pdftoppm. Install them when missing and we may.
set -euo pipefail
if command -v soffice >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's LibreOffice (Calc, Impress) and poppler-utils for the pack tests…"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    libreoffice-calc-nogui libreoffice-impress-nogui poppler-utils >/dev/null
else
  echo "The pack tests need LibreOffice (soffice) and pdftoppm:" >&2
  echo "  sudo apt-get install libreoffice-calc-nogui libreoffice-impress-nogui poppler-utils" >&2
  exit 1
fi
