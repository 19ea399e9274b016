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
for s in kw_msg_decode kw_msg_encode kw_rd_init kw_wr_init_dyn kw_err_name kw_msgdef_by_key; do
    printf '%s\n' "$syms" | grep -qx "$s" || { echo "missing export: $s"; exit 1; }
done
if printf '%s\n' "$syms" | grep -q '^kwi_'; then
    echo "internal kwi_ symbols are exported"
    exit 1
fi
echo "exports ok: $(printf '%s\n' "$syms" | wc -l) kw_ symbols"
