# Sourced after common.sh by scripts/test: installs the real services that
# tests/test_services.py runs under keyshim, from the npm registry, into
# .deps/services/NAME (git ignores .deps/). An install is kept once it is
# complete: npm works in NAME.tmp, which is renamed only when npm succeeded
# and the service's entry point is there, so a broken or interrupted install
# is never mistaken for a cached one.
#
#   Node-RED 4.1.15   about 30 s and 117 MB
#   n8n 1.123.81      about 4 min and 1.8 GB; on Node.js 20 it needs the two
#                     overrides below (xlsx: its registry version fetches from a
#                     host outside the registry; isolated-vm: the pinned one
#                     does not build on Node.js 20)
#
# KEYSHIM_SKIP_N8N=1 skips the n8n install (the n8n test then skips, naming
# the reason; CI counts such a skip as a failure unless told otherwise).

NODE_RED_VERSION=4.1.15
N8N_VERSION=1.123.81
SERVICES_DIR="$REPO/.deps/services"

# node_major: the major version of the node on PATH, or 0 without one.
node_major() {
	command -v node >/dev/null 2>&1 || { echo 0; return; }
	node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0
}

# npm_service NAME ENTRY PACKAGE_JSON: install into $SERVICES_DIR/NAME
# unless ENTRY (relative to it) already exists.
npm_service() {
	local name=$1 entry=$2 manifest=$3
	local dir="$SERVICES_DIR/$name" tmp="$SERVICES_DIR/$name.tmp" start
	[ -e "$dir/$entry" ] && return 0
	echo "installing $name from npm into .deps/services/$name (once)"
	rm -rf -- "$tmp" "$dir"
	mkdir -p -- "$tmp"
	printf '%s\n' "$manifest" >"$tmp/package.json"
	start=$SECONDS
	if ! (cd -- "$tmp" && npm install --no-audit --no-fund --loglevel=error >npm.log 2>&1) ||
		[ ! -e "$tmp/$entry" ]; then
		echo "services: npm could not install $name (log: .deps/services/$name.tmp/npm.log):" >&2
		tail -n 20 -- "$tmp/npm.log" >&2
		return 1
	fi
	mv -- "$tmp" "$dir"
	echo "installed $name in $((SECONDS - start)) s, $(du -sh -- "$dir" | cut -f1)"
}

# install_services: Node-RED, then n8n; a failure is reported and the
# tests that need the service skip with that reason.
install_services() {
	command -v npm >/dev/null 2>&1 || need_packages nodejs npm
	local major
	major=$(node_major)
	mkdir -p -- "$SERVICES_DIR"
	exec 9>"$SERVICES_DIR/.lock"
	flock 9
	if [ "$major" -lt 18 ]; then
		echo "services: Node.js >= 18 is needed for Node-RED (found major $major); not installed" >&2
	else
		npm_service node-red node_modules/node-red/red.js \
			"{\"private\": true, \"dependencies\": {\"node-red\": \"$NODE_RED_VERSION\"}}" || true
	fi
	if [ "${KEYSHIM_SKIP_N8N:-0}" = 1 ]; then
		echo "services: KEYSHIM_SKIP_N8N=1: n8n not installed"
	elif [ "$major" -lt 20 ]; then
		echo "services: n8n $N8N_VERSION needs Node.js >= 20 (found major $major); not installed" >&2
	else
		npm_service n8n node_modules/n8n/bin/n8n \
			"{\"private\": true, \"dependencies\": {\"n8n\": \"$N8N_VERSION\"},
  \"overrides\": {\"xlsx\": \"0.18.5\", \"isolated-vm\": \"5.0.4\"}}" || true
	fi
	exec 9>&-
}
