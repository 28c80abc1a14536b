#!/usr/bin/env bash
# Deploys one Ordinal set from a pipeline: applies its manifest, then waits until the rollout is done,
# and fails (non-zero exit) when it does not finish: past its progressDeadlineSeconds, rolled back by
# autoRollback, deleted meanwhile, or not done within the timeout. What it waited for and why it failed
# are printed, with the set's state, so the pipeline log says what went wrong.
#
#   examples/pipeline/deploy.sh MANIFEST [--timeout DURATION]      (default 10m; e.g. 90s, 15m)
#
# Environment:
#   ORDINAL_API_URL   the API, e.g. the CDK stack's ApiUrl output (default http://127.0.0.1:7080)
#   ORDINAL_TOKEN     a token with the write scope ("ordinal token create ci --scope write")
#   ORDINAL           how to run the CLI (default: "ordinal" on the PATH; e.g. "node ordinal/bin/ordinal.js")
#
# Exit codes: 0 the set is Ready on its new spec; 1 the manifest was refused or the rollout failed or
# timed out; 2 the API could not be reached; 64 wrong usage.
set -euo pipefail

usage() {
  echo "usage: $0 MANIFEST [--timeout DURATION]" >&2
  exit 64
}

manifest=""
timeout="${ORDINAL_ROLLOUT_TIMEOUT:-10m}"
while [ $# -gt 0 ]; do
  case "$1" in
    --timeout) [ $# -ge 2 ] || usage; timeout="$2"; shift 2 ;;
    --timeout=*) timeout="${1#--timeout=}"; shift ;;
    -h|--help) usage ;;
    -*) echo "unknown option: $1" >&2; usage ;;
    *) [ -z "$manifest" ] || usage; manifest="$1"; shift ;;
  esac
done
[ -n "$manifest" ] || usage
[ -r "$manifest" ] || { echo "error: cannot read the manifest $manifest" >&2; exit 1; }

read -r -a ordinal <<< "${ORDINAL:-ordinal}"
if [ -z "${ORDINAL_TOKEN:-}" ]; then
  echo "warning: ORDINAL_TOKEN is not set: an API with tokens (any API beyond loopback) will refuse the change" >&2
fi

# GitHub Actions shows ::error:: lines as annotations; elsewhere they are plain lines.
annotate() {
  if [ "${GITHUB_ACTIONS:-}" = "true" ]; then echo "::error title=Ordinal deploy failed::$1"; else echo "error: $1" >&2; fi
}

echo "--- ordinal apply -f $manifest (${ORDINAL_API_URL:-http://127.0.0.1:7080})"
set +e
applied="$("${ordinal[@]}" apply -f "$manifest")"
code=$?
set -e
if [ $code -ne 0 ]; then
  annotate "the manifest $manifest was not applied (exit $code); the reason is above"
  exit $code
fi
echo "$applied"
# "set NAME created" or "set NAME configured"
name="$(printf '%s\n' "$applied" | sed -n 's/^set \([a-z0-9-]*\) \(created\|configured\)$/\1/p')"
[ -n "$name" ] || { echo "error: unexpected output from ordinal apply: $applied" >&2; exit 1; }

echo "--- ordinal rollout status $name --timeout $timeout"
set +e
"${ordinal[@]}" rollout status "$name" --timeout "$timeout"
code=$?
set -e
if [ $code -ne 0 ]; then
  echo "--- ordinal get $name"
  "${ordinal[@]}" get "$name" || true
  annotate "the rollout of set $name did not finish (exit $code); the reason is above"
  exit $code
fi
echo "--- set $name deployed"
