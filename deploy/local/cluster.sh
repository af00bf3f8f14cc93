# The replicated data tier and the load-balanced tiers, every process under supervisord: a
# three-member etcd, three PostgreSQL nodes managed by Patroni, HAProxy in front of the primary,
# the replicas, two logic and two portal instances. Sourced by the deploy/local commands after
# lib.sh.
# shellcheck shell=bash

CLUSTER_DIR="$STATE_DIR/cluster"
SUPERVISOR_DIR="$STATE_DIR/supervisor"
SUPERVISOR_CONF="$SUPERVISOR_DIR/supervisord.conf"
# Every port moves with BANK_PORT_OFFSET, so a test cluster can run beside a working one.
PORT_OFFSET="${BANK_PORT_OFFSET:-0}"
HAPROXY_STATS_PORT=$((58404 + PORT_OFFSET))
REPLICA_PORT=$((55433 + PORT_OFFSET))
NODES=(pg1 pg2 pg3)
# The coordination service on hosts of its own (in the netns network, namespaces of their own):
# a fault of a database node is never also a fault of etcd. Beside pgN, a partition of the primary
# would cut off an etcd member too, and when that member leads, etcd's new leader renews every
# lease to its full TTL (etcd-io/etcd#9395), which keeps the lost primary's leader key alive 2-3 s
# longer and pushed failover past 25 s.
ETCD_MEMBERS=(etcd1 etcd2 etcd3)
# The logic and portal instances: two of each, or as many as deploy/local/scale set (kept in the
# state directory's scale file, "logic=N" and "portal=N", from 1 to 9).
LOGIC_COUNT=2
PORTAL_COUNT=2
if [ -s "$STATE_DIR/scale" ]; then
  while IFS='=' read -r scale_tier scale_count; do
    [[ "$scale_count" =~ ^[1-9]$ ]] || continue
    case "$scale_tier" in
      logic) LOGIC_COUNT=$scale_count ;;
      portal) PORTAL_COUNT=$scale_count ;;
    esac
  done < "$STATE_DIR/scale"
  unset scale_tier scale_count
fi
mapfile -t LOGIC_INSTANCES < <(seq -f 'logic%g' 1 "$LOGIC_COUNT")
mapfile -t PORTAL_INSTANCES < <(seq -f 'portal%g' 1 "$PORTAL_COUNT")

# Patroni from PyPI (Debian's 3.0.2 takes the leader key without compare-and-swap; see
# patroni-requirements.txt), in a venv the postgres user can run.
# BANK_PATRONI_VERSION runs another Patroni release from PyPI (everything else pinned as usual),
# only to see the fault campaign catch what an older one loses: 3.0.2, Debian 12's, overwrote the
# leader key, and a primary resuming from a pause took the lead back and lost acknowledged commits.
PATRONI_PINNED=4.1.5
PATRONI_VERSION="${BANK_PATRONI_VERSION:-$PATRONI_PINNED}"
PATRONI_VENV="$TOOLS_DIR/patroni-$PATRONI_VERSION"
PATRONI="$PATRONI_VENV/bin/patroni"

# The network the database nodes live on. "loopback": every node on 127.0.0.1 (the default).
# "netns": every node in a network namespace of its own with an address from 198.18.0.0/15 (the
# block set aside for network tests), joined by a bridge, so that a node can be cut off from the
# others (root only; the fault campaign uses it). Chosen at the first start, kept in the state.
if [ -s "$STATE_DIR/network" ]; then
  NETWORK="$(cat "$STATE_DIR/network")"
else
  NETWORK="${BANK_NETWORK:-loopback}"
fi
NET_INDEX=$(((PORT_OFFSET / 1000) % 250))
NET_PREFIX="198.18.$NET_INDEX"
# The address the host side (HAProxy, the logic tier, the operator) has on the nodes' network.
NET_HOST_ADDR="$NET_PREFIX.254"
NET_BRIDGE="bankbr$NET_INDEX"

# Backups: pgBackRest's repository on the local disk (encrypted), its configuration, and where a
# point-in-time restore is put and served, beside the running cluster.
BACKUP_DIR="$STATE_DIR/backup"
PGBACKREST_CONF="$CLUSTER_DIR/pgbackrest.conf"
STANZA=bank
RESTORE_DIR="$STATE_DIR/restore"
RESTORE_PORT=$((55450 + PORT_OFFSET))

# Monitoring: Prometheus and the exporters it scrapes besides the tiers' and Patroni's own
# /metrics (cluster.sh: write_prometheus_config; the rules and the dashboard in deploy/monitoring).
MONITORING_DIR="$REPO_ROOT/deploy/monitoring"
PROMETHEUS_PORT=$((59090 + PORT_OFFSET))
NODE_EXPORTER_PORT=$((59100 + PORT_OFFSET))
# Alertmanager: Prometheus's alerts grouped and sent on to the operators' pager (a webhook URL
# given to up as BANK_ALERT_WEBHOOK, kept in ALERT_WEBHOOK_FILE, root's alone).
ALERTMANAGER_PORT=$((59093 + PORT_OFFSET))
ALERT_WEBHOOK_FILE="$STATE_DIR/secrets/alert-webhook"
HAPROXY_METRICS_PORT=$((58405 + PORT_OFFSET))
# Metrics a batch job or up leaves for the node exporter's textfile collector: the latest backups,
# the certificates' expiry.
TEXTFILE_DIR="$STATE_DIR/metrics"
# The OpenTelemetry collector the instances send their traces to, if up was given one. Nothing
# run from here (supervisord and its programs, a migration, a drill's tiers) takes OpenTelemetry's
# settings from the shell it was started in: only from this file, through supervisord's
# configuration.
TRACE_ENDPOINT_FILE="$STATE_DIR/trace-endpoint"
while read -r variable; do unset "$variable"; done < <(compgen -e | grep '^OTEL_' || true)
# The pager's URL (with its token) likewise: up has read it, and supervisord would otherwise hand
# it to every program it starts, whatever their user.
unset BANK_ALERT_WEBHOOK
postgres_exporter_port() { echo $((59186 + $(node_index "$1") + PORT_OFFSET)); }

node_index() { echo "${1//[!0-9]/}"; }
# The address of a database node (pgN: .N) or an etcd member (etcdN: .1N), each a host of its own.
node_host() {
  if [ "$NETWORK" != netns ]; then echo 127.0.0.1
  elif [ "${1#etcd}" != "$1" ]; then echo "$NET_PREFIX.$((10 + $(node_index "$1")))"
  else echo "$NET_PREFIX.$(node_index "$1")"; fi
}
# A host's namespace and the host end of its veth pair: bankI-nN/bkInN for pgN, -eN/eN for etcdN.
host_tag() { if [ "${1#etcd}" != "$1" ]; then echo "e$(node_index "$1")"; else echo "n$(node_index "$1")"; fi; }
node_netns() { echo "bank$NET_INDEX-$(host_tag "$1")"; }
# The command prefix that runs something on node N's network.
on_node() {
  if [ "$NETWORK" = netns ]; then echo "ip netns exec $(node_netns "$1")"; fi
}
node_pg_port() { echo $((55440 + $(node_index "$1") + PORT_OFFSET)); }
node_rest_port() { echo $((58008 + $(node_index "$1") + PORT_OFFSET)); }
etcd_client_port() { echo $((2470 + 2 * $(node_index "$1") + PORT_OFFSET)); }
etcd_peer_port() { echo $((2471 + 2 * $(node_index "$1") + PORT_OFFSET)); }
etcd_client_url() { echo "https://$(node_host "$1"):$(etcd_client_port "$1")"; }
etcd_peer_url() { echo "https://$(node_host "$1"):$(etcd_peer_port "$1")"; }
# An instance's own port: the first two of each tier where they always were, the rest from
# 18103 (logic3) and 18203 (portal3) on.
instance_port() {
  case "$1" in
    logic1) echo $((18081 + PORT_OFFSET)) ;;
    logic2) echo $((18082 + PORT_OFFSET)) ;;
    portal1) echo $((18080 + PORT_OFFSET)) ;;
    portal2) echo $((18083 + PORT_OFFSET)) ;;
    logic[3-9]) echo $((18100 + ${1#logic} + PORT_OFFSET)) ;;
    portal[3-9]) echo $((18200 + ${1#portal} + PORT_OFFSET)) ;;
  esac
}

secret() {
  local file="$STATE_DIR/secrets/$1"
  [ -s "$file" ] || (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$file")
  # Root's alone (one made before this rule was readable by all, behind its directory's mode).
  [ -O "$file" ] && chmod 600 "$file"
  cat "$file"
}

# The topology's certificate authority and a certificate for each kind of service it signs:
#   db      PostgreSQL and Patroni's REST API on the three nodes (the postgres user's key)
#   etcd    the three members, as servers to clients and to each other, and as clients of each
#           other (peer traffic wants a certificate of this authority: it has no other credential)
#   logic   the logic instances, behind HAProxy
#   portal  the portal instances, behind HAProxy
#   edge    HAProxy's own listeners: the portal, the API and the statistics page
#   monitoring  Prometheus, Alertmanager, the exporters and HAProxy's metrics (the prometheus
#           user's): a local user who takes one of their ports while it restarts cannot pass
#           for it, so cannot feed Prometheus false series or swallow its alerts
# Each names the addresses it is reached at and a name of its own (db.bank.internal, ...) that
# HAProxy checks. Keys are readable only by the user of the service. A certificate that expires
# within 30 days, or whose authority is not this one, is issued again at the next up (and the
# service that reads it must then be restarted). openssl from Debian; ECDSA P-256.
CA_KEY="$TLS_DIR/ca.key"
ensure_certificates() {
  ensure_packages openssl
  mkdir -p "$TLS_DIR"
  chmod 755 "$TLS_DIR"
  if [ ! -s "$CA_FILE" ] || [ ! -s "$CA_KEY" ] || ! openssl x509 -checkend $((30 * 86400)) -noout -in "$CA_FILE" > /dev/null; then
    (umask 077 && openssl req -x509 -new -noenc -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
      -keyout "$CA_KEY" -out "$CA_FILE" -days 3650 -subj "/O=Bank/CN=Bank local certificate authority $PORT_OFFSET" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2> /dev/null) \
      || fail "could not create the certificate authority"
    chmod 644 "$CA_FILE"
    note "created the certificate authority $CA_FILE"
  fi
  local node member db_sans="" etcd_sans="" etcd_user=root
  if [ "$NETWORK" = netns ]; then
    for node in "${NODES[@]}"; do db_sans+=",IP:$(node_host "$node")"; done
    for member in "${ETCD_MEMBERS[@]}"; do etcd_sans+=",IP:$(node_host "$member")"; done
  fi
  is_root && id etcd > /dev/null 2>&1 && etcd_user=etcd
  local monitoring_user=root
  is_root && id prometheus > /dev/null 2>&1 && monitoring_user=prometheus
  issue_certificate db postgres "DNS:db.bank.internal,DNS:localhost,IP:127.0.0.1$db_sans"
  issue_certificate etcd "$etcd_user" "DNS:etcd.bank.internal,DNS:localhost,IP:127.0.0.1$etcd_sans"
  issue_certificate logic root "DNS:logic.bank.internal,DNS:localhost,IP:127.0.0.1"
  issue_certificate portal root "DNS:portal.bank.internal,DNS:localhost,IP:127.0.0.1"
  issue_certificate edge root "DNS:localhost,IP:127.0.0.1"
  issue_certificate monitoring "$monitoring_user" "DNS:monitoring.bank.internal,DNS:localhost,IP:127.0.0.1"
  # HAProxy reads a certificate and its key from one file.
  (umask 077 && cat "$TLS_DIR/edge.crt" "$TLS_DIR/edge.key" > "$TLS_DIR/edge.pem")
  (umask 077 && cat "$TLS_DIR/monitoring.crt" "$TLS_DIR/monitoring.key" > "$TLS_DIR/monitoring.pem")
  # What Prometheus, Alertmanager and the exporters serve with (exporter-toolkit's web
  # configuration: names of files, no secret).
  printf 'tls_server_config:\n  cert_file: %s\n  key_file: %s\n' \
    "$TLS_DIR/monitoring.crt" "$TLS_DIR/monitoring.key" > "$TLS_DIR/monitoring-web.yml"
  chmod 644 "$TLS_DIR/monitoring-web.yml"
}

# issue_certificate NAME OWNER SANS: NAME.crt and NAME.key (mode 600, OWNER's when root), valid
# for SANS, for server and client authentication.
issue_certificate() {
  local name=$1 owner=$2 sans=$3 cert="$TLS_DIR/$1.crt" key="$TLS_DIR/$1.key"
  if [ -s "$cert" ] && [ -s "$key" ] && openssl x509 -checkend $((30 * 86400)) -noout -in "$cert" > /dev/null \
      && openssl verify -CAfile "$CA_FILE" "$cert" > /dev/null 2>&1 \
      && [ "$(openssl x509 -noout -ext subjectAltName -in "$cert" | tail -n +2 | tr -d ' ' | sed 's/IPAddress/IP/g')" = "$sans" ]; then
    return 0
  fi
  local csr
  csr=$(umask 077 && openssl req -new -noenc -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout "$key" \
    -subj "/O=Bank/CN=$name.bank.internal" 2> /dev/null) || fail "could not make the $name key"
  openssl x509 -req -CA "$CA_FILE" -CAkey "$CA_KEY" -CAcreateserial -days 397 -out "$cert" \
    -extfile <(printf '%s\n' "subjectAltName=$sans" "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth,clientAuth") \
    <<< "$csr" 2> /dev/null || fail "could not issue the $name certificate"
  chmod 644 "$cert"
  chmod 600 "$key"
  is_root && chown "$owner:" "$key"
  note "issued the $name certificate ($sans)"
}

# Refuses a BANK_PATRONI_VERSION that is no release number, or older than 4 for the bank's own
# topology.
refuse_unsafe_patroni() {
  [[ "$PATRONI_VERSION" =~ ^[0-9]+(\.[0-9]+){1,2}$ ]] ||
    fail "BANK_PATRONI_VERSION is not a release number like $PATRONI_PINNED: $(quoted "$PATRONI_VERSION")"
  # Before 4, Patroni could take the leader key without compare-and-swap and lose acknowledged
  # commits (above): the bank never runs one. Only the fault campaign's throwaway topology may,
  # to compare, and it says so (BANK_PATRONI_UNSAFE_TO_COMPARE=1).
  if [ "${PATRONI_VERSION%%.*}" -lt 4 ] && [ "${BANK_PATRONI_UNSAFE_TO_COMPARE:-}" != 1 ]; then
    fail "Patroni $PATRONI_VERSION is older than 4 and can lose acknowledged transfers in a failover; the bank runs $PATRONI_PINNED. Only deploy/local/fault-campaign runs an older one, in a throwaway topology, to compare"
  fi
}

ensure_patroni() {
  refuse_unsafe_patroni
  if [ -x "$PATRONI" ] && "$PATRONI" --version 2>/dev/null | grep -qx "patroni $PATRONI_VERSION"; then
    return 0
  fi
  ensure_packages python3-venv
  step "installing Patroni $PATRONI_VERSION from PyPI into $PATRONI_VENV"
  mkdir -p "$TOOLS_DIR"
  rm -rf "$PATRONI_VENV"
  # Debian's python3, not one under a home directory: the postgres user must be able to run it.
  /usr/bin/python3 -m venv "$PATRONI_VENV"
  local requirements="$REPO_ROOT/deploy/local/patroni-requirements.txt"
  if [ "$PATRONI_VERSION" = "$PATRONI_PINNED" ]; then
    "$PATRONI_VENV/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  else
    # shellcheck disable=SC2046 # one pin per word
    "$PATRONI_VENV/bin/pip" install --quiet --disable-pip-version-check "patroni==$PATRONI_VERSION" \
      $(grep -vE '^#|^patroni==' "$requirements")
  fi
  chmod -R a+rX "$PATRONI_VENV"
  "$PATRONI" --version | grep -qx "patroni $PATRONI_VERSION" || fail "Patroni $PATRONI_VERSION did not install"
}

# The hosts' namespaces and the bridge between them (netns network only; idempotent).
setup_network() {
  [ "$NETWORK" = netns ] || return 0
  is_root || fail "the netns network needs root"
  if ! ip link show "$NET_BRIDGE" >/dev/null 2>&1; then
    ip link add "$NET_BRIDGE" type bridge
    ip addr add "$NET_HOST_ADDR/24" dev "$NET_BRIDGE"
    ip link set "$NET_BRIDGE" up
  fi
  local node ns veth
  for node in "${NODES[@]}" "${ETCD_MEMBERS[@]}"; do
    ns=$(node_netns "$node")
    veth="bk${NET_INDEX}$(host_tag "$node")"
    ip netns list | grep -qw "^$ns" && continue
    ip netns add "$ns"
    ip link add "$veth" type veth peer name "${veth}p"
    ip link set "${veth}p" netns "$ns"
    ip link set "$veth" master "$NET_BRIDGE" up
    ip netns exec "$ns" ip addr add "$(node_host "$node")/24" dev "${veth}p"
    ip netns exec "$ns" ip link set "${veth}p" up
    ip netns exec "$ns" ip link set lo up
    # A connection whose peer is cut off is dropped after about 11 s of silence, not the
    # kernel's two hours: a replica cloning itself from a node that is then cut off starts
    # again when the cut heals, instead of waiting on a dead connection.
    ip netns exec "$ns" sysctl -qw net.ipv4.tcp_keepalive_time=5 net.ipv4.tcp_keepalive_intvl=2 \
      net.ipv4.tcp_keepalive_probes=3
  done
}

teardown_network() {
  [ "$NETWORK" = netns ] || return 0
  local node
  for node in "${NODES[@]}" "${ETCD_MEMBERS[@]}"; do
    ip netns del "$(node_netns "$node")" 2>/dev/null || true
  done
  ip link del "$NET_BRIDGE" 2>/dev/null || true
}

# Who on this host may open a connection to etcd: root (the operator's scripts), Patroni's user and
# etcd's own; anyone else is refused by the kernel before etcd reads a byte. etcd 3.4 answers
# some lease calls without credentials (listing leases, and keeping any lease alive: a local user
# could hold a lost primary's leader key forever), and its peer port has no authentication at
# all. The logic and portal instances the same way, for root (HAProxy and the operator) and
# Prometheus's user alone: a local user going round the balancer could choose the X-Forwarded-For
# and X-Request-Id the edge otherwise sets. Prometheus and the exporters too, whose series are
# the operators'. Root only (nftables), for the loopback and the netns network alike; undone by
# down.
fence_etcd() {
  is_root || return 0
  local member addrs=() ports=() uids=0 user instance instance_ports=()
  for member in "${ETCD_MEMBERS[@]}"; do
    addrs+=("$(node_host "$member")")
    ports+=("$(etcd_client_port "$member")" "$(etcd_peer_port "$member")")
  done
  for instance in "${LOGIC_INSTANCES[@]}" "${PORTAL_INSTANCES[@]}"; do
    instance_ports+=("$(instance_port "$instance")")
  done
  for user in postgres etcd; do
    id -u "$user" > /dev/null 2>&1 && uids+=", $(id -u "$user")"
  done
  # Prometheus scrapes the instances and the exporters; nobody else but root reaches them.
  local scrapers=0 node
  id -u prometheus > /dev/null 2>&1 && scrapers+=", $(id -u prometheus)"
  instance_ports+=("$PROMETHEUS_PORT" "$NODE_EXPORTER_PORT" "$HAPROXY_METRICS_PORT" "$ALERTMANAGER_PORT")
  for node in "${NODES[@]}"; do instance_ports+=("$(postgres_exporter_port "$node")"); done
  # Made anew in one transaction (declared, emptied, filled): no moment without the fence.
  nft -f - <<NFT
table inet bank_etcd_$NET_INDEX {}
flush table inet bank_etcd_$NET_INDEX
table inet bank_etcd_$NET_INDEX {
  chain output {
    type filter hook output priority 0; policy accept;
    ip daddr { $(printf '%s\n' "${addrs[@]}" | sort -u | paste -sd, -) } tcp dport { $(IFS=,; echo "${ports[*]}") } meta skuid != { $uids } reject with tcp reset
    ip daddr 127.0.0.1 tcp dport { $(IFS=,; echo "${instance_ports[*]}") } meta skuid != { $scrapers } reject with tcp reset
  }
}
NFT
}

unfence_etcd() {
  is_root || return 0
  nft delete table inet "bank_etcd_$NET_INDEX" 2>/dev/null || true
}

# Every port the topology listens on: HAProxy's, the database nodes' and Patroni's, etcd's and
# the instances'.
topology_ports() {
  local member instance
  echo "$PG_PORT" "$REPLICA_PORT" "$LOGIC_PORT" "$PORTAL_PORT" "$HAPROXY_STATS_PORT" "$RESTORE_PORT"
  echo "$PROMETHEUS_PORT" "$NODE_EXPORTER_PORT" "$HAPROXY_METRICS_PORT" "$ALERTMANAGER_PORT"
  for member in "${NODES[@]}"; do
    echo "$(node_pg_port "$member")" "$(node_rest_port "$member")" "$(postgres_exporter_port "$member")"
  done
  for member in "${ETCD_MEMBERS[@]}"; do
    echo "$(etcd_client_port "$member")" "$(etcd_peer_port "$member")"
  done
  for instance in "${LOGIC_INSTANCES[@]}" "${PORTAL_INSTANCES[@]}"; do
    instance_port "$instance"
  done
}

# The topology's listening ports are taken out of the range the kernel picks outgoing
# connections' local ports from (32768-60999 on Debian, which holds the database's, Patroni's and
# HAProxy's ports): otherwise a connection made first (etcd to its peers, a client of HAProxy)
# can hold a port and the program that listens on it cannot start. Added to what the host
# reserved already (never replacing it), on the host and in each node's namespace; a reserved
# port can still be listened on, so the reservation stays until reboot. Root only; a host that
# refuses (a container whose /proc/sys is read-only) is told, and up goes on.
reserve_ports() {
  if ! is_root; then
    note "not root: the topology's ports are not reserved (an outgoing connection may take one first)"
    return 0
  fi
  local list port member
  list=$(topology_ports | tr ' ' '\n' | paste -sd, -)
  for port in ${list//,/ }; do
    [ "$port" -le 65535 ] || fail "port $port is past 65535: BANK_PORT_OFFSET is too large"
  done
  reserve_ports_in "$list" env || note "could not reserve the ports $list; see ARCHITECTURE.md, Topology"
  if [ "$NETWORK" = netns ]; then
    for member in "${NODES[@]}" "${ETCD_MEMBERS[@]}"; do
      reserve_ports_in "$list" ip netns exec "$(node_netns "$member")" \
        || note "could not reserve the ports in $(node_netns "$member")"
    done
  fi
}

# reserve_ports_in LIST COMMAND...: adds LIST to the reserved ports of the network COMMAND runs on.
reserve_ports_in() {
  local list=$1 current
  shift
  current=$("$@" cat /proc/sys/net/ipv4/ip_local_reserved_ports) || return 1
  # shellcheck disable=SC2016 # expanded by the inner shell
  "$@" sh -c 'echo "$1" > /proc/sys/net/ipv4/ip_local_reserved_ports' sh "${current:+$current,}$list"
}

# sqlx 0.9.0 leaves Nagle's algorithm on for its connections (sqlx issue 4335; the fix, pull
# request 4336, is not released): a message longer than one TLS record (16 kB, such as a batch of
# 100 transfers or its stored answer) leaves in two writes, and the second waits for the
# receiver to acknowledge the first, which Linux delays by up to 40 ms. The receiver is HAProxy,
# on the loopback: the loopback's routes acknowledge at once, and the wait is gone (a batch of
# 100 took 130 ms, now 55). Every connection on the loopback acknowledges at once: a few more
# packets, nothing else. Root only; kept until reboot. Drop it once sqlx sets TCP_NODELAY again.
quick_acks() {
  if ! is_root; then
    note "not root: the loopback keeps delaying acknowledgements (a statement over 16 kB may wait 40 ms)"
    return 0
  fi
  local line words kept i
  while read -r line; do
    read -ra words <<< "$line"
    kept=()
    for ((i = 0; i < ${#words[@]}; i++)); do
      if [ "${words[i]}" = quickack ]; then i=$((i + 1)); else kept+=("${words[i]}"); fi
    done
    ip route change "${kept[@]}" table local quickack 1 \
      || { note "could not have the loopback acknowledge at once; see ARCHITECTURE.md, Topology"; return 0; }
  done < <(ip -o route show table local | grep -E '^local 127\.[0-9./]+ dev lo ')
}

# Whether the route the tiers reach each other by (127.0.0.1) acknowledges at once.
loopback_quick_acks() {
  ip -o route get 127.0.0.1 | grep -E ' quickack 1( |$)' > /dev/null
}

# Whether the host is as reserve_ports and quick_acks leave it. Prints what is missing.
host_tuned() {
  local reserved port missing=()
  reserved=$(cat /proc/sys/net/ipv4/ip_local_reserved_ports)
  for port in $(topology_ports); do
    awk -v p="$port" -v list="$reserved" 'BEGIN {
        n = split(list, r, ","); for (i = 1; i <= n; i++) { split(r[i], b, "-"); if (b[2] == "") b[2] = b[1]; if (p + 0 >= b[1] + 0 && p + 0 <= b[2] + 0) exit 0 }
        exit 1 }' || missing+=("port $port not reserved")
  done
  loopback_quick_acks || missing+=("the loopback does not acknowledge at once")
  [ ${#missing[@]} = 0 ] || { printf '%s\n' "${missing[@]}"; return 1; }
}

write_patroni_config() {
  local node=$1 dir="$CLUSTER_DIR/$1" host member hosts=() net
  host=$(node_host "$node")
  for member in "${ETCD_MEMBERS[@]}"; do
    hosts+=("$(node_host "$member"):$(etcd_client_port "$member")")
  done
  if [ "$NETWORK" = netns ]; then net="$NET_PREFIX.0/24"; else net="127.0.0.1/32"; fi
  mkdir -p "$dir"
  is_root && chown postgres:postgres "$dir"
  cat > "$CLUSTER_DIR/$node.yml" <<YAML
scope: bank
namespace: /bank-$PORT_OFFSET/
name: $node
log:
  level: INFO
restapi:
  listen: $host:$(node_rest_port "$node")
  connect_address: $host:$(node_rest_port "$node")
  # Every endpoint that changes something (switchover, failover, restart, reinitialize, reload,
  # config) wants this user; the read-only ones (health checks, the cluster page) stay open.
  authentication:
    username: patroni
    password: $(secret patroni-rest-password)
  # HTTPS only, with the db certificate; the authority is also the one Patroni trusts when it
  # calls another node's REST API.
  certfile: $TLS_DIR/db.crt
  keyfile: $TLS_DIR/db.key
  cafile: $CA_FILE
ctl:
  cacert: $CA_FILE
etcd3:
  hosts: $(IFS=,; echo "${hosts[*]}")
  protocol: https
  cacert: $CA_FILE
  # etcd has authentication on (secure_etcd); this user's role reaches this cluster's prefix only.
  username: patroni
  password: $(secret etcd-patroni-password)
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
        # A former primary rewound by pg_rewind replays from the last checkpoint the two nodes
        # shared, and streams that WAL from the new primary: keep a checkpoint at most a minute
        # old, and a gigabyte of WAL (minutes of the fault campaign's load), so it is still there.
        # Short of this the node asks for "a WAL segment that has already been removed" forever.
        wal_keep_size: 1GB
        checkpoint_timeout: 1min
        # A standby whose upstream went away (a switchover, a failover) tries the new one after
        # half a second, not five: the new primary has a synchronous standby, and takes writes,
        # that much sooner.
        wal_retrieve_retry_interval: 500ms
        # A standby that stops answering (paused, stalled, cut off) is dropped by the primary
        # after 3 s, not 60: Patroni then makes the other replica synchronous, and commits that
        # were waiting on the silent one complete. The walsender asks for a reply at half the
        # timeout, so a live standby is never dropped for being quiet.
        wal_sender_timeout: 3s
        # And a standby gives up on a primary that stopped answering after 5 s.
        wal_receiver_timeout: 5s
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
    - data-checksums
postgresql:
  listen: $host:$(node_pg_port "$node")
  connect_address: $host:$(node_pg_port "$node")
  data_dir: $dir/data
  bin_dir: $PG_BIN
  pgpass: $dir/pgpass
  # The whole file: initdb's own lines (trust for every local connection) never survive. On the
  # socket the superuser is the postgres OS user alone (peer); over the network every connection
  # is TLS (hostssl: a plain one matches no line and is refused) with a SCRAM password, and
  # replication is the replication user's alone.
  pg_hba:
    - local all postgres peer
    - local all all scram-sha-256
    - hostssl replication replicator $net scram-sha-256
    - hostssl all all $net scram-sha-256
  # Patroni's own connections, replication and pg_rewind's check the server's certificate too.
  authentication:
    superuser:
      username: postgres
      password: $(secret pg-superuser-password)
      sslmode: verify-full
      sslrootcert: $CA_FILE
    replication:
      username: replicator
      password: $(secret pg-replication-password)
      sslmode: verify-full
      sslrootcert: $CA_FILE
    rewind:
      username: rewinder
      password: $(secret pg-rewind-password)
      sslmode: verify-full
      sslrootcert: $CA_FILE
  parameters:
    unix_socket_directories: $dir
    # Every finished WAL segment goes to pgBackRest's repository, from whichever node is the
    # primary (a standby archives nothing; a promoted one takes over). A quiet primary still
    # hands over what it has after a minute: the most a lost site can cost.
    archive_mode: "on"
    archive_command: pgbackrest --config=$PGBACKREST_CONF --stanza=$STANZA --pg1-path=$dir/data archive-push %p
    archive_timeout: 60s
    password_encryption: scram-sha-256
    ssl: "on"
    ssl_cert_file: $TLS_DIR/db.crt
    ssl_key_file: $TLS_DIR/db.key
    ssl_min_protocol_version: TLSv1.2
  # A former primary whose pg_rewind fails (with the primary answering) is cloned afresh from the
  # primary, instead of starting on its diverged WAL and waiting forever for WAL that exists
  # nowhere. What it drops was never acknowledged: in strict synchronous mode a commit is
  # acknowledged only once the standby that was promoted has it.
  remove_data_directory_on_rewind_failure: true
tags:
  nofailover: false
  noloadbalance: false
  clonefrom: false
YAML
  is_root && chown postgres:postgres "$CLUSTER_DIR/$node.yml"
  chmod 600 "$CLUSTER_DIR/$node.yml"
}

# pgBackRest's configuration: one repository on the local disk, encrypted (AES-256, its passphrase
# among the secrets, so a copy of the repository alone reveals nothing), compressed with zstd,
# keeping seven full backups and the WAL to restore to any moment since the oldest. Which node is
# the primary changes: each command names its pg1-path (the node's archive_command, the
# primary's for a backup, a new directory for a restore). The postgres user's alone (mode 600).
write_pgbackrest_config() {
  mkdir -p "$BACKUP_DIR" "$CLUSTER_DIR/pgbackrest"
  chmod 700 "$BACKUP_DIR" "$CLUSTER_DIR/pgbackrest"
  is_root && chown postgres:postgres "$BACKUP_DIR" "$CLUSTER_DIR/pgbackrest"
  (umask 077 && cat > "$PGBACKREST_CONF.new" <<CONF
[global]
repo1-path=$BACKUP_DIR
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass=$(secret backup-cipher-pass)
repo1-retention-full=7
compress-type=zst
start-fast=y
process-max=1
lock-path=$CLUSTER_DIR/pgbackrest
log-level-file=off
log-level-console=warn

[$STANZA]
pg1-user=postgres
CONF
  )
  is_root && chown postgres:postgres "$PGBACKREST_CONF.new"
  mv "$PGBACKREST_CONF.new" "$PGBACKREST_CONF"
}

# pgbackrest ARGS...: pgBackRest as the database's user, with this topology's configuration.
pgbackrest_cmd() {
  as_db_user pgbackrest --config="$PGBACKREST_CONF" --stanza="$STANZA" "$@"
}

# The options that point pgBackRest at the primary's data directory and socket, or nothing when
# no node is the primary.
primary_pg_options() {
  local leader
  leader=$(leader_name)
  [ -n "$leader" ] || return 1
  echo "--pg1-path=$CLUSTER_DIR/$leader/data --pg1-socket-path=$CLUSTER_DIR/$leader --pg1-port=$(node_pg_port "$leader")"
}

# The repository's stanza, made once (again, it checks the repository matches this cluster), and
# a first full backup, so that a restore is possible from the start.
ensure_backups() {
  local pg_options
  pg_options=$(primary_pg_options) || fail "no primary to make the backup stanza on"
  # shellcheck disable=SC2086 # the options are words
  pgbackrest_cmd $pg_options stanza-create > /dev/null || fail "pgBackRest could not make the stanza; see above"
  # shellcheck disable=SC2086
  pgbackrest_cmd $pg_options check > /dev/null || fail "WAL archiving does not reach the repository; see above"
  if [ "$(backup_count)" = 0 ]; then
    step "taking the first full backup"
    if ! "$REPO_ROOT/deploy/local/backup" --full | sed 's/^/    /'; then
      fail "the first full backup failed"
    fi
  fi
  note "backups: $(backup_count) in $BACKUP_DIR; WAL archived continuously"
}

# pgBackRest's account of the repository, as JSON.
backup_info_json() {
  pgbackrest_cmd --output=json info
}

backup_count() {
  backup_info_json | /usr/bin/python3 -I -c 'import json,sys; print(sum(len(s.get("backup", [])) for s in json.load(sys.stdin)))'
}

# The restored copy's server, when one runs.
restore_running() {
  [ -f "$RESTORE_DIR/data/postmaster.pid" ] && as_db_user "$PG_BIN/pg_ctl" -D "$RESTORE_DIR/data" status > /dev/null 2>&1
}

stop_restore() {
  if restore_running; then
    as_db_user "$PG_BIN/pg_ctl" -D "$RESTORE_DIR/data" -m fast -w stop > /dev/null
    note "stopped the restored copy"
  fi
}

# Prometheus's configuration: every logic and portal instance, each Patroni, each node's
# PostgreSQL (through its exporter), HAProxy, the host (with the textfile metrics) and itself,
# every 10 s; the alert rules of deploy/monitoring, evaluated every 5 s.
write_prometheus_config() {
  local node postgres_targets="" patroni_targets="" instance logic_targets="" portal_targets=""
  # The monitoring services are known by their own certificate's name, not by the address alone
  # (which every certificate of the topology names).
  local monitoring_tls="{ca_file: $CA_FILE, server_name: monitoring.bank.internal}"
  for node in "${NODES[@]}"; do
    patroni_targets+="      - targets: ['$(node_host "$node"):$(node_rest_port "$node")']
        labels: {node: $node}
"
    postgres_targets+="      - targets: ['127.0.0.1:$(postgres_exporter_port "$node")']
        labels: {node: $node}
"
  done
  for instance in "${LOGIC_INSTANCES[@]}"; do
    logic_targets+="      - targets: ['127.0.0.1:$(instance_port "$instance")']
        labels: {instance_name: $instance}
"
  done
  for instance in "${PORTAL_INSTANCES[@]}"; do
    portal_targets+="      - targets: ['127.0.0.1:$(instance_port "$instance")']
        labels: {instance_name: $instance}
"
  done
  mkdir -p "$STATE_DIR/prometheus" "$TEXTFILE_DIR"
  chmod 755 "$TEXTFILE_DIR"
  if is_root && id prometheus > /dev/null 2>&1; then chown prometheus: "$STATE_DIR/prometheus"; fi
  chmod 700 "$STATE_DIR/prometheus"
  cat > "$CLUSTER_DIR/prometheus.yml.new" <<YAML
global:
  scrape_interval: 10s
  scrape_timeout: 5s
  evaluation_interval: 5s
  external_labels:
    topology: bank-$PORT_OFFSET
    host: $(hostname -f 2> /dev/null || hostname)
rule_files:
  - $CLUSTER_DIR/alerts.yml
alerting:
  alertmanagers:
    - scheme: https
      tls_config: $monitoring_tls
      static_configs:
        - targets: ['127.0.0.1:$ALERTMANAGER_PORT']
scrape_configs:
  - job_name: logic
    scheme: https
    tls_config: {ca_file: $CA_FILE}
    static_configs:
$logic_targets  - job_name: portal
    scheme: https
    tls_config: {ca_file: $CA_FILE}
    static_configs:
$portal_targets  - job_name: patroni
    scheme: https
    tls_config: {ca_file: $CA_FILE}
    static_configs:
$patroni_targets  - job_name: postgres
    scheme: https
    tls_config: $monitoring_tls
    static_configs:
$postgres_targets  - job_name: haproxy
    scheme: https
    tls_config: $monitoring_tls
    static_configs:
      - targets: ['127.0.0.1:$HAPROXY_METRICS_PORT']
  - job_name: node
    scheme: https
    tls_config: $monitoring_tls
    static_configs:
      - targets: ['127.0.0.1:$NODE_EXPORTER_PORT']
  - job_name: prometheus
    scheme: https
    tls_config: $monitoring_tls
    static_configs:
      - targets: ['127.0.0.1:$PROMETHEUS_PORT']
  - job_name: alertmanager
    scheme: https
    tls_config: $monitoring_tls
    static_configs:
      - targets: ['127.0.0.1:$ALERTMANAGER_PORT']
YAML
  # Copies the services' users can read wherever the checkout is.
  install -m 644 "$MONITORING_DIR/alerts.yml" "$MONITORING_DIR/postgres-queries.yml" "$CLUSTER_DIR/"
  chmod 644 "$CLUSTER_DIR/prometheus.yml.new"
  mv "$CLUSTER_DIR/prometheus.yml.new" "$CLUSTER_DIR/prometheus.yml"
}

# Alertmanager's configuration: every alert to one receiver, the operators' pager, through the
# webhook in ALERT_WEBHOOK_FILE (none: Alertmanager holds the alerts, for status and its own
# API, and sends them nowhere). Grouped per alert and node or instance; a page repeated hourly
# while it fires, a ticket twice a day, and each one's end sent too. BankAlertingWorks, which
# always fires, goes every five minutes: the pager's service raises its own alarm when it stops
# coming (Prometheus, Alertmanager or the way between them gone). The URL may hold the pager's
# token: the file is for root and Alertmanager's user alone. The receiver's name carries a digest of
# the URL: Alertmanager remembers what it sent by receiver, so a new pager is sent every alert that
# fires, not only those that start after the change.
write_alertmanager_config() {
  local name=operators
  [ -s "$ALERT_WEBHOOK_FILE" ] && name+="-$(sha256sum < "$ALERT_WEBHOOK_FILE" | cut -c1-8)"
  local receiver="  - name: $name"
  if [ -s "$ALERT_WEBHOOK_FILE" ]; then
    receiver+="
    webhook_configs:
      - url: '$(cat "$ALERT_WEBHOOK_FILE")'
        send_resolved: true
        max_alerts: 50"
  fi
  mkdir -p "$STATE_DIR/alertmanager"
  chmod 700 "$STATE_DIR/alertmanager"
  install -m 600 /dev/null "$CLUSTER_DIR/alertmanager.yml.new"
  if is_root && id prometheus > /dev/null 2>&1; then
    chown prometheus: "$STATE_DIR/alertmanager"
    chgrp prometheus "$CLUSTER_DIR/alertmanager.yml.new"
    chmod 640 "$CLUSTER_DIR/alertmanager.yml.new"
  fi
  cat > "$CLUSTER_DIR/alertmanager.yml.new" <<YAML
route:
  receiver: $name
  group_by: [alertname, node, instance_name, job, instance, certificate, mountpoint]
  group_wait: 10s
  group_interval: 1m
  repeat_interval: 1h
  routes:
    - matchers: ['severity="heartbeat"']
      group_wait: 0s
      repeat_interval: 5m
    - matchers: ['severity="ticket"']
      repeat_interval: 12h
receivers:
$receiver
YAML
  # Alertmanager would refuse it at its next reload, keep the old one and say so only in its log.
  # Its answer may quote the pager's URL: root's alone.
  (umask 077 && amtool check-config "$CLUSTER_DIR/alertmanager.yml.new" > "$CLUSTER_DIR/alertmanager.check" 2>&1) \
    || fail "Alertmanager refuses its configuration; amtool check-config says why in $CLUSTER_DIR/alertmanager.check"
  rm -f "$CLUSTER_DIR/alertmanager.check"
  mv "$CLUSTER_DIR/alertmanager.yml.new" "$CLUSTER_DIR/alertmanager.yml"
}

# The pager's address as the operator may see it: scheme, host and port, never the path or the
# query (a token); "nowhere" without one.
alert_destination() {
  if [ -s "$ALERT_WEBHOOK_FILE" ]; then
    sed -E 's#^(https?://[^/?]+).*#\1#' "$ALERT_WEBHOOK_FILE"
  else
    echo nowhere
  fi
}

# Alertmanager's HTTP API: alertmanager_api PATH [curl options...].
alertmanager_api() {
  local path=$1
  shift
  curl -fsS --max-time 5 "https://127.0.0.1:$ALERTMANAGER_PORT$path" "$@"
}

# The expiry of each certificate the topology serves with, for the certificate alert (written by
# up, which is what issues them).
write_certificate_metrics() {
  local name end
  mkdir -p "$TEXTFILE_DIR"
  {
    echo "# HELP bank_certificate_expiry_timestamp_seconds When the certificate stops being valid, as a Unix time."
    echo "# TYPE bank_certificate_expiry_timestamp_seconds gauge"
    for name in ca db etcd logic portal edge monitoring; do
      [ -s "$TLS_DIR/$name.crt" ] || continue
      end=$(date -d "$(openssl x509 -noout -enddate -in "$TLS_DIR/$name.crt" | cut -d= -f2)" +%s)
      echo "bank_certificate_expiry_timestamp_seconds{certificate=\"$name\"} $end"
    done
  } > "$TEXTFILE_DIR/certificates.prom.new"
  chmod 644 "$TEXTFILE_DIR/certificates.prom.new"
  mv "$TEXTFILE_DIR/certificates.prom.new" "$TEXTFILE_DIR/certificates.prom"
}

# The API as a customer (alice, of the demo bank) sees it, for the drills: customer_api balances
# RUN (each account's id and balance) or customer_api transfers RUN PREFIX COUNT (COUNT transfers
# between her two EUR accounts, memos PREFIX-0…, idempotency keys RUN-memo; each printed as the id
# the API acknowledged and its memo).
customer_api() {
  /usr/bin/python3 -I - "$1" "https://127.0.0.1:$LOGIC_PORT" "$CA_FILE" "$(cat "$STATE_DIR/secrets/cli.key")" "${@:2}" <<'PY'
import json, ssl, sys, urllib.error, urllib.request
command, base, ca, key, state = sys.argv[1:6]
context = ssl.create_default_context(cafile=ca)
def call(method, path, body=None, token=None, idempotency_key=None):
    headers = {"X-Api-Key": key, "Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, context=context, timeout=60) as answer:
            return json.load(answer)
    except urllib.error.HTTPError as error:
        sys.exit("%s %s: %d %s" % (method, path, error.code, error.read().decode(errors="replace")))
token = call("POST", "/v1/sessions", {"username": "alice", "password": "alice-demo-pass"})["token"]
accounts = call("GET", "/v1/accounts", token=token)
accounts = accounts.get("accounts", accounts) if isinstance(accounts, dict) else accounts
eur = [a for a in accounts if a["currency"] == "EUR"]
if command == "balances":
    for a in sorted(accounts, key=lambda a: a["id"]):
        print(a["id"], a["ledger_balance"])
elif command == "transfers":
    prefix, count = sys.argv[6], int(sys.argv[7])
    if len(eur) < 2:
        sys.exit("alice has fewer than two EUR accounts")
    for n in range(count):
        memo = "%s-%d" % (prefix, n)
        debit, credit = (eur[0], eur[1]) if n % 2 == 0 else (eur[1], eur[0])
        answer = call("POST", "/v1/transfers", {"debit_account": debit["number"], "credit_account": credit["number"],
                      "amount": "1.%02d" % (n + 1), "currency": "EUR", "memo": memo},
                      token=token, idempotency_key=state + "-" + memo)
        print(answer["id"], memo)
PY
}
# Prometheus's HTTP API: prometheus_api PATH [curl options...].
prometheus_api() {
  local path=$1
  shift
  curl -fsS --max-time 5 "https://127.0.0.1:$PROMETHEUS_PORT$path" "$@"
}

# The public edge's own answers as short pages a customer can read, in place of HAProxy's bare
# ones: a form too large (413), a request too slow to arrive (408), one it cannot read (400), and
# no portal instance able to answer (502, 503, 504). Each is a whole HTTP response, as errorfile
# wants it; no script, no style, nothing fetched.
write_edge_pages() {
  local dir="$CLUSTER_DIR/edge-pages" code reason title message
  mkdir -p "$dir"
  while IFS='|' read -r code reason title message; do
    local body="<!doctype html>
<html lang=\"en\"><head><meta charset=\"utf-8\"><title>$title · Northgate Bank</title></head>
<body><h1>$title</h1><p>$message</p><p><a href=\"/\">Go to your accounts</a></p></body></html>
"
    printf 'HTTP/1.1 %s %s\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: %s\r\nCache-Control: no-store\r\nContent-Security-Policy: default-src '"'"'none'"'"'\r\nX-Content-Type-Options: nosniff\r\nStrict-Transport-Security: max-age=31536000\r\nConnection: close\r\n\r\n%s' \
      "$code" "$reason" "$(printf '%s' "$body" | wc -c)" "$body" > "$dir/$code.http"
  done <<'PAGES'
400|Bad Request|This request could not be read|Your browser sent something the bank could not read, and nothing was changed. Go back, reload the page and try again.
408|Request Timeout|This request took too long to arrive|The bank stopped waiting for your browser to finish sending, and nothing was changed. Check your connection and try again.
411|Length Required|This request could not be read|Your browser sent a form without saying how long it is, and nothing was changed. Go back, reload the page and try again.
413|Payload Too Large|This form is too large|What was sent is larger than any form of the bank, and nothing was changed. Go back and try again with less text.
431|Request Header Fields Too Large|This request is too large|Your browser sent more than the bank reads with a page (often too many cookies for this site), and nothing was changed. Clear this site's cookies, then sign in again.
502|Bad Gateway|The bank is briefly unavailable|We could not reach our systems just now. Nothing was lost. If you had just sent a payment, look at your account's history before sending it again.
503|Service Unavailable|The bank is briefly unavailable|We could not reach our systems just now. Nothing was lost. If you had just sent a payment, look at your account's history before sending it again.
504|Gateway Timeout|The bank is briefly unavailable|Our systems took too long to answer. If you had just sent a payment, look at your account's history before sending it again: it may have gone through.
PAGES
}

# The digest of HAProxy's configuration (with its edge pages), and where up keeps the one the
# running HAProxy serves, so that a configuration written but not yet taken (by an up cut short)
# is taken at the next up.
haproxy_config_digest() {
  cat "$CLUSTER_DIR/haproxy.cfg" "$CLUSTER_DIR"/edge-pages/* 2> /dev/null | sha256sum | cut -d' ' -f1
}
haproxy_serves_its_config() {
  [ "$(haproxy_config_digest)" = "$(cat "$CLUSTER_DIR/haproxy.running" 2> /dev/null)" ]
}
haproxy_took_its_config() {
  haproxy_config_digest > "$CLUSTER_DIR/haproxy.running"
}

write_haproxy_config() {
  local servers="" node instance logic_servers="" portal_servers=""
  write_edge_pages
  for instance in "${LOGIC_INSTANCES[@]}"; do
    logic_servers+="  server $instance 127.0.0.1:$(instance_port "$instance") check"$'\n'
  done
  for instance in "${PORTAL_INSTANCES[@]}"; do
    portal_servers+="  server $instance 127.0.0.1:$(instance_port "$instance") check"$'\n'
  done
  # Health checks ask Patroni over HTTPS; the database traffic itself is TLS end to end (HAProxy
  # passes the bytes, the client checks the node's certificate).
  for node in "${NODES[@]}"; do
    servers+="  server $node $(node_host "$node"):$(node_pg_port "$node") check port $(node_rest_port "$node") check-ssl verify required ca-file $CA_FILE verifyhost db.bank.internal"$'\n'
  done
  # Both HTTP edges: a client has 10 s to send a request's headers, then 10 s for its body, and
  # 45 s between two requests (longer than the portal's 30 s pool of idle connections to the
  # API, so the balancer never closes one the portal is about to reuse). A client that stalls is
  # answered 408 and cut, so slow or silent clients (slowloris) cannot hold the balancer's
  # connections, and no instance waits on a half-sent body: the whole request is read here
  # first. It fits in one buffer (tune.bufsize below): headers of at most 8 KiB (431 past that)
  # and a body of at most 16 KiB (413), both refused before the body is asked for. Once the
  # request is in, the client side may wait as long as the server side (45 s; the event feed's
  # long poll is 20 s). Each edge takes at most 1,500 connections, so clients filling one
  # leave the database's listeners their share of the 4,000. On the public edge (the portal's)
  # one address holds at most 200 of them: a single host cannot take the edge for itself, while
  # an office behind one address keeps room for its browsers (each keeps a few). A connection
  # past that is closed as it arrives, before any TLS is spent on it. The API's edge has no such
  # limit: its clients are the portal's instances and the bank's own services, each of which
  # carries many customers' requests from one address.
  local slow_clients whole_body per_source
  slow_clients=$'  maxconn 1500\n  timeout http-request 10s\n  timeout http-keep-alive 45s\n  timeout client 45s'
  whole_body=$'  http-request wait-for-body time 10s'
  per_source=$'  stick-table type ipv6 size 100k expire 60s store conn_cur\n  tcp-request connection track-sc0 src\n  tcp-request connection reject if { sc0_conn_cur gt 200 }'
  # It holds the statistics page's password.
  (umask 077 && : > "$CLUSTER_DIR/haproxy.cfg")
  cat > "$CLUSTER_DIR/haproxy.cfg" <<CFG
global
  maxconn 4000
  # Room for a whole request of the HTTP edges (8 KiB of headers, 16 KiB of body) and the
  # buffer's reserve: a request that fills the buffer would be passed on before its body is in.
  tune.bufsize 32768
  # The runtime API, for operators (root) only: what each stream is doing, and cutting one.
  stats socket $CLUSTER_DIR/haproxy.sock mode 600 level admin
  ssl-default-bind-options ssl-min-ver TLSv1.2
  ssl-default-server-options ssl-min-ver TLSv1.2

defaults
  timeout connect 2s
  timeout client 30m
  timeout server 30m
  timeout check 2s

# The writable endpoint: only the node whose Patroni says it is the primary (a node that lost its
# leader key says so on /primary even before it has demoted). When a node stops being primary,
# or stops answering, its sessions are cut so clients reconnect to the new one at once.
listen primary
  mode tcp
  bind 127.0.0.1:$PG_PORT
  option httpchk GET /primary
  http-check expect status 200
  default-server inter 500ms fastinter 250ms fall 2 rise 1 on-marked-down shutdown-sessions
$servers
# Read-only endpoint: the replicas, for reads that tolerate a little staleness.
listen replicas
  mode tcp
  bind 127.0.0.1:$REPLICA_PORT
  balance roundrobin
  option httpchk GET /replica
  http-check expect status 200
  default-server inter 1s fall 2 rise 1 on-marked-down shutdown-sessions
$servers
# The logic instances. A frozen or very slow instance fails its health check within about 1.5 s:
# it is marked down and the requests waiting on it are cut, so clients retry on the other one.
# A request is sent again to another instance only when that is safe: a GET or HEAD, or a POST
# with an Idempotency-Key to an operation that keeps its answer under that key (the logic tier
# answers a repeat from its stored result). Any other POST is never replayed; a refused
# connection never reached anyone and is always retried. The list of keyed operations is checked
# against the API's own document by a test (logic's tests/it/contract.rs).
listen logic
  mode http
  bind 127.0.0.1:$LOGIC_PORT ssl crt $TLS_DIR/edge.pem alpn http/1.1
$slow_clients
  balance roundrobin
  option httpchk GET /healthz
  timeout check 800ms
  retries 3
  retry-on conn-failure empty-response response-timeout
  # A body over the instances' limit (16 KiB, BODY_MAX_BYTES in both tiers) is refused here,
  # whole: an instance that refused it half-read would cut the connection under the client.
  http-request deny deny_status 413 if { req.hdr_val(content-length) gt 16384 }
  # A body of unannounced length (chunked) could not be measured before it is passed on: the
  # bank wants the length first (411), as every browser and HTTP library can send it.
  http-request return status 411 content-type application/problem+json string '{"type":"about:blank","title":"Length Required","status":411,"code":"length_required","detail":"send the body with a Content-Length; chunked bodies are not accepted"}' if { req.hdr(transfer-encoding) -m found }
  http-request return status 431 content-type application/problem+json string '{"type":"about:blank","title":"Request Header Fields Too Large","status":431,"code":"headers_too_large","detail":"send at most 8 KiB of headers"}' if { req.hdrs,length gt 8192 }
$whole_body
  # Metrics are scraped from each instance's own address, never through the balancer.
  http-request deny deny_status 404 if { path /metrics }
  # keyed-operations
  acl keyed_operation path_reg ^/v1/(transfers(/[^/]+/reversals)?|cash/(deposits|withdrawals)|drawers(/[^/]+/(close|vault-transfers))?|pending-transfers(/[^/]+/(post|void))?|transfer-batches)\$
  http-request disable-l7-retry unless METH_GET || METH_HEAD || METH_POST keyed_operation { req.hdr(idempotency-key) -m found }
  option redispatch 1
  # Longer than the logic tier's retry budget (30 s), which covers a database failover.
  timeout server 45s
  # HTTPS to the instances too, their certificate checked.
  default-server inter 300ms fastinter 150ms fall 2 rise 2 on-marked-down shutdown-sessions ssl verify required ca-file $CA_FILE verifyhost logic.bank.internal
$logic_servers
# The portal instances; no sticky sessions: either serves any customer. Same rules as the API;
# a browser's form POST is never replayed.
listen portal
  mode http
  # HTTPS only; browsers are told to come back over HTTPS alone for a year (HSTS).
  bind 127.0.0.1:$PORTAL_PORT ssl crt $TLS_DIR/edge.pem alpn http/1.1
$slow_clients
$per_source
  http-response set-header Strict-Transport-Security "max-age=31536000"
  balance roundrobin
  option httpchk GET /healthz
  timeout check 800ms
  # The public edge names every request and records the address it sees, whatever a browser
  # sends: X-Request-Id is always a fresh one, X-Forwarded-For is set (never appended to).
  http-request set-header X-Request-Id %[uuid]
  http-request set-header X-Forwarded-For %[src]
  http-request deny deny_status 413 if { req.hdr_val(content-length) gt 16384 }
  http-request return errorfile $CLUSTER_DIR/edge-pages/411.http if { req.hdr(transfer-encoding) -m found }
  http-request return errorfile $CLUSTER_DIR/edge-pages/431.http if { req.hdrs,length gt 8192 }
  errorfile 400 $CLUSTER_DIR/edge-pages/400.http
  errorfile 408 $CLUSTER_DIR/edge-pages/408.http
  errorfile 413 $CLUSTER_DIR/edge-pages/413.http
  errorfile 502 $CLUSTER_DIR/edge-pages/502.http
  errorfile 503 $CLUSTER_DIR/edge-pages/503.http
  errorfile 504 $CLUSTER_DIR/edge-pages/504.http
$whole_body
  http-request deny deny_status 404 if { path /metrics }
  retries 3
  retry-on conn-failure empty-response response-timeout
  http-request disable-l7-retry unless METH_GET || METH_HEAD
  option redispatch 1
  timeout server 45s
  default-server inter 300ms fastinter 150ms fall 2 rise 2 on-marked-down shutdown-sessions ssl verify required ca-file $CA_FILE verifyhost portal.bank.internal
$portal_servers
# HAProxy's own series for Prometheus (read-only; the port is for root and Prometheus alone:
# fence_etcd).
frontend metrics
  mode http
  bind 127.0.0.1:$HAPROXY_METRICS_PORT ssl crt $TLS_DIR/monitoring.pem alpn http/1.1
  http-request use-service prometheus-exporter if { path /metrics }
  http-request return status 404

# Statistics for operators only (haproxy_stats below).
listen stats
  mode http
  bind 127.0.0.1:$HAPROXY_STATS_PORT ssl crt $TLS_DIR/edge.pem alpn http/1.1
  stats enable
  stats uri /
  stats auth ops:$(secret haproxy-stats)
CFG
}

# supervisord's configuration: one program per long-running process, restarted whenever it
# dies. Programs do not start with supervisord: deploy/local/up starts them in order (the
# database before the schema migration, the API before the portal); once started, supervisord
# keeps them running. Groups stop together (all database nodes at once, so no replica takes
# over from a primary that is only stopping).
write_supervisor_config() {
  # Where each logic instance keeps the newest audit record it vouched for, off the database
  # (BANK_AUDIT_ANCHOR_FILE): root's alone, as the instances are.
  (umask 077 && mkdir -p "$STATE_DIR/audit-anchors")
  mkdir -p "$SUPERVISOR_DIR"
  chmod 700 "$SUPERVISOR_DIR"
  local as_postgres="" as_etcd="" member node name port peers=() etcd_user="" postgres_home=""
  if is_root; then
    as_postgres="setpriv --reuid=postgres --regid=postgres --init-groups --"
    postgres_home="HOME=\"$(getent passwd postgres | cut -d: -f6)\""
    if id etcd >/dev/null 2>&1; then
      etcd_user=etcd
      as_etcd="setpriv --reuid=etcd --regid=etcd --init-groups --"
    fi
  fi
  for member in "${ETCD_MEMBERS[@]}"; do
    peers+=("$member=$(etcd_peer_url "$member")")
  done
  {
    cat <<CONF
[unix_http_server]
file=$SUPERVISOR_DIR/supervisor.sock
chmod=0700

[supervisord]
; Logs name customers, accounts and users: not for other users of the host.
umask=027
directory=/
logfile=$LOG_DIR/supervisord.log
logfile_maxbytes=10MB
logfile_backups=3
pidfile=$SUPERVISOR_DIR/supervisord.pid
childlogdir=$LOG_DIR

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://$SUPERVISOR_DIR/supervisor.sock

[group:etcd]
programs=$(IFS=,; echo "${ETCD_MEMBERS[*]}")
priority=10

[group:db]
programs=$(IFS=,; echo "${NODES[*]}")
priority=20

[group:ops]
programs=backup-schedule,prometheus,alertmanager,node-exporter,$(for node in "${NODES[@]}"; do printf 'postgres-exporter-%s,' "$node"; done | sed 's/,$//')
priority=60
CONF
    for member in "${ETCD_MEMBERS[@]}"; do
      mkdir -p "$CLUSTER_DIR/$member"
      chmod 700 "$CLUSTER_DIR/$member"
      [ -n "$etcd_user" ] && chown "$etcd_user:" "$CLUSTER_DIR/$member"
      supervisor_program "$member" 15 "" \
        "$(on_node "$member") $as_etcd /usr/bin/etcd --name $member --data-dir $CLUSTER_DIR/$member \
--listen-client-urls $(etcd_client_url "$member") --advertise-client-urls $(etcd_client_url "$member") \
--cert-file $TLS_DIR/etcd.crt --key-file $TLS_DIR/etcd.key \
--listen-peer-urls $(etcd_peer_url "$member") --initial-advertise-peer-urls $(etcd_peer_url "$member") \
--peer-cert-file $TLS_DIR/etcd.crt --peer-key-file $TLS_DIR/etcd.key \
--peer-trusted-ca-file $CA_FILE --peer-client-cert-auth \
--initial-cluster $(IFS=,; echo "${peers[*]}") --initial-cluster-token bank-$PORT_OFFSET \
--initial-cluster-state new"
    done
    for node in "${NODES[@]}"; do
      # Patroni stops its PostgreSQL on SIGTERM; a fast shutdown may need a checkpoint first.
      # Under the postgres user's own home: libpq looks there for client certificates, and root's
      # is closed to it.
      supervisor_program "$node" 60 "$postgres_home" "$(on_node "$node") $as_postgres $PATRONI $CLUSTER_DIR/$node.yml"
    done
    supervisor_program haproxy 10 "" "/usr/sbin/haproxy -f $CLUSTER_DIR/haproxy.cfg -db"
    echo "priority=30"
    # Full and incremental backups on a schedule (deploy/local/backup --schedule); the topology's
    # environment passed on, so it acts on this state directory.
    supervisor_program backup-schedule 30 \
      "BANK_STATE_DIR=\"$STATE_DIR\",BANK_PORT_OFFSET=\"$PORT_OFFSET\",BANK_BACKUP_FULL_EVERY=\"${BANK_BACKUP_FULL_EVERY:-86400}\",BANK_BACKUP_INCR_EVERY=\"${BANK_BACKUP_INCR_EVERY:-3600}\"" \
      "$REPO_ROOT/deploy/local/backup --schedule"
    local as_prometheus=""
    if is_root && id prometheus > /dev/null 2>&1; then
      as_prometheus="setpriv --reuid=prometheus --regid=prometheus --init-groups --"
    fi
    # Prometheus 2 from Debian: its data in the state directory, kept 15 days; no admin API.
    supervisor_program prometheus 30 "" \
      "$as_prometheus /usr/bin/prometheus --config.file=$CLUSTER_DIR/prometheus.yml \
--storage.tsdb.path=$STATE_DIR/prometheus --storage.tsdb.retention.time=15d \
--web.listen-address=127.0.0.1:$PROMETHEUS_PORT --web.config.file=$TLS_DIR/monitoring-web.yml \
--web.external-url=https://127.0.0.1:$PROMETHEUS_PORT"
    # Alertmanager from Debian, alone (no peers: its gossip port is off), its silences and
    # notification log in the state directory.
    supervisor_program alertmanager 10 "" \
      "$as_prometheus /usr/bin/prometheus-alertmanager --config.file=$CLUSTER_DIR/alertmanager.yml \
--storage.path=$STATE_DIR/alertmanager --web.listen-address=127.0.0.1:$ALERTMANAGER_PORT \
--web.config.file=$TLS_DIR/monitoring-web.yml --web.external-url=https://127.0.0.1:$ALERTMANAGER_PORT \
--cluster.listen-address="
    # The host (file systems: the repository's disk) and the textfile metrics.
    supervisor_program node-exporter 10 "" \
      "$as_prometheus /usr/bin/prometheus-node-exporter --web.listen-address=127.0.0.1:$NODE_EXPORTER_PORT \
--web.config.file=$TLS_DIR/monitoring-web.yml \
--collector.disable-defaults --collector.textfile --collector.textfile.directory=$TEXTFILE_DIR \
--collector.filesystem --collector.loadavg --collector.meminfo --collector.cpu"
    for node in "${NODES[@]}"; do
      # Each node's PostgreSQL, as bank_monitor (pg_monitor's rights, no superuser) on its socket,
      # with the bank's own queries (the audit chain, WAL archiving).
      supervisor_program "postgres-exporter-$node" 10 \
        "DATA_SOURCE_NAME=\"host=$CLUSTER_DIR/$node port=$(node_pg_port "$node") user=bank_monitor password=$(secret db-monitor-password) dbname=bank sslmode=disable\"" \
        "$as_prometheus /usr/bin/prometheus-postgres-exporter --web.listen-address=127.0.0.1:$(postgres_exporter_port "$node") \
--web.config.file=$TLS_DIR/monitoring-web.yml \
--extend.query-path=$CLUSTER_DIR/postgres-queries.yml"
    done
    # Each instance a program of its own, in no group: deploy/local/scale adds or removes one
    # without supervisord restarting the others (it restarts a whole group whose list changes).
    for name in "${LOGIC_INSTANCES[@]}"; do
      port=$(instance_port "$name")
      supervisor_program "$name" 35 \
        "BANK_DATABASE_URL=\"$(database_url)\",BANK_LISTEN_ADDR=\"127.0.0.1:$port\",BANK_LOG_FORMAT=\"json\",BANK_PATRONI_URLS=\"$(patroni_urls)\",BANK_CA_FILE=\"$CA_FILE\",BANK_TLS_CERT_FILE=\"$TLS_DIR/logic.crt\",BANK_TLS_KEY_FILE=\"$TLS_DIR/logic.key\",BANK_SECRETS_KEY_FILE=\"$SERVER_KEY_FILE\",BANK_AUDIT_ANCHOR_FILE=\"$STATE_DIR/audit-anchors/$name\",BANK_GROUP_COMMIT=\"${BANK_GROUP_COMMIT:-on}\"$(group_commit_knobs)$(trace_export "$name")" \
        "$RELEASE_DIR/logic serve"
      echo "priority=40"
    done
    for name in "${PORTAL_INSTANCES[@]}"; do
      port=$(instance_port "$name")
      supervisor_program "$name" 35 \
        "PORTAL_LISTEN_ADDR=\"127.0.0.1:$port\",PORTAL_TLS_CERT_FILE=\"$TLS_DIR/portal.crt\",PORTAL_TLS_KEY_FILE=\"$TLS_DIR/portal.key\",BANK_LOGIC_URL=\"https://127.0.0.1:$LOGIC_PORT\",BANK_LOGIC_CA_FILE=\"$CA_FILE\",PORTAL_SERVICE_KEY_FILE=\"$STATE_DIR/secrets/presentation.key\",PORTAL_STATIC_DIR=\"$REPO_ROOT/static\",PORTAL_LOG_FORMAT=\"json\"$(trace_export "$name")" \
        "$RELEASE_DIR/presentation"
      echo "priority=50"
    done
  } > "$SUPERVISOR_CONF.new"
  chmod 600 "$SUPERVISOR_CONF.new"
  mv "$SUPERVISOR_CONF.new" "$SUPERVISOR_CONF"
}

# The group commit knobs an operator set for this run (BANK_GROUP_COMMIT_WINDOW_US, …_MAX_BATCH,
# …_WORKERS), as supervisor environment entries; unset ones keep the logic tier's defaults.
group_commit_knobs() {
  local knob
  for knob in WINDOW_US MAX_BATCH WORKERS; do
    local var="BANK_GROUP_COMMIT_$knob"
    [ -n "${!var:-}" ] && printf ',%s="%s"' "$var" "${!var}"
  done
  return 0
}

# trace_export INSTANCE: where the instance sends its traces, if up was given a collector
# (OTEL_EXPORTER_OTLP_ENDPOINT, kept in TRACE_ENDPOINT_FILE), as supervisor environment entries,
# the instance named in its spans; nothing otherwise, and nothing leaves the process.
trace_export() {
  [ -s "$TRACE_ENDPOINT_FILE" ] || return 0
  printf ',OTEL_EXPORTER_OTLP_ENDPOINT="%s",OTEL_RESOURCE_ATTRIBUTES="service.instance.id=%s"' \
    "$(cat "$TRACE_ENDPOINT_FILE")" "$1"
}

# supervisor_program NAME STOP_WAIT_S ENVIRONMENT COMMAND: one [program:] section. A process
# that dies is started again at once (autorestart); its output goes to a log rotated at 50 MB.
supervisor_program() {
  local name=$1 stop_wait=$2 environment=$3 command=$4
  command="$(echo "$command" | tr -s ' ' | sed 's/^ //')"
  # Every program starts in /: never in the directory up was run from, where another user's
  # files could shadow what a root process loads (a python3 module, say).
  cat <<CONF

[program:$name]
command=$command
directory=/
autostart=false
autorestart=true
startsecs=1
startretries=10
stopsignal=TERM
stopwaitsecs=$stop_wait
redirect_stderr=true
stdout_logfile=$LOG_DIR/$name.log
stdout_logfile_maxbytes=50MB
stdout_logfile_backups=5
CONF
  [ -n "$environment" ] && echo "environment=$environment"
  return 0
}

# supervisorctl against this state directory's supervisord.
supervise() {
  supervisorctl -c "$SUPERVISOR_CONF" "$@"
}

supervisord_running() {
  [ -S "$SUPERVISOR_DIR/supervisor.sock" ] && supervise pid >/dev/null 2>&1
}

# Starts supervisord, or makes a running one read its configuration again (programs whose
# configuration changed are restarted; the others are left alone).
ensure_supervisord() {
  write_supervisor_config
  if supervisord_running; then
    supervise update >/dev/null
  else
    step "starting supervisord"
    supervisord -c "$SUPERVISOR_CONF"
    for _ in $(seq 1 50); do
      supervisord_running && return 0
      sleep 0.1
    done
    fail "supervisord did not start; see $LOG_DIR/supervisord.log"
  fi
}

# The supervisor's name of a process: etcd:etcd1, db:pg1, ops:prometheus; haproxy, logic1 and
# portal1 are in no group.
program_of() {
  case "$1" in
    etcd*) echo "etcd:$1" ;;
    pg*) echo "db:$1" ;;
    backup-schedule|prometheus|alertmanager|node-exporter|postgres-exporter-*) echo "ops:$1" ;;
    *) echo "$1" ;;
  esac
}

# The pid of a supervised process, or nothing when it is not running.
program_pid() {
  local pid
  # With no name supervisorctl answers supervisord's own pid: never a process of the topology.
  [ -n "${1:-}" ] || return 0
  pid=$(supervise pid "$(program_of "$1")" 2>/dev/null || true)
  [[ "$pid" =~ ^[1-9][0-9]*$ ]] && echo "$pid"
  return 0
}

# start_programs NAME...: starts those not running yet (supervisorctl waits for each to stay up
# for a second).
start_programs() {
  local name pid exe
  for name in "$@"; do
    pid=$(program_pid "$name")
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
    if [ -n "$pid" ] && [[ "$exe" == "$RELEASE_DIR/"*" (deleted)" ]]; then
      # Runs a binary the build has since replaced: restart it on the new one, and wait until it
      # serves before the next, so one instance of each tier always answers.
      supervise restart "$(program_of "$name")" >/dev/null || fail "$name did not restart; see $LOG_DIR/$name.log"
      wait_http "https://127.0.0.1:$(instance_port "$name")/healthz" 60 \
        || fail "$name did not come back on the new build; see $LOG_DIR/$name.log"
      note "restarted $name on the new build (pid $(program_pid "$name"))"
    elif [ -n "$pid" ]; then
      note "$name is running (pid $pid)"
    else
      supervise start "$(program_of "$name")" >/dev/null || fail "$name did not start; see $LOG_DIR/$name.log"
      note "started $name (pid $(program_pid "$name"))"
    fi
  done
}

# The cluster as Patroni sees it (JSON), from the first node that answers.
cluster_json() {
  local node
  for node in "${NODES[@]}"; do
    curl -fsS --max-time 2 "https://$(node_host "$node"):$(node_rest_port "$node")/cluster" 2>/dev/null && return 0
  done
  return 1
}

leader_name() {
  cluster_json | /usr/bin/python3 -I -c 'import json,sys; print(next((m["name"] for m in json.load(sys.stdin)["members"] if m["role"] in ("leader","master","primary")), ""))' 2>/dev/null
}

# Waits until writes go through HAProxy's primary endpoint.
wait_writable() {
  local seconds=$1
  for _ in $(seq 1 $((seconds * 2))); do
    if PGPASSWORD="$(secret pg-superuser-password)" PGSSLMODE=verify-full PGSSLROOTCERT="$CA_FILE" \
        "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" \
        -U postgres -d postgres -qAtc "SELECT NOT pg_is_in_recovery()" 2>/dev/null | grep -q t; then
      return 0
    fi
    sleep 0.5
  done
  return 1
}

# Waits until the primary runs, both replicas stream from it (Patroni 4 reports "streaming"; a
# replica that runs but does not stream is not healed) and the synchronous standby is in place.
wait_healthy() {
  local seconds=$1
  for _ in $(seq 1 $((seconds * 2))); do
    if cluster_json 2>/dev/null | /usr/bin/python3 -I -c '
import json, sys
members = json.load(sys.stdin)["members"]
# Patroni before 4 (only run to compare releases) reports no "streaming" state.
replica_ok = ("streaming",) if int(sys.argv[1].split(".")[0]) >= 4 else ("running", "streaming")
leader = ("leader", "master", "primary")
primary = [m for m in members if m["role"] in leader and m["state"] == "running"]
streaming = [m for m in members if m["role"] not in leader and m["state"] in replica_ok]
sync = [m for m in members if m["role"] == "sync_standby"]
sys.exit(0 if primary and len(streaming) == 2 and sync else 1)' "$PATRONI_VERSION" 2>/dev/null; then
      return 0
    fi
    sleep 0.5
  done
  return 1
}

# The members with a role ("replica" includes the synchronous standby), space-separated.
member_with_role() {
  cluster_json | /usr/bin/python3 -I -c '
import json, sys
role = sys.argv[1]
names = [m["name"] for m in json.load(sys.stdin)["members"] if m["role"] == role or (role == "replica" and m["role"] in ("replica", "sync_standby"))]
print(" ".join(names))' "$1"
}

# The database and its roles. bank_owner owns the schema and alone changes it (migrations);
# bank, the logic tier's login, is a member of bank_runtime, which the migrations grant only what
# the runtime uses: the ledger's tables are append-only to it. A database an earlier release made,
# where bank owned everything, is handed over to bank_owner. Passwords go to psql on its standard
# input, never on a command line.
ensure_database_roles() {
  local owner_password runtime_password monitor_password
  secret db-owner-password > /dev/null
  owner_password=$(secret db-owner-password)
  runtime_password=$(secret db-password)
  monitor_password=$(secret db-monitor-password)
  psql_cluster -d postgres <<SQL
SET client_min_messages = warning;
SELECT 'CREATE ROLE bank_owner LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bank_owner') \gexec
SELECT 'CREATE ROLE bank_runtime NOLOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bank_runtime') \gexec
SELECT 'CREATE ROLE bank LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bank') \gexec
SELECT 'CREATE ROLE bank_monitor LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bank_monitor') \gexec
ALTER ROLE bank_monitor PASSWORD '$monitor_password';
GRANT pg_monitor TO bank_monitor;
ALTER ROLE bank_owner PASSWORD '$owner_password';
ALTER ROLE bank PASSWORD '$runtime_password';
GRANT bank_runtime TO bank;
SELECT 'CREATE DATABASE bank OWNER bank_owner' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'bank') \gexec
ALTER DATABASE bank OWNER TO bank_owner;
SQL
  psql_cluster -d bank -c "REASSIGN OWNED BY bank TO bank_owner"
}

# What the exporters' role reads in the bank's database: the audit log, for the chain's check (after
# the migrations, which make it). The role is no superuser: the queries it runs call code the
# schema's owner wrote, which must never run with more than the monitor's rights.
grant_monitoring() {
  psql_cluster -d bank -c "GRANT USAGE ON SCHEMA public TO bank_monitor; GRANT SELECT ON public.audit_log TO bank_monitor"
}

# psql through HAProxy to the primary, as the superuser, over TLS with the node's certificate
# checked.
psql_cluster() {
  PGPASSWORD="$(secret pg-superuser-password)" PGSSLMODE=verify-full PGSSLROOTCERT="$CA_FILE" \
    "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" \
    -U postgres -v ON_ERROR_STOP=1 -qAt "$@"
}

patroni_urls() {
  local node urls=()
  for node in "${NODES[@]}"; do
    urls+=("https://$(node_host "$node"):$(node_rest_port "$node")")
  done
  (IFS=,; echo "${urls[*]}")
}

# etcdctl against every member, as etcd's root user (the password in the environment, which only
# this user can read, never on a command line).
etcd_root() {
  ETCDCTL_API=3 ETCDCTL_USER="root:$(secret etcd-root-password)" etcdctl --endpoints "$(etcd_endpoints)" \
    --dial-timeout 2s --command-timeout 5s "$@"
}

etcd_endpoints() {
  local member urls=()
  for member in "${ETCD_MEMBERS[@]}"; do urls+=("$(etcd_client_url "$member")"); done
  (IFS=,; echo "${urls[*]}")
}

# Authentication on in etcd: the root user for operators, and Patroni's own user, whose role
# reads and writes this cluster's prefix and nothing else. Once on, it stays on; run again, this
# changes nothing. Needs etcd's quorum.
secure_etcd() {
  local prefix="/bank-$PORT_OFFSET/" anonymous="" answered=0
  for _ in $(seq 1 60); do
    if anonymous=$(ETCDCTL_API=3 etcdctl --endpoints "$(etcd_endpoints)" --dial-timeout 1s \
      --command-timeout 2s user list 2>&1); then
      answered=1
      break
    fi
    # With authentication on, an anonymous request is refused for having no user.
    grep -q "user name is empty" <<< "$anonymous" && return 0
    sleep 0.5
  done
  [ "$answered" = 1 ] || fail "etcd did not answer: $anonymous"
  local as_anonymous=(env ETCDCTL_API=3 etcdctl --endpoints "$(etcd_endpoints)" --dial-timeout 2s
    --command-timeout 5s)
  grep -qx root <<< "$anonymous" \
    || secret etcd-root-password | "${as_anonymous[@]}" user add root --interactive=false > /dev/null
  "${as_anonymous[@]}" user grant-role root root > /dev/null
  "${as_anonymous[@]}" role add patroni > /dev/null 2>&1 || true
  "${as_anonymous[@]}" role grant-permission patroni --prefix=true readwrite "$prefix" > /dev/null
  grep -qx patroni <<< "$anonymous" \
    || secret etcd-patroni-password | "${as_anonymous[@]}" user add patroni --interactive=false > /dev/null
  "${as_anonymous[@]}" user grant-role patroni patroni > /dev/null
  "${as_anonymous[@]}" auth enable > /dev/null
  note "etcd: authentication on; Patroni's user reaches $prefix only"
}

# A change through Patroni's REST API: patroni_rest METHOD URL [curl options...]. The password goes
# to curl on its standard input, never on a command line another user can read.
patroni_rest() {
  local method=$1 url=$2
  shift 2
  printf 'user = "patroni:%s"\n' "$(secret patroni-rest-password)" \
    | curl -K - -X "$method" "$url" "$@"
}

# HAProxy's statistics page (PATH after the root, such as ";csv"), with the operator's password
# given to curl on its standard input, never on a command line another user can read.
# A command to HAProxy's runtime API (its Unix socket, root's alone), such as "show sess all".
haproxy_command() {
  /usr/bin/python3 -I - "$CLUSTER_DIR/haproxy.sock" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(3)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
out = b""
while chunk := s.recv(65536):
    out += chunk
sys.stdout.write(out.decode(errors="replace"))
PY
}

haproxy_stats() {
  printf 'user = "ops:%s"\n' "$(secret haproxy-stats)" \
    | curl -fsS --max-time 2 -K - "https://127.0.0.1:$HAPROXY_STATS_PORT/${1:-}"
}

# etcd's view of its members as JSON lines: name, client URL, whether it leads, from every member
# that answers.
etcd_status() {
  local member
  for member in "${ETCD_MEMBERS[@]}"; do
    ETCDCTL_API=3 etcdctl --endpoints "$(etcd_client_url "$member")" --dial-timeout 1s \
      --command-timeout 2s endpoint status -w json 2>/dev/null || true
  done
}

# The name of the etcd member that leads, or nothing.
etcd_leader() {
  etcd_status | /usr/bin/python3 -I -c '
import json, sys
for line in sys.stdin:
    for s in json.loads(line):
        if s["Status"]["header"]["member_id"] == s["Status"]["leader"]:
            print(s["Endpoint"]); sys.exit(0)
' | while read -r endpoint; do
    for member in "${ETCD_MEMBERS[@]}"; do
      if [ "$(etcd_client_url "$member")" = "$endpoint" ]; then echo "$member"; fi
    done
  done
}
