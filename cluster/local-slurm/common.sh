# Shared settings and helpers for up.sh / down.sh (sourced, not run).
# shellcheck shell=bash

LS_CLUSTER=${LINDRING_SLURM_CLUSTER:-lindring}
LS_PARTITION=${LINDRING_SLURM_PARTITION:-debug}
LS_STATE_DIR=/var/spool/lindring-slurm # StateSaveLocation + SlurmdSpoolDir
LS_LOG_DIR=/var/log/lindring-slurm     # slurmctld.log, slurmd.log
LS_RUN_DIR=/run/lindring-slurm         # pid files of the daemons up.sh started
LS_SLURM_CONF=/etc/slurm/slurm.conf    # default path of Debian's srun/sbatch/sinfo/squeue
LS_MARKER="written by lindring cluster/local-slurm/up.sh"
LS_MUNGE_KEY=/etc/munge/munge.key
LS_MUNGE_SOCKET=/run/munge/munge.socket.2 # default socket: slurm's auth/munge and `munge` use it
LS_MUNGE_PIDFILE=/run/munge/munged.pid    # written by munged itself (as user munge)
LS_HOST=$(hostname -s)

_ls_t0=$(date +%s.%N)
ls_elapsed() { awk -v a="$_ls_t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }
ls_log() { printf '[%s %6ss] %s\n' "$LS_ME" "$(ls_elapsed)" "$*"; }
ls_die() { ls_log "ERROR: $*" >&2; exit 1; }

# ls_pid_live PID: the process exists and is not a zombie. Trap: the daemons are reparented to
# this machine's init, which reaps them only after a second or so; `kill -0` succeeds on a zombie.
ls_pid_live() {
  local st
  kill -0 "$1" 2>/dev/null || return 1
  st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $st && $st != Z && $st != X ]]
}

# ls_alive PIDFILE COMM -> prints the pid and succeeds if that pid is alive and runs COMM
# (guards against a recycled pid after a crash).
ls_alive() {
  local pidfile=$1 comm=$2 pid
  [[ -s $pidfile ]] || return 1
  pid=$(tr -dc '0-9' <"$pidfile")
  [[ -n $pid ]] && ls_pid_live "$pid" || return 1
  [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$comm" ]] || return 1
  echo "$pid"
}

# ls_stop_pid PID NAME: SIGTERM, wait up to 20 s, then SIGKILL.
ls_stop_pid() {
  local pid=$1 name=$2 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 200; i++)); do
    ls_pid_live "$pid" || { ls_log "$name: stopped (pid $pid)"; return 0; }
    sleep 0.1
  done
  ls_log "$name: did not stop on SIGTERM within 20 s, sending SIGKILL (pid $pid)"
  kill -KILL "$pid" 2>/dev/null || true
  sleep 0.2
}

ls_munge_ok() { munge -n -S "$LS_MUNGE_SOCKET" 2>/dev/null | unmunge -S "$LS_MUNGE_SOCKET" >/dev/null 2>&1; }
ls_ctld_ok() { scontrol ping 2>/dev/null | grep -q 'is UP'; }
# Asks the local slurmd directly (sinfo would still say idle for SlurmdTimeout after slurmd died).
ls_slurmd_ok() { scontrol show slurmd >/dev/null 2>&1; }
# Compact node state as sinfo prints it (idle, mix, alloc, down*, drain, unk*, ...).
ls_node_state() { sinfo -h -N -n "$LS_HOST" -o '%t' 2>/dev/null | head -n1; }
