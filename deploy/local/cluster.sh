# The replicated data tier and the load-balanced tiers: etcd, three PostgreSQL nodes managed by
# Patroni, HAProxy in front of the primary, the replicas, two logic and two portal instances.
# Sourced by the deploy/local commands after lib.sh.
# shellcheck shell=bash

CLUSTER_DIR="$STATE_DIR/cluster"
# Every port moves with BANK_PORT_OFFSET, so a test cluster can run beside a working one.
PORT_OFFSET="${BANK_PORT_OFFSET:-0}"
ETCD_CLIENT_PORT=$((2479 + PORT_OFFSET))
ETCD_PEER_PORT=$((2480 + PORT_OFFSET))
HAPROXY_STATS_PORT=$((58404 + PORT_OFFSET))
NODES=(pg1 pg2 pg3)
node_pg_port() { echo $((55440 + ${1#pg} + PORT_OFFSET)); }
node_rest_port() { echo $((58008 + ${1#pg} + PORT_OFFSET)); }
LOGIC_INSTANCES=(logic1 logic2)
PORTAL_INSTANCES=(portal1 portal2)
instance_port() {
  case "$1" in
    logic1) echo $((18081 + PORT_OFFSET)) ;;
    logic2) echo $((18082 + PORT_OFFSET)) ;;
    portal1) echo $((18080 + PORT_OFFSET)) ;;
    portal2) echo $((18083 + PORT_OFFSET)) ;;
  esac
}
REPLICA_PORT=$((55433 + PORT_OFFSET))

secret() {
  local file="$STATE_DIR/secrets/$1"
  [ -s "$file" ] || head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$file"
  cat "$file"
}

write_patroni_config() {
  local node=$1 dir="$CLUSTER_DIR/$1"
  mkdir -p "$dir"
  is_root && chown postgres:postgres "$dir"
  cat > "$CLUSTER_DIR/$node.yml" <<YAML
scope: bank
namespace: /bank-$PORT_OFFSET/
name: $node
log:
  level: INFO
restapi:
  listen: 127.0.0.1:$(node_rest_port "$node")
  connect_address: 127.0.0.1:$(node_rest_port "$node")
etcd3:
  hosts: 127.0.0.1:$ETCD_CLIENT_PORT
bootstrap:
  dcs:
    # The shortest Patroni allows: a lost leader is replaced within about 20 s.
    ttl: 20
    loop_wait: 1
    retry_timeout: 3
    maximum_lag_on_failover: 1048576
    # A commit is acknowledged only once a standby has it, and never without one.
    synchronous_mode: true
    synchronous_mode_strict: true
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_level: replica
        hot_standby: "on"
        wal_log_hints: "on"
        max_wal_senders: 10
        max_replication_slots: 10
        max_connections: 200
        wal_keep_size: 256MB
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
    - data-checksums
  pg_hba:
    - local all all trust
    - host replication replicator 127.0.0.1/32 scram-sha-256
    - host all all 127.0.0.1/32 scram-sha-256
postgresql:
  listen: 127.0.0.1:$(node_pg_port "$node")
  connect_address: 127.0.0.1:$(node_pg_port "$node")
  data_dir: $dir/data
  bin_dir: $PG_BIN
  pgpass: $dir/pgpass
  authentication:
    superuser:
      username: postgres
      password: $(secret pg-superuser-password)
    replication:
      username: replicator
      password: $(secret pg-replication-password)
    rewind:
      username: rewinder
      password: $(secret pg-rewind-password)
  parameters:
    unix_socket_directories: $dir
tags:
  nofailover: false
  noloadbalance: false
  clonefrom: false
YAML
  is_root && chown postgres:postgres "$CLUSTER_DIR/$node.yml"
  chmod 600 "$CLUSTER_DIR/$node.yml"
}

write_haproxy_config() {
  local servers_primary="" servers_replica="" node
  for node in "${NODES[@]}"; do
    servers_primary+="  server $node 127.0.0.1:$(node_pg_port "$node") check port $(node_rest_port "$node")"$'\n'
    servers_replica+="  server $node 127.0.0.1:$(node_pg_port "$node") check port $(node_rest_port "$node")"$'\n'
  done
  cat > "$CLUSTER_DIR/haproxy.cfg" <<CFG
global
  maxconn 4000

defaults
  timeout connect 2s
  timeout client 30m
  timeout server 30m
  timeout check 2s

# The writable endpoint: only the node whose Patroni says it is the primary. When a node stops
# being primary, its sessions are cut so clients reconnect to the new one at once.
listen primary
  mode tcp
  bind 127.0.0.1:$PG_PORT
  option httpchk GET /primary
  http-check expect status 200
  default-server inter 1s fastinter 500ms fall 2 rise 1 on-marked-down shutdown-sessions
$servers_primary
# Read-only endpoint: the replicas, for reads that tolerate a little staleness.
listen replicas
  mode tcp
  bind 127.0.0.1:$REPLICA_PORT
  balance roundrobin
  option httpchk GET /replica
  http-check expect status 200
  default-server inter 1s fall 2 rise 1 on-marked-down shutdown-sessions
$servers_replica
# The two logic instances. A request that cannot reach one instance is tried on the other.
listen logic
  mode http
  bind 127.0.0.1:$LOGIC_PORT
  balance roundrobin
  option httpchk GET /healthz
  retries 3
  retry-on conn-failure empty-response response-timeout
  option redispatch
  timeout server 60s
  default-server inter 500ms fall 1 rise 1
  server logic1 127.0.0.1:$(instance_port logic1) check
  server logic2 127.0.0.1:$(instance_port logic2) check

# The two portal instances; no sticky sessions: either serves any customer.
listen portal
  mode http
  bind 127.0.0.1:$PORTAL_PORT
  balance roundrobin
  option httpchk GET /healthz
  option forwardfor
  retries 3
  retry-on conn-failure empty-response response-timeout
  option redispatch
  timeout server 60s
  default-server inter 500ms fall 1 rise 1
  server portal1 127.0.0.1:$(instance_port portal1) check
  server portal2 127.0.0.1:$(instance_port portal2) check

listen stats
  mode http
  bind 127.0.0.1:$HAPROXY_STATS_PORT
  stats enable
  stats uri /
CFG
}

start_etcd() {
  if pid_alive "$CLUSTER_DIR/etcd.pid"; then
    note "etcd is running (pid $(cat "$CLUSTER_DIR/etcd.pid"))"
    return
  fi
  require_free_port etcd "$ETCD_CLIENT_PORT" BANK_PORT_OFFSET
  step "starting etcd on 127.0.0.1:$ETCD_CLIENT_PORT"
  setsid etcd --name bank-etcd --data-dir "$CLUSTER_DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "bank-etcd=http://127.0.0.1:$ETCD_PEER_PORT" \
    >> "$LOG_DIR/etcd.log" 2>&1 < /dev/null &
  echo $! > "$CLUSTER_DIR/etcd.pid"
  wait_http "http://127.0.0.1:$ETCD_CLIENT_PORT/health" 30 || fail "etcd did not start; see $LOG_DIR/etcd.log"
}

start_patroni() {
  local node=$1
  if pid_alive "$CLUSTER_DIR/$node.pid"; then
    note "Patroni $node is running (pid $(cat "$CLUSTER_DIR/$node.pid"))"
    return
  fi
  require_free_port "PostgreSQL $node" "$(node_pg_port "$node")" BANK_PORT_OFFSET
  write_patroni_config "$node"
  step "starting Patroni $node (PostgreSQL on 127.0.0.1:$(node_pg_port "$node"))"
  # setpriv execs, so the pid is Patroni's own.
  setsid setpriv --reuid=postgres --regid=postgres --init-groups -- \
    patroni "$CLUSTER_DIR/$node.yml" >> "$LOG_DIR/patroni-$node.log" 2>&1 < /dev/null &
  echo $! > "$CLUSTER_DIR/$node.pid"
}

start_haproxy() {
  if pid_alive "$CLUSTER_DIR/haproxy.pid"; then
    note "HAProxy is running (pid $(cat "$CLUSTER_DIR/haproxy.pid"))"
    return
  fi
  write_haproxy_config
  require_free_port "HAProxy" "$PG_PORT" BANK_PG_PORT
  step "starting HAProxy (primary 127.0.0.1:$PG_PORT, replicas $REPLICA_PORT, API $LOGIC_PORT, portal $PORTAL_PORT)"
  haproxy -f "$CLUSTER_DIR/haproxy.cfg" -db >> "$LOG_DIR/haproxy.log" 2>&1 < /dev/null &
  echo $! > "$CLUSTER_DIR/haproxy.pid"
}

# The cluster as Patroni sees it (JSON), from the first node that answers.
cluster_json() {
  local node
  for node in "${NODES[@]}"; do
    curl -fsS --max-time 2 "http://127.0.0.1:$(node_rest_port "$node")/cluster" 2>/dev/null && return 0
  done
  return 1
}

leader_name() {
  cluster_json | /usr/bin/python3 -c 'import json,sys; print(next((m["name"] for m in json.load(sys.stdin)["members"] if m["role"] in ("leader","master","primary")), ""))' 2>/dev/null
}

# Waits until writes go through HAProxy's primary endpoint.
wait_writable() {
  local seconds=$1
  for _ in $(seq 1 $((seconds * 2))); do
    if PGPASSWORD="$(secret pg-superuser-password)" "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" \
        -U postgres -d postgres -qAtc "SELECT NOT pg_is_in_recovery()" 2>/dev/null | grep -q t; then
      return 0
    fi
    sleep 0.5
  done
  return 1
}

# Waits until every node is running and the synchronous standby is in place.
wait_healthy() {
  local seconds=$1
  for _ in $(seq 1 $((seconds * 2))); do
    if cluster_json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
members = json.load(sys.stdin)["members"]
running = [m for m in members if m["state"] in ("running", "streaming")]
sync = [m for m in members if m["role"] == "sync_standby"]
sys.exit(0 if len(running) == 3 and sync else 1)' 2>/dev/null; then
      return 0
    fi
    sleep 0.5
  done
  return 1
}

psql_cluster() {
  PGPASSWORD="$(secret pg-superuser-password)" "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" \
    -U postgres -v ON_ERROR_STOP=1 -qAt "$@"
}

patroni_urls() {
  local node urls=()
  for node in "${NODES[@]}"; do
    urls+=("http://127.0.0.1:$(node_rest_port "$node")")
  done
  (IFS=,; echo "${urls[*]}")
}

start_instance() {
  local name=$1 port
  port=$(instance_port "$name")
  if pid_alive "$STATE_DIR/$name.pid"; then
    note "$name is running (pid $(cat "$STATE_DIR/$name.pid"))"
    return
  fi
  require_free_port "$name" "$port" BANK_PORT_OFFSET
  case "$name" in
    logic*)
      BANK_DATABASE_URL="$(database_url)" BANK_LISTEN_ADDR="127.0.0.1:$port" BANK_LOG_FORMAT=json \
        BANK_PATRONI_URLS="$(patroni_urls)" \
        setsid "$RELEASE_DIR/logic" serve >> "$LOG_DIR/$name.log" 2>&1 < /dev/null &
      ;;
    portal*)
      PORTAL_LISTEN_ADDR="127.0.0.1:$port" BANK_LOGIC_URL="http://127.0.0.1:$LOGIC_PORT" \
        PORTAL_SERVICE_KEY_FILE="$STATE_DIR/secrets/presentation.key" \
        PORTAL_STATIC_DIR="$REPO_ROOT/static" PORTAL_LOG_FORMAT=json \
        setsid "$RELEASE_DIR/presentation" >> "$LOG_DIR/$name.log" 2>&1 < /dev/null &
      ;;
  esac
  echo $! > "$STATE_DIR/$name.pid"
  step "started $name on 127.0.0.1:$port (pid $(cat "$STATE_DIR/$name.pid"))"
}
