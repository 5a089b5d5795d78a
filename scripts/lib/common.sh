# Sourced by the scripts in scripts/: the repository root, and installing
# Debian packages the first time a script needs them.
set -euo pipefail
export LC_ALL=C DEBIAN_FRONTEND=noninteractive
REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$REPO"

# need_packages PKG... : apt-get install whichever of them is missing,
# after an `apt-get update` (only when something is missing: a fresh
# machine's indexes may be absent or stale, and a marker file could not
# tell).
need_packages() {
	local missing=() pkg
	for pkg in "$@"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$pkg")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "installing: ${missing[*]}"
	local sudo=
	[ "$(id -u)" -eq 0 ] || sudo="sudo -n"
	$sudo apt-get update -qq >/dev/null
	$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The podman configuration the container tests and the demo use: without
# default_ulimits = [] every run fails on "error setting rlimit type 7",
# and crun cannot run on this kernel's hybrid cgroups, so use runc.
podman_env() {
	export CONTAINERS_CONF="$REPO/tests/containers/containers.conf"
}

BUILD_PACKAGES=(gcc musl-tools meson ninja-build pkg-config binutils file)
CHECK_BUILD_PACKAGES=(libsodium-dev clang)

# quiet_ninja DIR LOG: build DIR, printing ninja's output (the compiler's
# errors) only when it fails.
quiet_ninja() {
	mkdir -p "$REPO/.deps"
	flock /tmp/keyshim-build.lock ninja -C "$1" >"$REPO/.deps/ninja-$2" 2>&1 ||
		{ cat "$REPO/.deps/ninja-$2" >&2; echo "build of $1 failed" >&2; exit 1; }
}

# meson_build DIR LOG SETUP-ARGS...: configure DIR once, then build it.
meson_build() {
	local dir=$1 log=$2
	shift 2
	if [ ! -f "$dir/build.ninja" ]; then
		mkdir -p "$REPO/.deps"
		meson setup "$dir" "$@" >"$REPO/.deps/$log" || { cat "$REPO/.deps/$log"; exit 1; }
	fi
	quiet_ninja "$dir" "$log"
}

# The sanitizer build: the same sources with ASan+UBSan and the libFuzzer
# harnesses; clang, glibc and Debian's libsodium.
build_asan() {
	CC=clang meson_build build/asan meson-asan.log -Db_sanitize=address,undefined \
		-Db_lundef=false --buildtype=debugoptimized -Dfuzz=true
}

# The valgrind build: glibc, Debian's libsodium, no sanitizers.
build_plain() {
	CC=gcc meson_build build/plain meson-plain.log --buildtype=debug
}
