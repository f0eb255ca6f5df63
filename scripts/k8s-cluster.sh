#!/usr/bin/env bash
# Start, stop or report appstack's local single-node Kubernetes cluster, for the Kubernetes tests.
#
#   scripts/k8s-cluster.sh start               start etcd, the control plane, containerd and the kubelet
#   scripts/k8s-cluster.sh stop                stop every process start started (by PID) and remove its state
#   scripts/k8s-cluster.sh status              say what runs; exit 0 only when the node is Ready
#   scripts/k8s-cluster.sh import-image TAG... copy images from the local Docker engine into the cluster
#   scripts/k8s-cluster.sh kubeconfig          print the path of the admin kubeconfig
#
# The binaries come from toolchain/build-k8s.sh (cached by version). Everything listens on
# 127.0.0.1 only. Pods get an address that exists only inside their own network namespace
# (scripts/k8s/appstack-isolated): nothing is routed from the host to a pod or a cluster address,
# so pods that must be reached use hostNetwork, and probes run by exec. There is no kube-proxy.
#
# The kubelet changes its host unless told not to, so:
#   - containerd and the kubelet run in a private mount namespace of their own, with tmpfs over
#     /run, /var/lib and /var/log: the paths they hard-code (/var/lib/kubelet/device-plugins,
#     /var/log/containers, /var/lib/cni, shim sockets under /run/containerd) and every mount they
#     make (volumes, overlay root filesystems, network namespaces) never reach the host and vanish
#     with the namespace;
#   - the kubelet runs with protectKernelDefaults, so it only checks the six sysctls it would
#     otherwise rewrite (vm.overcommit_memory, kernel.panic, ...); inside its namespace it reads the
#     values it expects, and the host's real values are never touched. They are still recorded at
#     start and compared at stop (and restored, with a warning, should anything have changed them);
#   - makeIPTablesUtilChains: false (no iptables chains), image garbage collection off (the
#     imported images cannot be pulled again), plugin directories under the state directory;
#   - the cgroups the kubelet creates (kubepods in each hierarchy) are removed at stop.
#
# Environment:
#   APPSTACK_K8S_DIR       state directory: PKI, kubeconfigs, data, logs, pidfiles (default /tmp/appstack-k8s)
#   APPSTACK_K8S_TIMEOUT   seconds to wait for each component to become ready (default 120)
#   APPSTACK_K8S_API_PORT  the API server's secure port on 127.0.0.1 (default 16443); the other
#                          components use fixed ports next to it (see `ports` below)
#   APPSTACK_K8S_PVS       number of static hostPath PersistentVolumes of the "local" class (default 8)
#   APPSTACK_K8S_POD_NETWORK  isolated (default: every pod alone in its namespace, see above) or
#                          routed: a pod network inside a network namespace of the cluster's own
#                          (podnet), never the host's: each pod's veth peer and a /32 route there,
#                          10.244.0.1 (on its lo) the pods' gateway and DNS server, kube-proxy
#                          (iptables mode, its rules in that namespace only) for Service addresses,
#                          CoreDNS for Service names; they reach the API server through socat over
#                          a unix socket ($run/api.sock). Pods reach each other as on any cluster;
#                          the host still routes to none of them.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
self=$repo_root/scripts/k8s-cluster.sh
# shellcheck source=toolchain/versions.env
source "$repo_root/toolchain/versions.env"
cache=${APPSTACK_CACHE:-$HOME/.cache/appstack}
kube_bin=$cache/kubernetes-v$KUBERNETES_VERSION/bin
etcd_bin=$cache/etcd-$ETCD_DEB_VERSION/usr/bin/etcd
pause_tar=$cache/pause-${BUSYBOX_DEB_VERSION#*:}/pause.tar

state=${APPSTACK_K8S_DIR:-/tmp/appstack-k8s}
timeout=${APPSTACK_K8S_TIMEOUT:-120}
api_port=${APPSTACK_K8S_API_PORT:-16443}
pv_count=${APPSTACK_K8S_PVS:-8}
pod_network=${APPSTACK_K8S_POD_NETWORK:-isolated}
pod_gateway=10.244.0.1
coredns_bin=$cache/coredns-$COREDNS_VERSION/coredns
etcd_port=$((api_port + 7347))         # 23790 by default
etcd_peer_port=$((api_port + 7357))    # 23800
kcm_port=$((api_port + 3814))          # 20257
scheduler_port=$((api_port + 3816))    # 20259
kubelet_port=$((api_port + 3807))      # 20250
kubelet_health_port=$((api_port + 3805)) # 20248
ports=("$api_port" "$etcd_port" "$etcd_peer_port" "$kcm_port" "$scheduler_port" "$kubelet_port" "$kubelet_health_port")

pki=$state/pki
run=$state/run
logs=$state/logs
containerd_dir=$state/containerd
containerd_sock=$containerd_dir/containerd.sock
admin_kubeconfig=$state/admin.kubeconfig
# Started in this order, stopped in reverse (after the pods are gone).
components=(etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet)
case $pod_network in
  isolated) ;;
  routed)
    components=(etcd kube-apiserver kube-controller-manager kube-scheduler api-bridge podnet
      containerd kubelet kube-proxy coredns)
    ;;
  *)
    printf 'k8s-cluster.sh: APPSTACK_K8S_POD_NETWORK must be isolated or routed, not %s\n' "$pod_network" >&2
    exit 2
    ;;
esac
# Created on the host by a kubelet, containerd or controller manager left to its defaults; checked
# (and removed when they appeared while the cluster ran) at stop. /run/containerd, /run/netns,
# /var/lib/containerd and /opt/containerd are not here: the Docker engine's containerd and other
# tests use them too.
host_paths=(/var/lib/kubelet /var/log/containers /var/log/pods /var/lib/cni /etc/cni /opt/cni
  /etc/kubernetes /usr/libexec/kubernetes)
# The sysctls the kubelet insists on, with the values it expects (k8s.io/component-helpers
# node/util/sysctl); with protectKernelDefaults it refuses to start unless it reads these.
kubelet_sysctls=(vm.overcommit_memory=1 vm.panic_on_oom=0 kernel.panic=10 kernel.panic_on_oops=1
  kernel.keys.root_maxkeys=1000000 kernel.keys.root_maxbytes=25000000)

log() { printf 'k8s-cluster.sh: %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

kubectl() { "$kube_bin/kubectl" --kubeconfig "$admin_kubeconfig" "$@"; }
ctr_k8s() { ctr --address "$containerd_sock" --namespace k8s.io "$@"; }

# owned_pid NAME: the PID recorded for NAME, if that process is still the one start launched
# (its command name matches and its command line names our state directory: guards PID reuse).
# The two ends of the API bridge of the routed pod network are socat processes.
owned_pid() {
  local pidfile=$run/$1.pid pid comm=${1:0:15}
  [[ -f $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/comm ]] || return 1
  case $1 in api-bridge | podnet) comm=socat ;; esac
  [[ $(<"/proc/$pid/comm") == "$comm" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$state/" || return 1
  printf '%s\n' "$pid"
}

# launch NAME CMD...: starts CMD in the background in a session of its own, records its PID.
# Every launcher execs (setsid without a fork, unshare and nsenter without --fork), so the PID is
# the component's own.
launch() {
  local name=$1
  shift
  setsid "$@" </dev/null >>"$logs/$name.log" 2>&1 &
  printf '%s\n' "$!" >"$run/$name.pid"
}

# wait_for NAME WHAT CMD...: polls CMD until it succeeds; fails with the component's last log
# lines when it exits or the timeout passes.
wait_for() {
  local name=$1 what=$2 begun=$SECONDS deadline=$((SECONDS + timeout)) pid
  shift 2
  pid=$(<"$run/$name.pid")
  until "$@" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "$name (pid $pid) exited while waiting for $what; last lines of $logs/$name.log:"
      tail -n 25 "$logs/$name.log" >&2
      return 1
    fi
    if ((SECONDS >= deadline)); then
      log "$name: no $what within ${timeout}s; last lines of $logs/$name.log:"
      tail -n 25 "$logs/$name.log" >&2
      return 1
    fi
    sleep 0.5
  done
  log "$name: $what after $((SECONDS - begun))s"
}

check_prerequisites() {
  local missing=() file program port
  for file in "$kube_bin/kube-apiserver" "$kube_bin/kube-controller-manager" \
    "$kube_bin/kube-scheduler" "$kube_bin/kubelet" "$kube_bin/kubectl" "$etcd_bin" "$pause_tar"; do
    [[ -e $file ]] || missing+=("$file")
  done
  ((${#missing[@]} == 0)) ||
    die "missing ${missing[*]}: build them with 'bash toolchain/build-k8s.sh cluster' (or 'make k8s')"
  for program in containerd containerd-shim-runc-v2 runc ctr openssl unshare nsenter curl; do
    command -v "$program" >/dev/null || missing+=("$program")
  done
  if [[ $pod_network == routed ]]; then
    for file in "$kube_bin/kube-proxy" "$coredns_bin"; do
      [[ -e $file ]] || die "missing $file: build it with 'bash toolchain/build-k8s.sh cluster' (or 'make k8s')"
    done
    for program in socat ip iptables; do
      command -v "$program" >/dev/null || missing+=("$program")
    done
  fi
  ((${#missing[@]} == 0)) ||
    die "missing ${missing[*]}: install the system packages with 'bash scripts/install-system.sh'"
  [[ $(id -u) == 0 ]] || die "the kubelet and containerd need root"
  case $state/ in
    /run/* | /var/run/* | /var/lib/* | /var/log/* | /proc/*)
      die "APPSTACK_K8S_DIR=$state is under /run, /var/lib or /var/log, which the cluster's mount namespace hides: choose another directory"
      ;;
  esac
  for port in "${ports[@]}"; do
    if ss -Hltn "sport = :$port" | grep -q .; then
      die "port $port on this machine is already in use ($(ss -Hltnp "sport = :$port" | head -n1)); set APPSTACK_K8S_API_PORT to move the cluster's ports"
    fi
  done
  for file in /sys/fs/cgroup/*/kubepods; do
    [[ -e $file ]] && die "$file exists: another kubelet runs (or ran) on this machine; stop it first"
  done
  return 0
}

# --- PKI and kubeconfigs ----------------------------------------------------------------------

# cert NAME SUBJECT EXTENSIONS: a key and a certificate signed by the cluster CA.
cert() {
  openssl req -new -newkey rsa:2048 -nodes -keyout "$pki/$1.key" -subj "$2" -out "$pki/$1.csr" 2>/dev/null
  openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 365 -extfile "$pki/extensions.cnf" -extensions "$3" -out "$pki/$1.crt" 2>/dev/null
  rm -f "$pki/$1.csr"
}

generate_pki() {
  [[ -s $pki/sa.pub ]] && return 0
  mkdir -p "$pki"
  chmod 700 "$pki"
  openssl req -x509 -new -newkey rsa:2048 -nodes -keyout "$pki/ca.key" -subj "/CN=appstack-k8s-ca" \
    -days 365 -out "$pki/ca.crt" 2>/dev/null
  cat >"$pki/extensions.cnf" <<'EOF'
[apiserver]
basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
[kubelet]
basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
[client]
basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
EOF
  cert apiserver /CN=kube-apiserver apiserver
  # The node is named localhost, so the API server reaches the kubelet (logs, exec, port-forward)
  # at localhost and the Node authorizer knows it as system:node:localhost.
  cert kubelet "/O=system:nodes/CN=system:node:localhost" kubelet
  cert admin "/O=system:masters/CN=appstack-admin" client
  cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" client
  cert controller-manager /CN=system:kube-controller-manager client
  cert scheduler /CN=system:kube-scheduler client
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
}

# kubeconfig FILE CERT: a kubeconfig for 127.0.0.1 with the certificates embedded.
kubeconfig() {
  local file=$1 cert=$2
  rm -f "$file"
  "$kube_bin/kubectl" config --kubeconfig "$file" set-cluster appstack \
    --server "https://127.0.0.1:$api_port" --certificate-authority "$pki/ca.crt" --embed-certs >/dev/null
  "$kube_bin/kubectl" config --kubeconfig "$file" set-credentials "$cert" \
    --client-certificate "$pki/$cert.crt" --client-key "$pki/$cert.key" --embed-certs >/dev/null
  "$kube_bin/kubectl" config --kubeconfig "$file" set-context appstack --cluster appstack --user "$cert" >/dev/null
  "$kube_bin/kubectl" config --kubeconfig "$file" use-context appstack >/dev/null
  chmod 600 "$file"
}

# --- configuration files ----------------------------------------------------------------------

write_configs() {
  mkdir -p "$containerd_dir" "$state/cni/bin" "$state/cni/conf" "$state/kubelet/root" \
    "$state/kubelet/pod-logs" "$state/kubelet/volume-plugins" "$state/controller-manager/volume-plugins" \
    "$state/sysctl"
  install -m 0755 "$repo_root/scripts/k8s/appstack-isolated" "$state/cni/bin/appstack-isolated"
  ln -sf appstack-isolated "$state/cni/bin/loopback"
  ln -sf appstack-isolated "$state/cni/bin/appstack-routed"
  printf '{"cniVersion":"0.4.0","name":"appstack-%s","plugins":[{"type":"appstack-%s"}]}\n' \
    "$pod_network" "$pod_network" >"$state/cni/conf/10-appstack.conflist"
  cat >"$containerd_dir/config.toml" <<EOF
# Written by scripts/k8s-cluster.sh: a containerd of its own, for the kubelet only.
version = 2
root = "$containerd_dir/root"
state = "$containerd_dir/state"
[grpc]
  address = "$containerd_sock"
[ttrpc]
  address = "$containerd_sock.ttrpc"
[debug]
  address = "$containerd_dir/debug.sock"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$containerd_dir/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$K8S_PAUSE_IMAGE"
  disable_apparmor = true
  # runc cannot lower oom_score_adj without CAP_SYS_RESOURCE, which root here lacks: without this
  # every sandbox fails with "can't get final child's PID from pipe: EOF".
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$containerd_dir/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$state/cni/bin"
    conf_dir = "$state/cni/conf"
EOF
  cat >"$state/kubelet/config.yaml" <<EOF
# Written by scripts/k8s-cluster.sh.
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: $kubelet_port
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $kubelet_health_port
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $pki/kubelet.crt
tlsPrivateKeyFile: $pki/kubelet.key
containerRuntimeEndpoint: unix://$containerd_sock
cgroupDriver: cgroupfs
failSwapOn: false
podLogsDir: $state/kubelet/pod-logs
volumePluginDir: $state/kubelet/volume-plugins
resolvConf: /etc/resolv.conf
registerNode: true
serializeImagePulls: false
imageGCHighThresholdPercent: 100
evictionHard:
  memory.available: "100Mi"
  nodefs.available: "2%"
  imagefs.available: "2%"
makeIPTablesUtilChains: false
protectKernelDefaults: true
EOF
  if [[ $pod_network == routed ]]; then
    printf 'clusterDNS: [%s]\nclusterDomain: cluster.local\n' "$pod_gateway" >>"$state/kubelet/config.yaml"
    mkdir -p "$state/coredns"
    cat >"$state/coredns/Corefile" <<EOF
# Written by scripts/k8s-cluster.sh: cluster DNS on the pods' gateway, in the podnet namespace.
.:53 {
    bind $pod_gateway
    errors
    ready 127.0.0.1:8181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $admin_kubeconfig appstack
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }
    cache 5
}
EOF
  fi
  local pair
  for pair in "${kubelet_sysctls[@]}"; do
    printf '%s\n' "${pair#*=}" >"$state/sysctl/${pair%%=*}"
  done
}

storage_manifest() {
  local n
  cat <<EOF
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
EOF
  for n in $(seq 1 "$pv_count"); do
    cat <<EOF
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: local-pv-$n}
spec:
  capacity: {storage: 10Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: local
  hostPath: {path: $state/pv/$n, type: DirectoryOrCreate}
EOF
  done
}

# --- the mount namespace of containerd and the kubelet ----------------------------------------

# Runs as root inside the new mount namespace (see start_containerd), then execs the command.
namespace_exec() {
  local pair
  mount -t tmpfs -o mode=0755 appstack-k8s /run
  mount -t tmpfs -o mode=0755 appstack-k8s /var/lib
  mount -t tmpfs -o mode=0755 appstack-k8s /var/log
  for pair in "${kubelet_sysctls[@]}"; do
    mount --bind -o ro "$state/sysctl/${pair%%=*}" "/proc/sys/$(tr . / <<<"${pair%%=*}")"
  done
  exec "$@"
}

# Runs as root inside the new network namespace of the routed pod network (see start_pod_network),
# then execs the API bridge's inner end, which holds the namespace for as long as it runs.
podnet_exec() {
  ip link set lo up
  ip addr add "$pod_gateway/32" dev lo
  sysctl -q -w net.ipv4.ip_forward=1 # this namespace's own setting
  exec socat "TCP-LISTEN:$api_port,bind=127.0.0.1,reuseaddr,fork" "UNIX-CONNECT:$run/api.sock"
}

in_podnet() { nsenter --net="/proc/$(<"$run/podnet.pid")/ns/net" -- "$@"; }

# The routed pod network: its namespace and the API bridge into it (before the first pod)...
start_pod_network() {
  launch api-bridge socat "UNIX-LISTEN:$run/api.sock,fork,mode=600" "TCP:127.0.0.1:$api_port"
  wait_for api-bridge "its socket" test -S "$run/api.sock"
  launch podnet unshare --net -- "$self" _podnet-exec
  wait_for podnet "the API server through the bridge" in_podnet "$kube_bin/kubectl" \
    --kubeconfig "$admin_kubeconfig" get --raw /readyz
}

# ... then kube-proxy and CoreDNS there, once the node they serve exists.
start_pod_services() {
  local podnet_ns=/proc/$(<"$run/podnet.pid")/ns/net
  launch kube-proxy nsenter --net="$podnet_ns" -- "$kube_bin/kube-proxy" \
    --kubeconfig "$admin_kubeconfig" --hostname-override localhost --proxy-mode iptables \
    --cluster-cidr 10.244.0.0/24 --oom-score-adj 0 --conntrack-max-per-core 0 \
    --conntrack-tcp-timeout-established 0 --conntrack-tcp-timeout-close-wait 0 \
    --healthz-bind-address 127.0.0.1:10256 --metrics-bind-address 127.0.0.1:10249 --v=1
  wait_for kube-proxy "healthz" in_podnet curl -sf http://127.0.0.1:10256/healthz
  launch coredns nsenter --net="$podnet_ns" -- "$coredns_bin" -conf "$state/coredns/Corefile"
  wait_for coredns "ready" in_podnet curl -sf http://127.0.0.1:8181/ready
}

host_sysctls() {
  local pair
  for pair in "${kubelet_sysctls[@]}"; do
    printf '%s=%s\n' "${pair%%=*}" "$(sysctl -n "${pair%%=*}")"
  done
}

# --- start --------------------------------------------------------------------------------------

start() {
  local started=$SECONDS name path
  for name in "${components[@]}"; do
    if owned_pid "$name" >/dev/null; then
      if status >/dev/null 2>&1; then
        log "already running (state $state)"
        return 0
      fi
      die "a previous cluster in $state is half running: run '$0 stop' first"
    fi
  done
  [[ ! -d $run ]] ||
    die "$run exists: the previous cluster in $state was not stopped cleanly; run '$0 stop' first"
  check_prerequisites
  # A fresh cluster every time: only the PKI and the logs of earlier runs are kept.
  rm -rf "$run" "$state/etcd" "$containerd_dir" "$state/kubelet" "$state/cni" "$state/pv" \
    "$state/sysctl" "$state/controller-manager" "$state/coredns"
  mkdir -p "$run" "$logs"
  for name in "${components[@]}"; do : >"$logs/$name.log"; done
  host_sysctls >"$run/sysctl-before"
  for path in "${host_paths[@]}"; do
    [[ -e $path ]] && printf '%s\n' "$path"
  done >"$run/host-paths-before"
  trap 'start_failed' EXIT
  generate_pki
  kubeconfig "$admin_kubeconfig" admin
  kubeconfig "$state/controller-manager.kubeconfig" controller-manager
  kubeconfig "$state/scheduler.kubeconfig" scheduler
  kubeconfig "$state/kubelet.kubeconfig" kubelet
  write_configs

  launch etcd "$etcd_bin" --name appstack --data-dir "$state/etcd" --logger zap \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-cluster "appstack=http://127.0.0.1:$etcd_peer_port"
  wait_for etcd "health" curl -sf "http://127.0.0.1:$etcd_port/health"

  launch kube-apiserver "$kube_bin/kube-apiserver" --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --secure-port "$api_port" --advertise-address 127.0.0.1 \
    --endpoint-reconciler-type none \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-cluster-ip-range 10.96.0.0/12 --authorization-mode Node,RBAC --allow-privileged=true \
    --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types Hostname,InternalIP --profiling=false --v=1
  wait_for kube-apiserver "/readyz" kubectl get --raw /readyz

  launch kube-controller-manager "$kube_bin/kube-controller-manager" \
    --kubeconfig "$state/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$state/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$state/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$kcm_port" \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
    --use-service-account-credentials=true --service-cluster-ip-range 10.96.0.0/12 \
    --flex-volume-plugin-dir "$state/controller-manager/volume-plugins" \
    --leader-elect=false --profiling=false --v=1
  launch kube-scheduler "$kube_bin/kube-scheduler" --kubeconfig "$state/scheduler.kubeconfig" \
    --authentication-kubeconfig "$state/scheduler.kubeconfig" \
    --authorization-kubeconfig "$state/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$scheduler_port" --leader-elect=false --profiling=false --v=1

  if [[ $pod_network == routed ]]; then
    start_pod_network
  fi

  launch containerd unshare --mount --propagation private -- \
    "$self" _namespace-exec containerd --config "$containerd_dir/config.toml"
  wait_for containerd "its socket" ctr --address "$containerd_sock" version
  readlink "/proc/$(<"$run/containerd.pid")/ns/mnt" >"$run/mount-namespace"
  ctr_k8s images import "$pause_tar" >/dev/null

  launch kubelet nsenter --mount="/proc/$(<"$run/containerd.pid")/ns/mnt" -- \
    "$kube_bin/kubelet" --config "$state/kubelet/config.yaml" --kubeconfig "$state/kubelet.kubeconfig" \
    --root-dir "$state/kubelet/root" --hostname-override localhost --v=1
  wait_for kubelet "a Ready node" node_ready
  if [[ $pod_network == routed ]]; then
    start_pod_services
  fi
  storage_manifest | kubectl apply --server-side -f - >/dev/null
  wait_for kube-controller-manager "the default service account" \
    kubectl get serviceaccount default --namespace default
  trap - EXIT
  log "ready in $((SECONDS - started))s: node localhost on https://127.0.0.1:$api_port, kubeconfig $admin_kubeconfig"
}

start_failed() {
  log "start failed; stopping what was started"
  stop || true
}

node_ready() {
  [[ $(kubectl get node localhost -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}') == True ]]
}

# --- import-image ----------------------------------------------------------------------------

import_image() {
  local tag
  (($# > 0)) || die "usage: $0 import-image TAG..."
  owned_pid containerd >/dev/null || die "the cluster is not running: start it with '$0 start'"
  docker info --format '{{.ServerVersion}}' >/dev/null 2>&1 ||
    die "no Docker engine answers: the images come from it (scripts/dockerd.sh start, images/build.sh)"
  for tag in "$@"; do
    docker image inspect "$tag" >/dev/null 2>&1 ||
      die "image $tag is not in the local Docker engine: build it with images/build.sh"
    docker save "$tag" | ctr_k8s images import - >/dev/null
    log "imported $tag"
  done
}

# --- stop --------------------------------------------------------------------------------------

# stop_pid NAME: TERM, then KILL after 30 s, the process recorded for NAME.
stop_component() {
  local name=$1 pid deadline
  pid=$(owned_pid "$name") || {
    rm -f "$run/$name.pid"
    return 0
  }
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "$name (pid $pid) did not exit within 30s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.2
  done
  rm -f "$run/$name.pid"
}

# The PIDs of the runtime's processes in the cluster's mount namespace (containerd's shims once
# containerd is gone, the runc they run) and of the processes in the kubelet's cgroups (the
# containers). Only containerd, its shims, runc and the kubelet count in the namespace, so that a
# namespace id reused after the cluster's own is gone can never select another process.
leftover_pids() {
  local namespace proc file exe
  if [[ -s $run/mount-namespace ]]; then
    namespace=$(<"$run/mount-namespace")
    for proc in /proc/[0-9]*; do
      [[ $(readlink "$proc/ns/mnt" 2>/dev/null) == "$namespace" ]] || continue
      exe=$(readlink "$proc/exe" 2>/dev/null) || continue
      case ${exe##*/} in
        containerd | containerd-shim* | runc | kubelet) printf '%s\n' "${proc#/proc/}" ;;
      esac
    done
  fi
  for file in /sys/fs/cgroup/*/kubepods; do
    [[ -d $file ]] && find "$file" -name cgroup.procs -exec cat {} + 2>/dev/null
  done
  return 0
}

# TERM, then KILL until none is left (a shim that is ending runs `runc delete` in the namespace,
# so new PIDs can appear for a moment).
kill_leftovers() {
  local pids signal=TERM deadline=$((SECONDS + 15))
  while mapfile -t pids < <(leftover_pids | sort -un) && ((${#pids[@]} > 0)); do
    if ((SECONDS >= deadline)); then
      log "ERROR: processes of the cluster still alive: ${pids[*]}"
      return 1
    fi
    log "sending SIG$signal to leftover processes of the cluster: ${pids[*]}"
    kill "-$signal" "${pids[@]}" 2>/dev/null || true
    sleep 2
    signal=KILL
  done
}

restore_sysctls() {
  local key value
  [[ -f $run/sysctl-before ]] || return 0
  while IFS='=' read -r key value; do
    if [[ $(sysctl -n "$key") != "$value" ]]; then
      log "WARNING: $key changed while the cluster ran; restoring $value"
      sysctl -q -w "$key=$value"
    fi
  done <"$run/sysctl-before"
}

remove_host_side_effects() {
  local path mount
  for path in /sys/fs/cgroup/*/kubepods; do
    [[ -d $path ]] || continue
    find "$path" -depth -type d -exec rmdir {} + 2>/dev/null || true
    [[ ! -d $path ]] || log "WARNING: could not remove cgroup $path (processes left in it?)"
  done
  for path in "${host_paths[@]}"; do
    if [[ -e $path ]] && ! grep -qxF "$path" "$run/host-paths-before" 2>/dev/null; then
      log "WARNING: $path appeared on the host while the cluster ran; removing it"
      rm -rf "$path"
    fi
  done
  # Mounts are made in the cluster's namespace only; anything under the state directory in the
  # host's namespace would be a bug, unmounted before the state is removed.
  while read -r mount; do
    log "WARNING: unmounting $mount, left on the host"
    umount "$mount" 2>/dev/null || umount -l "$mount"
  done < <(awk -v prefix="$state/" 'index($5, prefix) == 1 {print $5}' /proc/self/mountinfo | sort -r)
}

stop() {
  local name leftovers=0
  [[ -d $run ]] || {
    log "no cluster state in $state; nothing to stop"
    return 0
  }
  # Nothing may recreate the pods while they are torn down.
  stop_component kube-controller-manager
  stop_component kube-scheduler
  # The kubelet stops the pods it runs (unmounting volumes, releasing addresses) once they are gone
  # from the API.
  if owned_pid kubelet >/dev/null && kubectl get --raw /readyz >/dev/null 2>&1; then
    kubectl delete pods --all --all-namespaces --grace-period 0 --force --wait=false >/dev/null 2>&1 || true
    local deadline=$((SECONDS + 60))
    while ((SECONDS < deadline)) && [[ -n $(ctr_k8s tasks list --quiet 2>/dev/null) ]]; do
      sleep 1
    done
  fi
  stop_component kubelet
  if owned_pid containerd >/dev/null; then
    for name in $(ctr_k8s tasks list --quiet 2>/dev/null); do
      ctr_k8s tasks kill --signal SIGKILL "$name" >/dev/null 2>&1 || true
    done
  fi
  stop_component containerd
  kill_leftovers || leftovers=1
  # The routed pod network: its namespace (iptables rules, routes, the pods' veth ends) goes with
  # the last process in it.
  stop_component coredns
  stop_component kube-proxy
  stop_component podnet
  stop_component api-bridge
  rm -f "$run/api.sock"
  stop_component kube-apiserver
  stop_component etcd
  restore_sysctls
  remove_host_side_effects
  if ((leftovers)); then
    log "ERROR: stopped what could be stopped; the records in $run are kept: run '$0 stop' again"
    return 1
  fi
  rm -rf "$state/etcd" "$containerd_dir" "$state/kubelet" "$state/cni" "$state/pv" \
    "$state/sysctl" "$state/controller-manager" "$state/coredns" "$run"
  log "stopped; logs kept in $logs"
}

# --- status ------------------------------------------------------------------------------------

status() {
  local name pid ok=0
  for name in "${components[@]}"; do
    if pid=$(owned_pid "$name"); then
      log "$name: running (pid $pid)"
    else
      log "$name: not running"
      ok=1
    fi
  done
  if ((ok == 0)) && node_ready 2>/dev/null; then
    log "node localhost Ready; kubeconfig $admin_kubeconfig"
    return 0
  fi
  log "the cluster is not ready"
  return 1
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  import-image)
    shift
    import_image "$@"
    ;;
  kubeconfig) printf '%s\n' "$admin_kubeconfig" ;;
  _namespace-exec)
    shift
    namespace_exec "$@"
    ;;
  _podnet-exec) podnet_exec ;;
  *)
    echo "usage: $0 start|stop|status|import-image TAG...|kubeconfig" >&2
    exit 2
    ;;
esac
