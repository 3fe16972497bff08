# Installs the Debian packages the build, the tests and the benchmark need; sourced by
# scripts/test, scripts/demo, scripts/fuzz and bench/run. Skips apt entirely when everything
# is already there.

IPSIE_DEB_PACKAGES=(
    apache2 apache2-dev
    libcjose-dev libjansson-dev libcurl4-openssl-dev libssl-dev libapr1-dev libaprutil1-dev
    libhiredis-dev libmemcached-dev
    check pkg-config autoconf automake libtool make gcc
    openssl
    chromium
    redis-server memcached
)

deb_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# Installs those of the named Debian packages that are missing; nothing when all are there.
ensure_packages() {
    local missing=() p
    for p in "$@"; do
        deb_installed "$p" || missing+=("$p")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        return 0
    fi
    echo "installing: ${missing[*]}"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        sudo=(sudo)
    fi
    "${sudo[@]}" apt-get update
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
}

ensure_deps() {
    local extra=()
    # Node.js 20+ and npm usually come from elsewhere; Debian's only when there is none.
    command -v node >/dev/null 2>&1 || extra+=(nodejs)
    command -v npm >/dev/null 2>&1 || extra+=(npm)
    ensure_packages "${IPSIE_DEB_PACKAGES[@]}" "${extra[@]}"
}

# The OP and test tools, exactly as package-lock.json pins them; no browser download.
install_node_modules() {
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
}

# Where the build happens: out of the source tree, which the build leaves clean.
IPSIE_BUILD_DIR=${IPSIE_BUILD_DIR:-_build}

# Builds _build/mod_auth_ipsie.so (and, with make check, the unit tests there), warnings as
# errors, with httpd's own CFLAGS for the glue.
build_module() {
    autoreconf -fi
    mkdir -p "$IPSIE_BUILD_DIR"
    (
        cd "$IPSIE_BUILD_DIR"
        ../configure --with-apxs="$(command -v apxs || echo /usr/bin/apxs)" --enable-werror
        make -j2
    )
}

# The fuzz tier (scripts/fuzz): clang 14 with libFuzzer and the sanitizer runtimes, and the
# core's libraries. Skips apt when they are all there.
IPSIE_FUZZ_DEB_PACKAGES=(
    clang-14 libclang-rt-14-dev
    libcjose-dev libjansson-dev libcurl4-openssl-dev libssl-dev libapr1-dev libaprutil1-dev
    libhiredis-dev libmemcached-dev
    pkg-config
)

ensure_fuzz_deps() {
    ensure_packages "${IPSIE_FUZZ_DEB_PACKAGES[@]}"
}
