# Helpers shared by scripts/test and bench/: install Debian packages on demand, find free loopback ports, and
# start/stop throwaway servers in a directory of their own. Source it; it defines functions only.

# Package installs write to this log, not to the terminal; the terminal gets one line per install.
INSTALL_LOG=${INSTALL_LOG:-${TMPDIR:-/tmp}/agon-install.log}

# need_packages PKG... : installs the Debian packages that are missing. With AGON_TEST_INSTALL=always (.ci/run does
# it), the first call of a run takes the path of a fresh machine even when nothing is missing: `apt-get update`,
# then `apt-get install` of every package named (a no-op for those present), so that path cannot break unseen.
need_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  local wanted=("${missing[@]}")
  if [ "${AGON_TEST_INSTALL:-}" = always ] && [ -z "${_apt_updated:-}" ]; then
    wanted=("$@")
  fi
  [ ${#wanted[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  # A shell variable, not an environment variable: command substitutions see it, programs started later do not.
  if [ -z "${_apt_updated:-}" ]; then
    if ! $sudo apt-get update >>"$INSTALL_LOG" 2>&1; then
      echo "apt-get update failed; the end of $INSTALL_LOG:" >&2
      tail -n 20 "$INSTALL_LOG" >&2
      return 1
    fi
    _apt_updated=1
  fi
  if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${wanted[@]}" \
    >>"$INSTALL_LOG" 2>&1; then
    echo "apt-get install ${wanted[*]} failed; the end of $INSTALL_LOG:" >&2
    tail -n 20 "$INSTALL_LOG" >&2
    return 1
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installed ${missing[*]} (log: $INSTALL_LOG)" >&2
  else
    echo "packages present: ${wanted[*]} (apt-get update and install checked; log: $INSTALL_LOG)" >&2
  fi
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

# start_redis DIR : starts a non-persistent Redis under DIR on a free port; prints its URL.
start_redis() {
  local dir=$1 port
  need_packages redis-server
  port=$(free_port)
  mkdir -p "$dir"
  # Background servers get their own stdio: an inherited pipe would keep a caller's `| tail` open forever.
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
    --logfile "$dir/redis.log" </dev/null >/dev/null 2>&1 &
  echo $! >"$dir/redis.pid"
  until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.05; done
  echo "redis://127.0.0.1:$port/"
}

# stop_redis DIR
stop_redis() {
  local dir=$1
  [ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
}

# wait_port PORT SECONDS : waits until something listens on 127.0.0.1:PORT.
wait_port() {
  local port=$1 tenths=$(($2 * 10))
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    sleep 0.1
    tenths=$((tenths - 1))
    [ $tenths -gt 0 ] || return 1
  done
}

# start_rabbitmq DIR : starts RabbitMQ under DIR (own Erlang cookie, data, logs and epmd) on a free loopback port
# and waits for its AMQP listener (~7 s); prints its URL. Ports and pids are kept in DIR for restart and stop.
start_rabbitmq() {
  local dir=$1 port
  need_packages rabbitmq-server
  mkdir -p "$dir/home"
  dir=$(cd "$dir" && pwd)
  if [ ! -f "$dir/port" ]; then
    free_port >"$dir/port"
    free_port >"$dir/epmd-port"
  fi
  port=$(cat "$dir/port")
  # An epmd of this run's own, on a port of its own: stopped by its pid, it never touches another epmd.
  if ! { [ -f "$dir/epmd.pid" ] && kill -0 "$(cat "$dir/epmd.pid")" 2>/dev/null; }; then
    epmd -address 127.0.0.1 -port "$(cat "$dir/epmd-port")" </dev/null >>"$dir/epmd.log" 2>&1 &
    echo $! >"$dir/epmd.pid"
    wait_port "$(cat "$dir/epmd-port")" 10 || { echo "epmd did not start; see $dir/epmd.log" >&2; return 1; }
  fi
  # The Debian wrapper in /usr/sbin switches user and logs to /var/log: the server script runs as-is instead.
  # The distribution port must be given: its default (AMQP port + 20000) is out of range for high ports.
  rabbitmq_env "$dir" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$port" \
    RABBITMQ_DIST_PORT="$(free_port)" RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" RABBITMQ_CONFIG_FILE="$dir/none" \
    RABBITMQ_PID_FILE="$dir/rabbit.pid" \
    /usr/lib/rabbitmq/bin/rabbitmq-server </dev/null >>"$dir/stdout.log" 2>&1 &
  echo $! >"$dir/server.pid"
  if ! wait_port "$port" 60; then
    echo "RabbitMQ did not start; see $dir/stdout.log" >&2
    return 1
  fi
  echo "amqp://guest:guest@127.0.0.1:$port/%2f"
}

# rabbitmq_env DIR COMMAND... : runs COMMAND with the environment of the node under DIR.
rabbitmq_env() {
  local dir=$1
  shift
  env HOME="$dir/home" RABBITMQ_NODENAME="agon_test_$(cat "$dir/port")@localhost" ERL_EPMD_ADDRESS=127.0.0.1 \
    ERL_EPMD_PORT="$(cat "$dir/epmd-port")" "$@"
}

# stop_rabbitmq DIR : stops the node started by start_rabbitmq DIR (data and epmd kept, so it can start again).
stop_rabbitmq() {
  local dir=$1
  [ -f "$dir/port" ] || return 0
  rabbitmq_env "$dir" timeout 30 /usr/lib/rabbitmq/bin/rabbitmqctl -q -n "agon_test_$(cat "$dir/port")@localhost" \
    stop >/dev/null 2>&1 || { [ -f "$dir/rabbit.pid" ] && kill "$(cat "$dir/rabbit.pid")" 2>/dev/null; } || true
  while [ -f "$dir/server.pid" ] && kill -0 "$(cat "$dir/server.pid")" 2>/dev/null; do sleep 0.1; done
}

# finish_rabbitmq DIR : stops the node and the epmd that start_rabbitmq DIR started.
finish_rabbitmq() {
  local dir=$1
  stop_rabbitmq "$dir"
  if [ -f "$dir/epmd.pid" ]; then
    kill "$(cat "$dir/epmd.pid")" 2>/dev/null || true
  fi
}
