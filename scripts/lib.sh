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

# start_rabbitmq DIR : starts RabbitMQ under DIR (own Erlang cookie, data and logs) on a free loopback port and
# waits for its AMQP listener (~7 s); prints its URL. The node's name and ports are kept in DIR for restart_rabbitmq.
start_rabbitmq() {
  local dir=$1 port
  need_packages rabbitmq-server
  mkdir -p "$dir/home"
  dir=$(cd "$dir" && pwd)
  if [ ! -f "$dir/port" ]; then
    port=$(free_port)
    echo "$port" >"$dir/port"
    # epmd outlives the Erlang VM; remember whether this run started it.
    pgrep -x epmd >/dev/null || touch "$dir/own-epmd"
  fi
  port=$(cat "$dir/port")
  # The Debian wrapper in /usr/sbin switches user and logs to /var/log: the server script runs as-is instead.
  # The distribution port must be given: its default (AMQP port + 20000) is out of range for high ports.
  env HOME="$dir/home" RABBITMQ_NODENAME="agon_test_$port@localhost" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT="$port" RABBITMQ_DIST_PORT="$(free_port)" ERL_EPMD_ADDRESS=127.0.0.1 \
    RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" RABBITMQ_CONFIG_FILE="$dir/none" \
    RABBITMQ_PID_FILE="$dir/rabbit.pid" \
    /usr/lib/rabbitmq/bin/rabbitmq-server </dev/null >>"$dir/stdout.log" 2>&1 &
  echo $! >"$dir/server.pid"
  local waited=0
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    sleep 0.1
    waited=$((waited + 1))
    if [ $waited -gt 600 ]; then
      echo "RabbitMQ did not start; see $dir/stdout.log" >&2
      return 1
    fi
  done
  echo "amqp://guest:guest@127.0.0.1:$port/%2f"
}

# stop_rabbitmq DIR : stops the node started by start_rabbitmq DIR (data kept, so it can be started again).
stop_rabbitmq() {
  local dir=$1 port
  [ -f "$dir/port" ] || return 0
  port=$(cat "$dir/port")
  HOME="$dir/home" timeout 30 /usr/lib/rabbitmq/bin/rabbitmqctl -q -n "agon_test_$port@localhost" stop >/dev/null 2>&1 ||
    { [ -f "$dir/rabbit.pid" ] && kill "$(cat "$dir/rabbit.pid")" 2>/dev/null; } || true
  while [ -f "$dir/server.pid" ] && kill -0 "$(cat "$dir/server.pid")" 2>/dev/null; do sleep 0.1; done
}

# finish_rabbitmq DIR : stops the node and the epmd daemon this run started.
finish_rabbitmq() {
  local dir=$1
  stop_rabbitmq "$dir"
  [ -f "$dir/own-epmd" ] && pkill -x epmd 2>/dev/null || true
}
