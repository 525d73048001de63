#!/usr/bin/env bash
# Bring up a real single-node Slurm cluster on this machine (Debian 12, root, no systemd).
#
#   bash cluster/local-slurm/up.sh      # idempotent: a second run does nothing if all is up
#   bash cluster/local-slurm/down.sh    # stops exactly what this script started
#
# Steps: install slurm-wlm + munge + libpmix-dev (once), make sure a munge key exists, render
# /etc/slurm/slurm.conf from slurm.conf.in with this host's real CPUs/memory, start munged,
# slurmctld and slurmd by hand (pid files under /run/lindring-slurm), wait until the node is idle.
# A daemon whose pid file is stale, that does not answer, or whose slurm.conf changed is restarted.
set -euo pipefail

LS_ME=up
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
source "$HERE/common.sh"

WAIT_SECS=${LINDRING_SLURM_WAIT:-60}
PKGS=(slurm-wlm slurmctld slurmd slurm-client munge libpmix-dev)

[[ $(id -u) -eq 0 ]] || ls_die "must run as root (installs packages, starts daemons)"

# --- 1. packages ---------------------------------------------------------------------------
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  # Trap: without systemd, the packages' postinst would start munged/slurmd via init.d scripts,
  # leaving daemons up.sh does not own. A policy-rc.d that denies starts prevents that.
  made_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
    trap '[[ $made_policy == 1 ]] && rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  ls_log "packages: installing ${missing[*]} (apt-get update first)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >/tmp/lindring-slurm-apt.log 2>&1 || { tail -n 30 /tmp/lindring-slurm-apt.log >&2; ls_die "apt-get install failed"; }
  if ((made_policy)); then rm -f /usr/sbin/policy-rc.d; made_policy=0; fi
  ls_log "packages: installed (log: /tmp/lindring-slurm-apt.log)"
else
  ls_log "packages: already installed (${PKGS[*]})"
fi

# Trap: Debian's mpi/pmix plugin dlopens libpmix.so (unversioned) from the pmix2 lib folder.
# libpmix-dev ships that symlink; if it is missing anyway, make it.
pmix_lib=$(dpkg -L libpmix2 2>/dev/null | grep -E '/pmix2/lib/libpmix\.so\.2$' | head -n1 || true)
if [[ -n $pmix_lib && ! -e $(dirname "$pmix_lib")/libpmix.so ]]; then
  ln -s "$(basename "$pmix_lib")" "$(dirname "$pmix_lib")/libpmix.so"
  ls_log "pmix: created symlink $(dirname "$pmix_lib")/libpmix.so"
fi

# --- 2. munge key --------------------------------------------------------------------------
install -d -o munge -g munge -m 0700 /etc/munge
if [[ ! -s $LS_MUNGE_KEY ]]; then
  if command -v mungekey >/dev/null; then
    mungekey --create --keyfile="$LS_MUNGE_KEY"
  else
    dd if=/dev/urandom of="$LS_MUNGE_KEY" bs=1 count=1024 status=none
  fi
  ls_log "munge: created key $LS_MUNGE_KEY"
else
  ls_log "munge: key $LS_MUNGE_KEY exists"
fi
chown munge:munge "$LS_MUNGE_KEY"
chmod 0400 "$LS_MUNGE_KEY"

# --- 3. slurm.conf -------------------------------------------------------------------------
# `slurmd -C` prints exactly what slurmd will register with; configuring more (e.g. RealMemory
# from a rounded guess) would drain the node as "Low RealMemory".
hw=$(slurmd -C 2>/dev/null | head -n1 || true)
if [[ $hw == NodeName=* ]]; then
  hw=${hw#NodeName=* }
else
  hw="CPUs=$(nproc) RealMemory=$(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo)"
fi
cpus=$(grep -oE '(^| )CPUs=[0-9]+' <<<"$hw" | cut -d= -f2)
mem=$(grep -oE 'RealMemory=[0-9]+' <<<"$hw" | cut -d= -f2)
node_line="NodeName=$LS_HOST NodeHostname=$LS_HOST NodeAddr=127.0.0.1 $hw State=UNKNOWN"
new_conf=$(sed -e "s|@MARKER@|$LS_MARKER|" \
  -e "s|@CLUSTER@|$LS_CLUSTER|" \
  -e "s|@HOST@|$LS_HOST|g" \
  -e "s|@PARTITION@|$LS_PARTITION|" \
  -e "s|@STATE_DIR@|$LS_STATE_DIR|g" \
  -e "s|@RUN_DIR@|$LS_RUN_DIR|g" \
  -e "s|@LOG_DIR@|$LS_LOG_DIR|g" \
  -e "s|@DEF_MEM_PER_CPU@|$((mem / cpus))|" \
  -e "s|@NODE_LINE@|$node_line|" \
  "$HERE/slurm.conf.in")
conf_changed=0
if [[ -f $LS_SLURM_CONF ]] && [[ "$(cat "$LS_SLURM_CONF")" == "$new_conf" ]]; then
  ls_log "slurm.conf: $LS_SLURM_CONF up to date ($LS_HOST: CPUs=$cpus RealMemory=$mem MB)"
else
  if [[ -f $LS_SLURM_CONF ]] && ! grep -q "$LS_MARKER" "$LS_SLURM_CONF"; then
    cp -p "$LS_SLURM_CONF" "$LS_SLURM_CONF.pre-lindring"
    ls_log "slurm.conf: kept the foreign one as $LS_SLURM_CONF.pre-lindring"
  fi
  install -d -m 0755 "$(dirname "$LS_SLURM_CONF")"
  printf '%s\n' "$new_conf" >"$LS_SLURM_CONF"
  chmod 0644 "$LS_SLURM_CONF"
  conf_changed=1
  ls_log "slurm.conf: wrote $LS_SLURM_CONF ($LS_HOST: CPUs=$cpus RealMemory=$mem MB, partition $LS_PARTITION)"
fi
install -d -m 0755 "$LS_STATE_DIR" "$LS_STATE_DIR/slurmctld" "$LS_STATE_DIR/slurmd" "$LS_LOG_DIR" "$LS_RUN_DIR"

# --- 4. munged -----------------------------------------------------------------------------
start_munged() {
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/log/munge
  install -d -o munge -g munge -m 0711 /var/lib/munge
  local force=()
  # A socket left by a killed munged makes a new one refuse to start; --force reclaims it.
  # (Only called when no munged answers, so the socket, if any, is stale.)
  [[ -S $LS_MUNGE_SOCKET ]] && force=(--force)
  runuser -u munge -- /usr/sbin/munged "${force[@]}" --pid-file="$LS_MUNGE_PIDFILE" \
    || ls_die "munged failed to start; see /var/log/munge/munged.log"
  local i pid
  for ((i = 0; i < 100; i++)); do
    if pid=$(ls_alive "$LS_MUNGE_PIDFILE" munged) && ls_munge_ok; then
      echo "$pid" >"$LS_RUN_DIR/munged.pid"
      ls_log "munged: started (pid $pid)"
      return 0
    fi
    sleep 0.1
  done
  ls_die "munged did not answer within 10 s; see /var/log/munge/munged.log"
}

if pid=$(ls_alive "$LS_RUN_DIR/munged.pid" munged); then
  if ls_munge_ok; then
    ls_log "munged: already running (pid $pid), nothing to do"
  else
    ls_log "munged: pid $pid does not answer, restarting"
    ls_stop_pid "$pid" munged
    start_munged
  fi
else
  if [[ -e $LS_RUN_DIR/munged.pid ]]; then
    ls_log "munged: stale pid file, removing"
    rm -f "$LS_RUN_DIR/munged.pid"
  fi
  # Only look for a foreign munged if some munged process exists: asking a dead socket takes ~2 s.
  live_munged=0
  for p in $(pgrep -x munged || true); do ls_pid_live "$p" && live_munged=1; done
  if ((live_munged)) && ls_munge_ok; then
    ls_log "munged: a munged not started by up.sh is answering on $LS_MUNGE_SOCKET; using it (down.sh will leave it alone)"
  else
    start_munged
  fi
fi

# --- 5. slurmctld / slurmd -----------------------------------------------------------------
start_daemon() { # NAME CMD...
  local name=$1 i pid
  shift
  rm -f "$LS_RUN_DIR/$name.pid"
  "$@" || ls_die "$name failed to start; see $LS_LOG_DIR/$name.log"
  for ((i = 0; i < 100; i++)); do
    if pid=$(ls_alive "$LS_RUN_DIR/$name.pid" "$name"); then
      ls_log "$name: started (pid $pid)"
      return 0
    fi
    sleep 0.1
  done
  tail -n 20 "$LS_LOG_DIR/$name.log" >&2 || true
  ls_die "$name did not come up within 10 s; see $LS_LOG_DIR/$name.log"
}
start_ctld() { start_daemon slurmctld /usr/sbin/slurmctld -f "$LS_SLURM_CONF"; }
start_slurmd() { start_daemon slurmd /usr/sbin/slurmd -f "$LS_SLURM_CONF" -N "$LS_HOST"; }

restarted_ctld=0
if pid=$(ls_alive "$LS_RUN_DIR/slurmctld.pid" slurmctld); then
  if ((conf_changed)); then
    ls_log "slurmctld: slurm.conf changed, restarting (pid $pid)"
    ls_stop_pid "$pid" slurmctld
    start_ctld
    restarted_ctld=1
  elif ls_ctld_ok; then
    ls_log "slurmctld: already running (pid $pid), nothing to do"
  else
    ls_log "slurmctld: pid $pid does not answer 'scontrol ping', restarting"
    ls_stop_pid "$pid" slurmctld
    start_ctld
    restarted_ctld=1
  fi
else
  [[ -e $LS_RUN_DIR/slurmctld.pid ]] && ls_log "slurmctld: stale pid file, restarting"
  ls_ctld_ok && ls_die "a slurmctld not started by up.sh answers on this host; stop it first"
  start_ctld
  restarted_ctld=1
fi
if ((restarted_ctld)); then
  for ((i = 0; i < 100; i++)); do ls_ctld_ok && break; sleep 0.1; done
  ls_ctld_ok || ls_die "slurmctld does not answer 'scontrol ping'; see $LS_LOG_DIR/slurmctld.log"
fi

if pid=$(ls_alive "$LS_RUN_DIR/slurmd.pid" slurmd); then
  if ((conf_changed)); then
    ls_log "slurmd: slurm.conf changed, restarting (pid $pid)"
    ls_stop_pid "$pid" slurmd
    start_slurmd
  elif ls_slurmd_ok; then
    ls_log "slurmd: already running (pid $pid), nothing to do"
  else
    ls_log "slurmd: pid $pid does not answer 'scontrol show slurmd', restarting"
    ls_stop_pid "$pid" slurmd
    start_slurmd
  fi
else
  [[ -e $LS_RUN_DIR/slurmd.pid ]] && ls_log "slurmd: stale pid file, restarting"
  start_slurmd
fi

# --- 6. wait for the node ------------------------------------------------------------------
resumed=0 restarted_slurmd=0
deadline=$(($(date +%s) + WAIT_SECS))
while :; do
  state=$(ls_node_state)
  case $state in
    idle | mix | alloc) break ;;
  esac
  now=$(date +%s)
  ((now < deadline)) || {
    tail -n 20 "$LS_LOG_DIR/slurmd.log" >&2 || true
    ls_die "node $LS_HOST is '$state' after ${WAIT_SECS}s; see $LS_LOG_DIR/"
  }
  # A node left down/drained by an earlier run (e.g. a killed slurmd) is resumed once.
  if ((!resumed)) && [[ $state == down || $state == drain || $state == drng ]]; then
    ls_log "node $LS_HOST is '$state', resuming it"
    scontrol update NodeName="$LS_HOST" State=RESUME || true
    resumed=1
  fi
  # slurmd alive but not responding (state ends in '*') for 10 s: restart it once.
  if ((!restarted_slurmd)) && [[ $state == *'*' ]] && ((now > deadline - WAIT_SECS + 10)); then
    ls_log "node $LS_HOST is '$state' (slurmd not responding), restarting slurmd"
    pid=$(ls_alive "$LS_RUN_DIR/slurmd.pid" slurmd) && ls_stop_pid "$pid" slurmd
    start_slurmd
    restarted_slurmd=1
  fi
  sleep 0.1
done

ls_log "cluster '$LS_CLUSTER' is up: node $LS_HOST is '$state' in partition '$LS_PARTITION' (took $(ls_elapsed) s)"
sinfo
