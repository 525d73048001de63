#!/usr/bin/env bash
# Stop the single-node Slurm cluster that up.sh started, and clean up after it.
#
#   bash cluster/local-slurm/down.sh           # cancel jobs, stop slurmd, slurmctld, munged
#                                              # (only those whose pid files up.sh wrote),
#                                              # remove pid files and the Slurm spool/state
#   bash cluster/local-slurm/down.sh --purge   # also remove /etc/slurm/slurm.conf and the logs
#
# Installed packages and the munge key are kept (a later up.sh then takes about a second).
set -euo pipefail

LS_ME=down
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
source "$HERE/common.sh"

purge=0
[[ ${1:-} == --purge ]] && purge=1

[[ $(id -u) -eq 0 ]] || ls_die "must run as root"

# Cancel jobs first so no slurmstepd or job processes outlive slurmd.
if ls_alive "$LS_RUN_DIR/slurmctld.pid" slurmctld >/dev/null && ls_ctld_ok; then
  jobs=$(squeue -h -o '%i' 2>/dev/null | tr '\n' ' ' || true)
  if [[ -n ${jobs// /} ]]; then
    ls_log "cancelling jobs: $jobs"
    # shellcheck disable=SC2086
    scancel $jobs || true
    for ((i = 0; i < 200; i++)); do
      [[ -z $(squeue -h -t PD,R,CG,S -o '%i' 2>/dev/null) ]] && break
      sleep 0.1
    done
  fi
fi

for name in slurmd slurmctld munged; do
  pidfile=$LS_RUN_DIR/$name.pid
  if pid=$(ls_alive "$pidfile" "$name"); then
    ls_stop_pid "$pid" "$name"
  elif [[ -e $pidfile ]]; then
    ls_log "$name: not running (stale pid file removed)"
  else
    ls_log "$name: not started by up.sh, leaving it alone"
  fi
  rm -f "$pidfile"
done
rmdir /run/munge 2>/dev/null || true # up.sh made it; gone again unless something else uses it

rm -rf "$LS_RUN_DIR" "$LS_STATE_DIR"
ls_log "removed $LS_RUN_DIR and $LS_STATE_DIR"

if ((purge)); then
  if [[ -f $LS_SLURM_CONF ]] && grep -q "$LS_MARKER" "$LS_SLURM_CONF"; then
    rm -f "$LS_SLURM_CONF"
    ls_log "removed $LS_SLURM_CONF"
  fi
  rm -rf "$LS_LOG_DIR"
  ls_log "removed $LS_LOG_DIR"
fi

# Only report (never kill by name): steps of jobs that did not end when cancelled.
left=""
for p in $(pgrep -x slurmstepd || true); do ls_pid_live "$p" && left+="$(ps -o pid=,args= -p "$p")"$'\n'; done
[[ -n $left ]] && ls_log "WARNING: slurmstepd processes still running (not stopped by down.sh):"$'\n'"$left"
ls_log "done"
