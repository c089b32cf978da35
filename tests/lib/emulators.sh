# emulators.sh: start the real storage servers the store tests run against
# (source it after common.sh). Each starter listens on 127.0.0.1 on a port
# from rk_free_port, keeps its data under $RK_TMP, is tracked by PID (stopped
# when the script exits) and exports the variables rdbkeep reads.
#
#   emu_start_s3 [VAR=value...]    s3rver + SigV4 verifier (also serves GCS's XML API)
#                                  sets EMU_S3_PORT EMU_S3_PID EMU_S3_DIR; bucket "backups"
#   emu_start_azurite              azurite-blob; sets EMU_AZ_PORT EMU_AZ_PID, account testacct
#   emu_start_ftp [--tls]          pyftpdlib; sets EMU_FTP_PORT EMU_FTP_PID EMU_FTP_DIR
#   emu_start_nginx                nginx (HTTP + HTTPS, basic auth); sets EMU_HTTP_PORT
#                                  EMU_HTTPS_PORT EMU_HTTP_PID EMU_WWW; EMU_CA (its cert)
#   emu_stop PID                   stops one server now

EMU_HOME="$RDBKEEP_SRC/tests/emulators"
EMU_S3_KEY=AKIDTEST
EMU_S3_SECRET=SECRETTEST
EMU_AZ_ACCOUNT=testacct
EMU_AZ_KEY=dGVzdGtleS10ZXN0a2V5LXRlc3RrZXktdGVzdGtleS10ZXN0a2V5LXRlc3RrZXktdGVzdGtleQ==
EMU_FTP_USER=backup
# A password with characters that must be percent-encoded in a URI.
EMU_FTP_PASS='s3cr@t/:x'
EMU_FTP_PASS_ENC='s3cr%40t%2F%3Ax'
EMU_HTTP_USER=backup
EMU_HTTP_PASS='pa ss:w0rd'
EMU_HTTP_PASS_ENC='pa%20ss%3Aw0rd'

emu_require_npm() {
    if [ ! -f "$EMU_HOME/node_modules/.rdbkeep-installed" ]; then
        "$EMU_HOME/install.sh" || { echo "cannot install the npm test servers" >&2; return 1; }
    fi
}

# A self-signed certificate for 127.0.0.1 (HTTPS, FTPS), made once per script.
emu_cert() {
    if [ ! -f "$RK_TMP/tls/cert.pem" ]; then
        mkdir -p "$RK_TMP/tls"
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout "$RK_TMP/tls/key.pem" \
            -out "$RK_TMP/tls/cert.pem" -subj "/CN=127.0.0.1" \
            -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
        chmod 644 "$RK_TMP/tls/"*.pem
    fi
    EMU_CA="$RK_TMP/tls/cert.pem"
}

emu_start_s3() {
    emu_require_npm
    local port dir
    port=$(rk_free_port)
    dir="$RK_TMP/s3-$port"
    mkdir -p "$dir"
    emu_run_s3 "$dir" "$port" "$@"
}

# emu_run_s3 DIR PORT [VAR=value...]: (re)starts the S3 server on DIR and PORT.
# s3rver makes listing continuation tokens with DES, which Node 20's OpenSSL 3
# has only in its legacy provider.
emu_run_s3() {
    local dir=$1 port=$2
    shift 2
    env S3_ACCESS_KEY=$EMU_S3_KEY S3_SECRET_KEY=$EMU_S3_SECRET S3_BUCKETS=backups "$@" \
        node --openssl-legacy-provider "$EMU_HOME/s3rver-strict.js" -d "$dir" -a 127.0.0.1 -p "$port" -s \
        >>"$dir.log" 2>&1 &
    EMU_S3_PID=$!
    rk_track_pid "$EMU_S3_PID"
    rk_wait_port "$port" 30
    EMU_S3_PORT=$port
    EMU_S3_DIR=$dir
}

emu_start_azurite() {
    emu_require_npm
    local port dir
    port=$(rk_free_port)
    dir="$RK_TMP/azurite-$port"
    mkdir -p "$dir"
    AZURITE_ACCOUNTS="$EMU_AZ_ACCOUNT:$EMU_AZ_KEY" "$EMU_HOME/node_modules/.bin/azurite-blob" \
        --blobHost 127.0.0.1 --blobPort "$port" --location "$dir" --disableTelemetry \
        --skipApiVersionCheck --disableProductStyleUrl --silent >"$dir.log" 2>&1 &
    EMU_AZ_PID=$!
    rk_track_pid "$EMU_AZ_PID"
    rk_wait_port "$port" 60
    EMU_AZ_PORT=$port
}

emu_start_ftp() {
    local port dir tls=()
    port=$(rk_free_port)
    dir="${EMU_FTP_BASE:-$RK_TMP}/ftp-$port"
    mkdir -p "$dir"
    if [ "${1:-}" = --tls ]; then
        emu_cert
        tls=(--cert "$EMU_CA" --key "$RK_TMP/tls/key.pem")
    fi
    # Debian's pyftpdlib is importable only by the system python.
    /usr/bin/python3 "$EMU_HOME/ftpd.py" --port "$port" --dir "$dir" --user "$EMU_FTP_USER" \
        --password "$EMU_FTP_PASS" "${tls[@]}" >"$dir.log" 2>&1 &
    EMU_FTP_PID=$!
    rk_track_pid "$EMU_FTP_PID"
    rk_wait_port "$port" 30
    EMU_FTP_PORT=$port
    EMU_FTP_DIR=$dir
}

emu_start_nginx() {
    emu_cert
    local http https dir
    http=$(rk_free_port)
    https=$(rk_free_port)
    dir="$RK_TMP/nginx-$http"
    EMU_WWW="$RK_TMP/www-$http"
    mkdir -p "$dir/tmp" "$EMU_WWW"
    # nginx's workers run as nobody when we are root: they must reach the files.
    chmod 755 "$RK_TMP" "$EMU_WWW"
    printf '%s:%s\n' "$EMU_HTTP_USER" "$(openssl passwd -apr1 "$EMU_HTTP_PASS")" >"$dir/htpasswd"
    chmod 644 "$dir/htpasswd"
    cat >"$dir/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 64; }
http {
  access_log $dir/access.log;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  default_type application/octet-stream;
  sendfile on;
  server {
    listen 127.0.0.1:$http;
    listen 127.0.0.1:$https ssl;
    ssl_certificate     $EMU_CA;
    ssl_certificate_key $RK_TMP/tls/key.pem;
    root $EMU_WWW;
    location /public/ { autoindex on; }
    location /slow/ { limit_rate 4m; auth_basic "backups"; auth_basic_user_file $dir/htpasswd; }
    location / { auth_basic "backups"; auth_basic_user_file $dir/htpasswd; }
  }
}
EOF
    nginx -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" >"$dir.log" 2>&1 &
    EMU_HTTP_PID=$!
    rk_track_pid "$EMU_HTTP_PID"
    rk_wait_port "$http" 30
    rk_wait_port "$https" 30
    EMU_HTTP_PORT=$http
    EMU_HTTPS_PORT=$https
}

emu_stop() { rk_stop_pid "$1"; }

# A TCP listener that accepts and never answers (a hung server), for timeout
# tests; sets EMU_BLACKHOLE_PORT.
emu_start_blackhole() {
    local port
    port=$(rk_free_port)
    /usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' "$port" &
    rk_track_pid $!
    rk_wait_port "$port" 10
    EMU_BLACKHOLE_PORT=$port
}

# ---------------------------------------------------------------- checks --
# Helpers for the store tests, on top of common.sh's checks.

RK_STORE=("$RDBKEEP_BIN" store)

# st_files: makes $RK_TMP/empty, small (1 MB + odd bytes) and big (100 MB).
st_files() {
    : >"$RK_TMP/empty"
    head -c 1048583 /dev/urandom >"$RK_TMP/small"
    head -c 100M /dev/urandom >"$RK_TMP/big"
    chmod 644 "$RK_TMP/empty" "$RK_TMP/small" "$RK_TMP/big"
}

st_sha() { sha256sum <"$1" | cut -d' ' -f1; }

# st_upload NAME FILE URI [cp options]: cp FILE to URI and check the exit code.
st_upload() {
    local name=$1 file=$2 uri=$3 out
    shift 3
    if out=$("${RK_STORE[@]}" cp -q "$@" "$file" "$uri" 2>&1); then rk_pass; else rk_fail "$name: upload: $out"; fi
}

# st_check_download NAME URI FILE: downloads URI and compares with FILE, also
# its size by stat.
st_check_download() {
    local name=$1 uri=$2 file=$3 out got
    got="$RK_TMP/download.$$"
    if out=$("${RK_STORE[@]}" cp -q "$uri" "$got" 2>&1); then
        rk_check_eq "$name: content" "$(st_sha "$file")" "$(st_sha "$got")"
    else
        rk_fail "$name: download: $out"
    fi
    rm -f "$got"
    rk_check_eq "$name: stat size" "$(stat -c %s "$file")" \
        "$("${RK_STORE[@]}" stat "$uri" 2>&1 | sed -n 's/^size: //p')"
}

# st_roundtrip NAME FILE URI [cp options]
st_roundtrip() {
    local name=$1 file=$2 uri=$3
    shift 3
    st_upload "$name" "$file" "$uri" "$@"
    st_check_download "$name" "$uri" "$file"
}

# st_expect_fail NAME NEEDLE SECRET CMD...: the command must fail, its
# message contain NEEDLE and never SECRET.
st_expect_fail() {
    local name=$1 needle=$2 secret=$3 out
    shift 3
    if out=$("$@" 2>&1); then
        rk_fail "$name: should have failed"
        return
    fi
    rk_pass
    rk_check_contains "$name: message" "$needle" "$out"
    [ -n "$secret" ] && rk_check_not_contains "$name: no secret" "$secret" "$out"
    return 0
}

# st_ls_keys URI: the URIs that "store ls" prints, one per line.
st_ls_keys() { "${RK_STORE[@]}" ls "$1" | cut -c41-; }

# st_timed_fail NAME NEEDLE MAX_SECONDS CMD...: must fail with NEEDLE within
# MAX_SECONDS (never hang: the command is killed at 3 x MAX_SECONDS).
st_timed_fail() {
    local name=$1 needle=$2 max=$3 out start end
    shift 3
    start=$(date +%s)
    if out=$(timeout $((max * 3)) "$@" 2>&1); then
        rk_fail "$name: should have failed"
        return
    fi
    end=$(date +%s)
    rk_check_contains "$name: message" "$needle" "$out"
    if [ $((end - start)) -le "$max" ]; then rk_pass; else rk_fail "$name: took $((end - start)) s (limit $max s)"; fi
}
