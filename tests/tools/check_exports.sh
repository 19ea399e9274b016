#!/bin/sh
# The shared library exports kw_* symbols only (everything else is hidden), and the public
# codec entry points are among them.
set -eu
lib=$1
# Sanitizer builds add their own exports (__odr_asan.*, __asan_*, ...); those are not kwire's.
syms=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRV]$/ && $3 !~ /^__(odr_asan|asan|ubsan|sancov|lsan)/ {print $3}')
bad=$(printf '%s\n' "$syms" | grep -v '^kw_' || true)
if [ -n "$bad" ]; then
    echo "symbols exported without the kw_ prefix:"
    printf '%s\n' "$bad"
    exit 1
fi
for s in kw_msg_decode kw_msg_encode kw_rd_init kw_wr_init_dyn kw_err_name kw_msgdef_by_key kw_msg_walk \
    kw_bus_config_init kw_bus_config_validate kw_bus_event_encode kw_bus_event_decode \
    kw_bus_metrics_prometheus kw_bus_traceparent_parse kw_uuid_v4 kw_bus_time_format \
    kw_consumer_subscribe kw_consumer_unsubscribe kw_consumer_commit kw_consumer_commit_async \
    kw_consumer_committed kw_consumer_committed_async kw_consumer_close kw_consumer_member_id; do
    printf '%s\n' "$syms" | grep -qx "$s" || { echo "missing export: $s"; exit 1; }
done
if printf '%s\n' "$syms" | grep -q '^kwi_'; then
    echo "internal kwi_ symbols are exported"
    exit 1
fi
echo "exports ok: $(printf '%s\n' "$syms" | wc -l) kw_ symbols"
