#!/usr/bin/env bash
# Debian/Ubuntu packages that the MySQL driver (mysqlclient) compiles against.
# Installs them only when missing; uses sudo when not root.
set -euo pipefail
if pkg-config --exists mysqlclient 2>/dev/null || pkg-config --exists mariadb 2>/dev/null; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "Install pkg-config and the MySQL/MariaDB client headers (e.g. libmysqlclient-dev) with your package manager." >&2
  exit 1
fi
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq pkg-config default-libmysqlclient-dev build-essential >/dev/null
