#!/bin/bash
# Runs one conformance binary natively or inside moat (ctest calls this twice
# per binary). Usage: run.sh native|moat BINARY [FILTER]
set -u
mode=$1
bin=$2
shift 2
case "$mode" in
  native)
    exec "$bin" "$@"
    ;;
  moat)
    : "${MOAT:?MOAT must point at the moat binary}"
    # The guest's /tmp is the sandbox's own: a binary under the host's /tmp
    # (a build tree there) would be invisible inside moat, so run a copy.
    case "$(realpath -m "$bin")" in
      /tmp/*)
        copy=$(mktemp -d /var/tmp/moat-conformance.XXXXXX)
        trap 'rm -rf "$copy"' EXIT
        cp "$bin" "$copy/"
        bin=$copy/$(basename "$bin")
        ;;
    esac
    MOAT_CONFORMANCE_SANDBOX=1 "$MOAT" do -- "$bin" "$@"
    ;;
  *)
    echo "run.sh: mode must be native or moat" >&2
    exit 2
    ;;
esac
