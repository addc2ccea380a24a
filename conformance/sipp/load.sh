#!/usr/bin/env bash
# SIPp load against a running imsps: PUBLISH and SUBSCRIBE+NOTIFY at rising rates over
# 10,000 distinct presentities, printing for each scenario the highest rate that finished with
# zero failed transactions and a p99 response time under 10 ms.
#
# Rates are transactions per second: publish.xml runs three PUBLISH transactions per call
# (initial, modify, remove), subscribe.xml one SUBSCRIBE and the NOTIFY it causes.
#
#   conformance/sipp/load.sh [-s host:port] [-d seconds] [-r "rate rate ..."] [publish|subscribe]...
#
# Every step is bounded: at most rate*seconds calls and a global timeout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
target=127.0.0.1:5060
seconds=10
rates="1000 2000 4000 6000 8000 10000 12000"
while getopts "s:d:r:" o; do
	case $o in
	s) target=$OPTARG ;;
	d) seconds=$OPTARG ;;
	r) rates=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
scenarios=${*:-publish subscribe}
command -v sipp >/dev/null || { echo "sipp not found: apt-get install -y sip-tester" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
{
	echo SEQUENTIAL
	for i in $(seq 1 10000); do echo "load$i;example.com"; done
} >"$work/users.csv"

# p99 of the response times (ms) in a SIPp rtt file (date_ms;response_time_ms;rtd_no).
p99() {
	awk -F';' 'NR > 1 && $2 != "" { print $2 }' "$@" | sort -n |
		awk '{ v[NR] = $1 } END { if (NR == 0) { print "n/a"; exit } i = int(NR * 0.99); if (i < 1) i = 1; print v[i] }'
}

# Warm-up, not measured: one PUBLISH per presentity, so that every presentity has state and
# the subscriber directory (Sh) has looked each one up once, as in a running system.
echo "warm-up: one PUBLISH for each of 10,000 presentities at 1000/s"
(cd "$work" && timeout 120 sipp "$target" -sf "$here/publish_initial.xml" -inf "$work/users.csv" -r 1000 -m 10000 -l 2000 \
	-t u1 -i 127.0.0.1 -p 0 -recv_timeout 5000 -nostdin >warmup.out 2>&1) || echo "warm-up had failures (see above rates)"

for scen in $scenarios; do
	best=0
	per_call=1
	[ "$scen" = publish ] && per_call=3
	for rate in $rates; do
		calls=$((rate * seconds / per_call))
		dir="$work/$scen-$rate"
		mkdir -p "$dir"
		set +e
		(cd "$dir" && timeout $((seconds * 4 + 30)) sipp "$target" -sf "$here/$scen.xml" -inf "$work/users.csv" \
			-r $((rate / per_call)) -m "$calls" -l $((rate * 2)) -t u1 -i 127.0.0.1 -p 0 -timer_resol 1 -buff_size 4194304 \
			-recv_timeout 5000 -timeout $((seconds * 4))s -timeout_error \
			-trace_rtt -rtt_freq 1000 -trace_stat -stf stats.csv -fd 1 -nostdin >sipp.out 2>&1)
		rc=$?
		set -e
		failed=$(awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "FailedCall(C)") c = i } NR > 1 { f = $c } END { print f + 0 }' "$dir/stats.csv" 2>/dev/null || echo "?")
		p=$(p99 "$dir"/*_rtt.csv 2>/dev/null || echo n/a)
		echo "$scen rate=$rate transactions/s calls=$calls sipp_exit=$rc failed=$failed p99_ms=$p"
		if [ "$rc" -ne 0 ] || [ "$p" = n/a ] || awk -v p="$p" 'BEGIN { exit !(p >= 10) }'; then
			break
		fi
		best=$rate
	done
	echo "RESULT $scen: highest rate with zero failures and p99 < 10 ms: $best/s"
done
