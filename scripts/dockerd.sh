#!/usr/bin/env bash
# Start, stop or report the local Docker engine that the `ci` stack and the image builds use.
#
#   scripts/dockerd.sh start    start dockerd in the background (or reuse one that already answers)
#   scripts/dockerd.sh stop     stop the dockerd this script started, and nothing else
#   scripts/dockerd.sh status   say whether an engine answers and whether this script owns it
#
# The engine runs with no bridge, no iptables rules and no IP forwarding: every container uses
# host networking, so all traffic stays on 127.0.0.0/8. Installing the engine is not done here;
# the install step is `apt-get install -y docker.io` (see .ci).
#
# Environment:
#   APPSTACK_DOCKERD_DIR      where the pidfile and the log go (default /tmp/appstack-dockerd)
#   APPSTACK_DOCKERD_TIMEOUT  seconds to wait for `docker info` to answer / for dockerd to exit (default 60)
#   APPSTACK_DOCKERD_ROOT     dockerd --data-root (default: dockerd's own, /var/lib/docker)
set -euo pipefail

state_dir="${APPSTACK_DOCKERD_DIR:-/tmp/appstack-dockerd}"
pidfile="$state_dir/dockerd.pid"
logfile="$state_dir/dockerd.log"
timeout="${APPSTACK_DOCKERD_TIMEOUT:-60}"

log() { printf 'dockerd.sh: %s\n' "$*" >&2; }

engine_answers() {
  docker info --format '{{.ServerVersion}}' >/dev/null 2>&1
}

# Print the PID we recorded if that process is still our dockerd (guards against PID reuse).
owned_pid() {
  [[ -f "$pidfile" ]] || return 1
  local pid
  pid="$(cat "$pidfile")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/comm" && "$(cat "/proc/$pid/comm")" == "dockerd" ]] || return 1
  printf '%s\n' "$pid"
}

start() {
  if pid="$(owned_pid)"; then
    if engine_answers; then
      log "already running (pid $pid, started by this script)"
      return 0
    fi
  elif engine_answers; then
    log "a Docker engine already answers; reusing it (it was not started here, stop will leave it alone)"
    return 0
  fi
  command -v dockerd >/dev/null 2>&1 || {
    log "dockerd not found: install it first with 'apt-get install -y docker.io'"
    return 1
  }
  mkdir -p "$state_dir"
  rm -f "$pidfile"
  local args=(--iptables=false --ip-forward=false --bridge=none)
  if [[ -n "${APPSTACK_DOCKERD_ROOT:-}" ]]; then
    args+=(--data-root "$APPSTACK_DOCKERD_ROOT")
  fi
  # setsid: own session, so the engine outlives the shell (and job control) that started it.
  setsid dockerd "${args[@]}" </dev/null >>"$logfile" 2>&1 &
  local pid=$!
  printf '%s\n' "$pid" >"$pidfile"
  log "started dockerd (pid $pid, log $logfile); waiting up to ${timeout}s for it to answer"
  local deadline=$((SECONDS + timeout))
  until engine_answers; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$pidfile"
      log "dockerd exited during start; last log lines:"
      tail -n 20 "$logfile" >&2
      return 1
    fi
    if ((SECONDS >= deadline)); then
      log "dockerd did not answer within ${timeout}s; stopping it. Last log lines:"
      tail -n 20 "$logfile" >&2
      stop
      return 1
    fi
    sleep 0.5
  done
  log "ready: engine $(docker info --format '{{.ServerVersion}}') storage $(docker info --format '{{.Driver}}')"
}

stop() {
  local pid
  if ! pid="$(owned_pid)"; then
    rm -f "$pidfile"
    log "no dockerd started by this script is running; nothing to stop"
    return 0
  fi
  log "stopping dockerd (pid $pid)"
  kill -TERM "$pid"
  local deadline=$((SECONDS + timeout))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "dockerd (pid $pid) did not exit within ${timeout}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.5
  done
  rm -f "$pidfile"
  log "stopped"
}

status() {
  local pid owned=""
  if pid="$(owned_pid)"; then owned="started by this script, pid $pid"; fi
  if engine_answers; then
    log "engine answers (${owned:-not started by this script})"
    return 0
  fi
  log "no engine answers${owned:+ (but $owned is alive)}"
  return 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
