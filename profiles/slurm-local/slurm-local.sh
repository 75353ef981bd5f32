#!/usr/bin/env bash
# slurm-local.sh -- a one-node SLURM "cluster" on loopback, for trying and testing the
# SLURM profile (profiles/slurm) on a single Debian/Ubuntu machine without a real cluster.
#
# Debian 12 packages: slurmctld/slurmd/slurm-client 22.05 + munge 0.5. The daemons are
# started by hand (no systemd needed), so this works in containers and CI VMs. No
# slurmdbd: `sacct` does not work, so snakemake must use `--slurm-status-command squeue`,
# and slurm.conf sets MinJobAge=300 (squeue keeps finished jobs visible for 5 minutes).
#
# Usage (as root):
#   profiles/slurm-local/slurm-local.sh [start] [--no-install] [--partition NAME] [--force]
#   profiles/slurm-local/slurm-local.sh status
#   profiles/slurm-local/slurm-local.sh test          # sbatch --wrap, wait, check output
#   profiles/slurm-local/slurm-local.sh stop [munged|slurmctld|slurmd ...]
#
# start   installs the packages when missing (apt-get), writes /etc/slurm/slurm.conf
#         (CPUs and memory from `slurmd -C`), starts whichever of munged, slurmctld and
#         slurmd is not running yet and waits until the node is idle. Idempotent:
#         running daemons are left alone. For each daemon it starts it prints a line
#         "started: NAME" on stdout (nothing else goes to stdout), so a caller can later
#         stop exactly those: `slurm-local.sh stop NAME...`.
# stop    stops only daemons that this script started (it keeps their pids in
#         /run/slurm-local/); with names, only those.
#
# Then, from the repository root:
#   timeout -s KILL 1800 .venv/bin/snakemake --workflow-profile profiles/slurm \
#       --slurm-init-seconds-before-status-checks 5 --configfile config/tiny.yaml </dev/null
#
# Exit codes: 0 ok, 1 error, 2 usage, 3 not root, 4 packages missing and not installable.
set -euo pipefail

ACTION=start
INSTALL=1
FORCE=0
PARTITION=${SLURM_LOCAL_PARTITION:-debug}
CLUSTER=${SLURM_LOCAL_CLUSTER:-localcluster}
TIMEOUT=${SLURM_LOCAL_TIMEOUT:-60}
STATE=/run/slurm-local
CONF=/etc/slurm/slurm.conf
MARK="# written by slurm-local.sh (cnntopo)"
PKGS=(slurmctld slurmd slurm-client munge)
NAMES=()

usage() { sed -n '2,28p' "$0"; }

while [ $# -gt 0 ]; do
  case "$1" in
    start | stop | test | status) ACTION=$1 ;;
    munged | slurmctld | slurmd) NAMES+=("$1") ;;
    --no-install) INSTALL=0 ;;
    --force) FORCE=1 ;;
    --partition)
      [ $# -ge 2 ] || { usage >&2; exit 2; }
      PARTITION=$2
      shift
      ;;
    -h | --help) usage; exit 0 ;;
    *) echo "slurm-local.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

log() { echo "[slurm-local] $*" >&2; }
die() { echo "[slurm-local] ERROR: $*" >&2; exit "${2:-1}"; }

# ---------------------------------------------------------------- helpers
wait_for() { # wait_for SECONDS CMD...: retry CMD every 0.5 s
  local end=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -ge "$end" ] && return 1
    sleep 0.5
  done
}

pid_is() { # pid_is PID NAME: PID is alive and its command is NAME
  [ -n "$1" ] && [ -r "/proc/$1/comm" ] && [ "$(cat "/proc/$1/comm")" = "$2" ]
}

pidfile_of() { # the pid file the daemon itself writes
  case "$1" in
    munged) echo /run/munge/munged.pid ;;
    slurmctld) echo /run/slurm/slurmctld.pid ;;
    slurmd) echo /run/slurm/slurmd.pid ;;
  esac
}

running() { # running NAME: a NAME daemon answers (no matter who started it)
  case "$1" in
    munged) munge -n 2>/dev/null | unmunge >/dev/null 2>&1 ;;
    slurmctld) scontrol ping 2>/dev/null | grep -q 'is UP' ;;
    slurmd) pid_is "$(cat "$(pidfile_of slurmd)" 2>/dev/null || true)" slurmd ;;
  esac
}

remember() { # remember NAME: record the pid of a daemon this script just started
  local f pid=""
  f=$(pidfile_of "$1")
  wait_for 15 test -s "$f" || die "$1 wrote no pid file $f"
  pid=$(cat "$f")
  install -d -m 0755 "$STATE"
  echo "$pid" >"$STATE/$1.pid"
  echo "started: $1"
  log "$1 started (pid $pid)"
}

node_state() { sinfo -h -N -o %T 2>/dev/null | head -n1; }

stop_one() { # stop_one NAME: stop it only when this script started it
  local f="$STATE/$1.pid" pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if pid_is "$pid" "$1"; then
    log "stopping $1 (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do
      pid_is "$pid" "$1" || break
      sleep 0.25
    done
    if pid_is "$pid" "$1"; then kill -9 "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$f"
}

do_stop() {
  local names=("$@")
  [ ${#names[@]} -gt 0 ] || names=(munged slurmctld slurmd)
  # slurmd before slurmctld before munged, whatever order they were named in
  for n in slurmd slurmctld munged; do
    case " ${names[*]} " in *" $n "*) stop_one "$n" ;; esac
  done
}

do_status() {
  for n in munged slurmctld slurmd; do
    local how="not started by slurm-local.sh"
    [ -f "$STATE/$n.pid" ] && how="started by slurm-local.sh, pid $(cat "$STATE/$n.pid")"
    if running "$n"; then echo "$n: running ($how)"; else echo "$n: not running"; fi
  done
  sinfo 2>&1 || true
  scontrol show config 2>/dev/null | grep -E '^MinJobAge' || true
}

do_test() {
  local dir jid
  dir=$(mktemp -d)
  chmod 0755 "$dir"
  jid=$(cd "$dir" && sbatch --parsable --wrap 'hostname; echo slurm-local-ok')
  jid=${jid%%;*}
  log "submitted job $jid"
  wait_for "$TIMEOUT" bash -c "[ -z \"\$(squeue -h -j $jid -t PD,R,CG 2>/dev/null)\" ]" ||
    die "job $jid did not finish within ${TIMEOUT}s"
  scontrol show job "$jid" | grep -o 'JobState=[A-Z]*' || true
  grep -q slurm-local-ok "$dir/slurm-$jid.out" || die "job $jid wrote no output"
  rm -rf "$dir"
  log "test OK"
}

# ---------------------------------------------------------------- dispatch
case "$ACTION" in
  status) do_status; exit 0 ;;
esac
[ "$(id -u)" -eq 0 ] || die "must run as root (it installs packages and starts daemons)" 3
case "$ACTION" in
  stop) do_stop "${NAMES[@]}"; exit 0 ;;
  test) do_test; exit 0 ;;
esac

# ---------------------------------------------------------------- install
missing=()
for bin in slurmctld slurmd sbatch munged; do
  command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || missing+=("$bin")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$INSTALL" -eq 1 ] || die "missing ${missing[*]} and --no-install given" 4
  command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get to install ${PKGS[*]}" 4
  log "installing ${PKGS[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${PKGS[@]}"; } >/dev/null; then
    die "apt-get could not install ${PKGS[*]} (no package access?)" 4
  fi
fi
export PATH="$PATH:/usr/sbin"

# If a systemd runs the packaged services (with the packaged, empty config), they would
# own the ports: stop them, but only when the config is absent or ours.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null &&
  { [ ! -e "$CONF" ] || grep -qF "$MARK" "$CONF"; }; then
  for s in slurmd slurmctld; do
    if systemctl is-active --quiet "$s" 2>/dev/null && [ ! -f "$STATE/${s}.pid" ]; then
      log "stopping systemd unit $s"
      systemctl stop "$s" || true
    fi
  done
fi

# ---------------------------------------------------------------- munge
if running munged; then
  log "munged already running"
else
  if [ ! -s /etc/munge/munge.key ]; then
    log "creating munge key"
    if command -v mungekey >/dev/null; then
      mungekey --create --force >&2
    else
      dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
  fi
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge
  rm -f /run/munge/munged.pid
  runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid
  wait_for 10 running munged || die "munged does not answer (see /var/log/munge/munged.log)"
  remember munged
fi

# ---------------------------------------------------------------- slurm.conf
if running slurmctld || running slurmd; then
  log "SLURM daemons already running: keeping $CONF"
elif [ -e "$CONF" ] && ! grep -qF "$MARK" "$CONF" && [ "$FORCE" -eq 0 ]; then
  die "$CONF exists and was not written by this script; refusing to overwrite it (use --force)"
else
  NODE=$(hostname -s)
  # e.g. "NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24105"
  HW=$(slurmd -C | head -n1)
  get() { echo "$HW" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
  CPUS=$(get CPUs)
  SOCKETS=$(get SocketsPerBoard)
  CORES=$(get CoresPerSocket)
  THREADS=$(get ThreadsPerCore)
  MEM=$(get RealMemory)
  MEM=$((MEM > 2048 ? MEM - 1024 : MEM)) # head-room for the OS
  install -d -m 0755 /etc/slurm
  install -d -o slurm -g slurm -m 0755 /var/spool/slurmctld /var/log/slurm /run/slurm
  install -d -m 0755 /var/spool/slurmd
  cat >"$CONF" <<EOF
$MARK
ClusterName=${CLUSTER}
SlurmctldHost=${NODE}(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
# no slurmdbd: sacct does not work; use squeue for job status
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# keep finished jobs visible to squeue/scontrol for 5 minutes; the snakemake slurm
# plugin uses squeue only when MinJobAge >= 3 x --slurm-init-seconds-before-status-checks
MinJobAge=300
KillWait=5
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=60
# Loopback answers in milliseconds. With the default (10 s), every client call made
# while the controller is stopped waits about 9 s, and the Snakemake SLURM plugin runs
# one (scontrol show config) at every Snakemake start, dry runs included; with 2 s: 1 s.
MessageTimeout=2
NodeName=${NODE} NodeAddr=127.0.0.1 CPUs=${CPUS} SocketsPerBoard=${SOCKETS} CoresPerSocket=${CORES} ThreadsPerCore=${THREADS} RealMemory=${MEM} State=UNKNOWN
PartitionName=${PARTITION} Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  log "wrote $CONF (node ${NODE}: ${CPUS} CPUs, ${MEM} MB, partition ${PARTITION})"
fi

# ---------------------------------------------------------------- slurmctld + slurmd
install -d -o slurm -g slurm -m 0755 /var/spool/slurmctld /var/log/slurm /run/slurm
if running slurmctld; then
  log "slurmctld already running"
else
  rm -f "$(pidfile_of slurmctld)"
  slurmctld
  wait_for 30 running slurmctld || die "slurmctld does not answer (see /var/log/slurm/slurmctld.log)"
  remember slurmctld
fi
if running slurmd; then
  log "slurmd already running"
else
  rm -f "$(pidfile_of slurmd)"
  slurmd
  remember slurmd
fi

# A node left "down"/"drained" by an earlier unclean stop is put back into service once.
node_ok() { node_state | grep -qE '^(idle|mixed|allocated|completing)'; }
if ! wait_for 15 node_ok; then
  log "node is '$(node_state)'; trying scontrol update state=resume"
  scontrol update nodename="$(sinfo -h -N -o %N | head -n1)" state=resume >&2 || true
  wait_for "$TIMEOUT" node_ok || die "node not usable (see /var/log/slurm/slurmd.log): $(sinfo -N 2>&1)"
fi
sinfo >&2
log "SLURM ready: $(sinfo -h -o '%P %D %T' | head -n1)"
