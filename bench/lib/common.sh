# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154  # sets repo/runs/record for the caller; reads its $here
# Shared start of every benchmark in bench/: sourced, not run.
# bench_init NAME BUILT_FILE "$@": parses --record, checks BENCH_RUNS (default: $default_runs,
# else 5) and that the project is built; sets repo, runs and record. The caller sets `here`
# (its own directory) first.
bench_init() {
    local name=$1 built=$2 arg
    shift 2
    repo=$(dirname "$here")
    runs=${BENCH_RUNS:-${default_runs:-5}}
    record=
    for arg in "$@"; do
        case $arg in
            --record) record=1 ;;
            *)
                echo "usage: $0 [--record]" >&2
                exit 2
                ;;
        esac
    done
    [[ $runs =~ ^[1-9][0-9]*$ ]] || {
        echo "$name: BENCH_RUNS must be a positive number" >&2
        exit 2
    }
    [[ -f $repo/$built ]] || {
        echo "$name: build first (npm run build)" >&2
        exit 1
    }
}

# upstream_version SCRIPT: the version an extracted dkms script says it is ("3.2.2"): rows and
# lines name it, since scripts/fetch-upstream.sh takes Debian sid's dkms (before 2026-11-30:
# Debian 12's 3.0.10).
upstream_version() {
    local said
    said=$(bash "$1" --version 2>/dev/null | head -n 1)
    echo "${said#dkms-}"
}

# run_upstream SCRIPT ARGS...: an extracted upstream dkms script, run by bash. Upstream reads
# /etc/dkms whatever its options say: where that exists, an empty directory ($work/empty) is
# mounted over it in a private mount namespace, so both sides see the same configuration.
run_upstream() {
    local script=$1
    shift
    if [[ -e /etc/dkms ]]; then
        mkdir -p "$work/empty"
        # shellcheck disable=SC2016 # expanded by the inner bash
        unshare --mount --propagation private \
            bash -c 'mount --bind "$1" /etc/dkms && shift && exec bash "$@"' \
            upstream-dkms "$work/empty" "$script" "$@"
    else
        bash "$script" "$@"
    fi
}
