# shellcheck shell=bash
# Images for the container tests and the demo, built with podman without a
# registry: stand-ins for semaphoreui/semaphore and apache/airflow (FROM
# scratch: busybox, the same entrypoint paths, users and CMDs, and services
# that report their keys' sha256), keyshim alone (dist/keyshim), and the
# wrapper stages of Dockerfile.example itself built on top of the stand-ins.
#
#   source scripts/lib/common.sh; source scripts/lib/podman.sh
#   build_standin_images          # idempotent: rebuilds only when an input changed
#   standin_env                   # prints NAME=IMAGE lines for the compose files
#
# Needs dist/keyshim (scripts/build) and root podman; podman_env (common.sh)
# sets CONTAINERS_CONF.

STANDIN_PREFIX=localhost/keyshim-test
STANDIN_LABEL=io.keyshim.test.inputs
# variable in examples/*/compose.*.yaml -> image
declare -A STANDIN_IMAGES=(
	[KEYSHIM_IMAGE]=$STANDIN_PREFIX/keyshim:standin
	[SEMAPHORE_IMAGE]=$STANDIN_PREFIX/semaphore:standin
	[AIRFLOW_IMAGE]=$STANDIN_PREFIX/airflow:standin
	[SEMAPHORE_KEYSHIM_IMAGE]=$STANDIN_PREFIX/semaphore-keyshim:standin
	[SEMAPHORE_SUPERVISED_IMAGE]=$STANDIN_PREFIX/semaphore-supervised:standin
	[AIRFLOW_KEYSHIM_IMAGE]=$STANDIN_PREFIX/airflow-keyshim:standin
)
# The examples' database is never started by the tests; any local image
# lets `podman-compose up --no-start` create its container.
STANDIN_EXTRA_ENV=(POSTGRES_IMAGE="$STANDIN_PREFIX/airflow:standin")

standin_env() {
	local name
	for name in "${!STANDIN_IMAGES[@]}"; do
		echo "$name=${STANDIN_IMAGES[$name]}"
	done
	printf '%s\n' "${STANDIN_EXTRA_ENV[@]}"
}

# A hash of everything that goes into the images.
_standin_inputs_hash() {
	{
		sha256sum "$REPO/dist/keyshim" /usr/bin/busybox "$REPO/Dockerfile.example" \
			"$REPO/tests/containers/Containerfile.standin" "${BASH_SOURCE[0]}"
		(cd "$REPO/tests/containers/standin" && find . -type f -print0 | sort -z |
			xargs -0 sha256sum && find . -type f -printf '%p %m\n' | sort)
	} | sha256sum | cut -c1-16
}

_standin_current() {
	local name label
	for name in "${!STANDIN_IMAGES[@]}"; do
		label=$(podman image inspect -f "{{index .Labels \"$STANDIN_LABEL\"}}" \
			"${STANDIN_IMAGES[$name]}" 2>/dev/null) || return 1
		[ "$label" = "$1" ] || return 1
	done
}

build_standin_images() {
	[ -x "$REPO/dist/keyshim" ] || { echo "dist/keyshim missing: run scripts/build" >&2; return 1; }
	command -v podman >/dev/null || { echo "podman is not installed" >&2; return 1; }
	local hash
	hash=$(_standin_inputs_hash)
	_standin_current "$hash" && return 0
	(
		# one builder at a time (tests and the demo may run together)
		flock 9
		_standin_current "$hash" && exit 0
		local ctx empty name
		ctx=$(mktemp -d /tmp/keyshim-standin.XXXXXX)
		empty=$ctx/empty
		trap 'rm -rf "$ctx"' EXIT
		mkdir -p "$ctx/bin" "$empty"
		cp /usr/bin/busybox "$ctx/bin/busybox"
		for name in $(/usr/bin/busybox --list); do
			[ "$name" = busybox ] || ln -s busybox "$ctx/bin/$name"
		done
		cp -a "$REPO/tests/containers/standin" "$ctx/standin"
		cp "$REPO/dist/keyshim" "$ctx/keyshim"
		# --no-cache: a cached image would keep its old label (buildah 1.28)
		local common=(--pull=never --network none -q --no-cache --label "$STANDIN_LABEL=$hash")
		for name in keyshim semaphore airflow; do
			podman build "${common[@]}" -f "$REPO/tests/containers/Containerfile.standin" \
				--target "$name" -t "$STANDIN_PREFIX/$name:standin" "$ctx" >/dev/null
		done
		# The wrapper stages of Dockerfile.example, unchanged, on the stand-ins.
		# Their context is empty: they only COPY --from= other stages.
		local from=(--build-arg "KEYSHIM_FROM=${STANDIN_IMAGES[KEYSHIM_IMAGE]}"
			--build-arg "SEMAPHORE_IMAGE=${STANDIN_IMAGES[SEMAPHORE_IMAGE]}"
			--build-arg "AIRFLOW_IMAGE=${STANDIN_IMAGES[AIRFLOW_IMAGE]}")
		local target
		for target in semaphore:SEMAPHORE_KEYSHIM_IMAGE semaphore-supervised:SEMAPHORE_SUPERVISED_IMAGE \
			airflow:AIRFLOW_KEYSHIM_IMAGE; do
			podman build "${common[@]}" "${from[@]}" -f "$REPO/Dockerfile.example" \
				--target "${target%%:*}" -t "${STANDIN_IMAGES[${target#*:}]}" "$empty" >/dev/null
		done
		# the images these replaced, now untagged; one still used by a
		# container (another checkout's test run) stays until the next time
		podman image prune -f --filter "label=$STANDIN_LABEL" >/dev/null 2>&1 || true
	) 9>/tmp/keyshim-standin-images.lock
}

# podman-compose 1.0.3 ignores depends_on conditions and its exit codes say
# nothing: `up --no-start`, then start the init service attached
# (`podman start -a`, whose exit code is the container's), then the rest.
compose_container() { # PROJECT SERVICE -> container id
	podman ps -aq --filter "label=com.docker.compose.project=$1" \
		--filter "label=com.docker.compose.service=$2"
}

compose_cleanup() { # PROJECT FILE
	podman-compose -p "$1" -f "$2" down -v >/dev/null 2>&1 || true
	podman network rm -f "$1_default" >/dev/null 2>&1 || true
}

# True when rootful podman runs here (with the repository's configuration).
podman_usable() {
	podman_env
	command -v podman >/dev/null && command -v podman-compose >/dev/null &&
		podman info >/dev/null 2>&1
}

# compose_wait_serving CONTAINER : wait until the stand-in has reported its
# keys (it prints "standin: serving"), at most 60 s.
compose_wait_serving() {
	local _
	for _ in $(seq 300); do
		podman logs "$1" 2>&1 | grep -q '^standin: serving' && return 0
		sleep 0.2
	done
	echo "$1 did not start; its log:" >&2
	podman logs "$1" >&2
	return 1
}

# The demo's container part: examples/airflow/compose.entrypoint.yaml, as it
# is, on the stand-in images; api-server and scheduler show their keys'
# fingerprints through up, down, up (same keys), down -v, up (new keys).
compose_demo() {
	build_standin_images
	( # a subshell, so that the EXIT trap cleans up whatever fails
	local project=kscdemo$$ file=examples/airflow/compose.entrypoint.yaml round c
	local components=(airflow-apiserver airflow-scheduler)
	# shellcheck disable=SC2046
	export $(standin_env) AIRFLOW_PORT=$((20000 + RANDOM % 20000))
	trap 'compose_cleanup "'"$project"'" "'"$file"'"' EXIT
	compose_cleanup "$project" "$file"
	for round in "up: a fresh volume, the first component to start makes the keys" \
		"down, up: new containers, the same volume, the same keys" \
		"down -v, up: the volume is gone, so are the keys"; do
		echo "  -- $round"
		case $round in
		"down, up"*) podman-compose -p "$project" -f "$file" down >/dev/null 2>&1 || true ;;
		"down -v"*) podman-compose -p "$project" -f "$file" down -v >/dev/null 2>&1 || true ;;
		esac
		podman-compose -p "$project" -f "$file" up --no-start --no-build >/dev/null 2>&1 || true
		for c in "${components[@]}"; do
			[ -n "$(compose_container "$project" "$c")" ] ||
				{ echo "podman-compose created no $c container" >&2; exit 1; }
			# (stderr: conmon says "failed to connect to syslog" here; a failed
			# start shows in compose_wait_serving)
			podman start "$(compose_container "$project" "$c")" >/dev/null 2>&1 || true
		done
		for c in "${components[@]}"; do
			compose_wait_serving "$(compose_container "$project" "$c")"
			podman logs "$(compose_container "$project" "$c")" 2>&1 |
				sed -n "s|^keyshim: \([A-Z_]*\) \([a-z]*\) \([0-9a-f]*\) .*|    $c: \1 \2 \3|p"
		done
	done
	)
}
