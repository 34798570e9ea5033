#!/usr/bin/env bash
# Make sure a MariaDB server answers on 127.0.0.1:3306 as root without a password (the local development and
# test database): install mariadb-server if missing, start mariadbd if it is not listening, and allow root to
# log in over TCP (a fresh Debian MariaDB lets root in only through the unix socket). Fails loudly otherwise.
set -euo pipefail

log() { printf '[mariadb] %s\n' "$*"; }
ready() { mariadb -uroot -h127.0.0.1 -P3306 --connect-timeout=2 -e 'SELECT 1' >/dev/null 2>&1; }
socket_ready() { mariadb -uroot --connect-timeout=2 -e 'SELECT 1' >/dev/null 2>&1; }

if ! ready && ! command -v mariadbd >/dev/null 2>&1 && ! command -v mysqld >/dev/null 2>&1; then
  log "installing mariadb-server"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq mariadb-server mariadb-client >/dev/null
fi
if ! socket_ready && ! ready; then
  log "starting mariadbd"
  mkdir -p /run/mysqld
  chown mysql:mysql /run/mysqld 2>/dev/null || true
  if [ ! -d /var/lib/mysql/mysql ]; then
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
  fi
  (mariadbd --user=mysql --bind-address=127.0.0.1 --port=3306 >/tmp/rockway-mariadb.log 2>&1 &)
  for _ in $(seq 1 60); do
    if socket_ready || ready; then break; fi
    sleep 1
  done
fi
if ! ready && socket_ready; then
  log "allowing root to log in over TCP without a password"
  mariadb -uroot -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('') OR unix_socket;
    CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
    GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
    FLUSH PRIVILEGES;"
fi
if ! ready; then
  log "FATAL: MariaDB is not reachable on 127.0.0.1:3306 as root without a password"
  tail -n 30 /tmp/rockway-mariadb.log 2>/dev/null || true
  exit 1
fi
# LOAD DATA LOCAL INFILE (reference data) and many parallel test connections
mariadb -uroot -h127.0.0.1 -e "SET GLOBAL local_infile = 1; SET GLOBAL max_connections = 500;" || true
log "ready: $(mariadb -uroot -h127.0.0.1 -N -e 'SELECT VERSION()')"
