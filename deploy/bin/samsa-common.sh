# Sourced by the start/stop scripts: where the binaries and logs are.
# SAMSA_HOME: the checkout (or install prefix); SAMSA_BUILD: the meson build directory.
SAMSA_HOME=${SAMSA_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
SAMSA_BUILD=${SAMSA_BUILD:-$SAMSA_HOME/build}
LOG_DIR=${LOG_DIR:-$SAMSA_HOME/logs}
export LOG_DIR

# samsa_find NAME SUBDIR: the binary from the build directory, else beside this script (an
# installed tree), else from PATH.
samsa_find() {
  local name=$1 sub=$2
  local here
  here=$(dirname "${BASH_SOURCE[0]}")
  if [ -x "$SAMSA_BUILD/$sub/$name" ]; then
    echo "$SAMSA_BUILD/$sub/$name"
  elif [ -x "$here/$name" ] && [ "$(readlink -f "$here/$name")" != "$(readlink -f "$0")" ]; then
    echo "$here/$name"          # installed: the daemons sit beside the scripts (never the
                                # calling script itself: that would exec itself forever)
  elif command -v "$name" >/dev/null 2>&1; then
    command -v "$name"
  else
    echo "$(basename "$0"): cannot find $name (build first: meson setup build && ninja -C build)" >&2
    return 1
  fi
}

# samsa_start NAME SUBDIR CONSOLE_OUT [-daemon] CONFIG [ARGS...]
# In the foreground the script becomes the daemon (exec), so its pid is the daemon's pid.
# With -daemon it detaches, writes $LOG_DIR/<config name>.pid and returns.
samsa_start() {
  local name=$1 sub=$2 out=$3
  shift 3
  local daemon=0
  if [ "${1:-}" = "-daemon" ]; then daemon=1; shift; fi
  if [ $# -lt 1 ]; then
    echo "USAGE: $(basename "$0") [-daemon] <config file> [--override property=value]*" >&2
    exit 1
  fi
  local exe
  exe=$(samsa_find "$name" "$sub") || exit 1
  mkdir -p "$LOG_DIR"
  if [ $daemon = 1 ]; then
    local pidfile="$LOG_DIR/$name-$(basename "$1").pid"
    nohup "$exe" "$@" >"$LOG_DIR/$out" 2>&1 </dev/null &
    echo $! >"$pidfile"
    echo "$name started, pid $(cat "$pidfile"), output in $LOG_DIR/$out"
  else
    exec "$exe" "$@"
  fi
}

# samsa_stop NAME [CONFIG]: SIGTERM to the daemons started with -daemon (their pid files),
# waiting for each to exit.
samsa_stop() {
  local name=$1 conf=${2:-}
  local pat="$LOG_DIR/$name-*.pid"
  [ -n "$conf" ] && pat="$LOG_DIR/$name-$(basename "$conf").pid"
  local found=0 f pid
  for f in $pat; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      found=1
    fi
    rm -f "$f"
  done
  if [ $found = 0 ]; then
    echo "No $name server to stop"
    exit 1
  fi
}
