# Helpers shared by scripts/test and bench/: install Debian packages on demand, find free loopback ports, and
# start/stop throwaway servers in a directory of their own. Source it; it defines functions only.

# need_packages PKG... : installs the Debian packages that are missing (one apt-get update per run).
need_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  if [ -z "${AGON_APT_UPDATED:-}" ]; then
    $sudo apt-get update -qq >&2
    export AGON_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# free_port : prints a TCP port that is free on 127.0.0.1 right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start_postgres DIR : initialises and starts PostgreSQL under DIR on a free port; prints its URL.
start_postgres() {
  local dir=$1 port bin
  need_packages postgresql
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  port=$(free_port)
  mkdir -p "$dir"
  local owner=""
  if [ "$(id -u)" -eq 0 ]; then
    # initdb refuses to run as root: the cluster belongs to the package's postgres user.
    chown postgres:postgres "$dir"
    owner="runuser -u postgres --"
  fi
  $owner "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1
  $owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=500" \
    start >/dev/null
  echo "postgres://postgres@127.0.0.1:$port/postgres"
}

# stop_postgres DIR : stops the server started by start_postgres DIR, if running.
stop_postgres() {
  local dir=$1 bin owner=""
  [ -f "$dir/data/postmaster.pid" ] || return 0
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  [ "$(id -u)" -eq 0 ] && owner="runuser -u postgres --"
  $owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}
