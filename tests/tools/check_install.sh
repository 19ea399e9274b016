#!/bin/sh
# Installs kwire into a temporary root and builds a small program against it with nothing but
# the installed headers and `pkg-config kwire`, both shared and static, then runs both.
set -eu
build=$1
if [ "${2:-none}" != "none" ]; then
    echo "SKIP: a sanitizer build ($2) installs libraries that need the sanitizer runtime"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
DESTDIR="$tmp/root" meson install -C "$build" --quiet >/dev/null
pc=$(dirname "$(find "$tmp/root" -name kwire.pc | head -n 1)")
cat >"$tmp/user.c" <<'C'
#include <kwire/proto.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    kw_heartbeat_req m;
    memset(&m, 0, sizeof(m));
    m.group_id = kw_slice_str("g");
    m.member_id = kw_slice_str("m");
    m.group_instance_id = KW_SLICE_NULL;
    m.generation_id = 7;
    kw_wr w;
    kw_wr_init_dyn(&w, NULL, 1024);
    if (kw_msg_encode(&kw_msg_heartbeat_req, 4, &w, &m) != KW_ERR_OK)
        return 1;
    /* compact "g", int32 7, compact "m", null, no tags */
    static const unsigned char want[] = {2, 'g', 0, 0, 0, 7, 2, 'm', 0, 0};
    int ok = kw_wr_len(&w) == sizeof(want) && memcmp(w.base, want, sizeof(want)) == 0;
    kw_wr_fini(&w);
    printf("%s\n", ok ? "installed kwire works" : "wrong bytes");
    return ok ? 0 : 1;
}
C
export PKG_CONFIG_PATH="$pc"
prefix=$(pkg-config --variable=prefix kwire)
pkc() { pkg-config --define-variable=prefix="$tmp/root$prefix" "$@" kwire; }
cc $(pkc --cflags) -o "$tmp/user-shared" "$tmp/user.c" $(pkc --libs)
LD_LIBRARY_PATH=$(pkc --variable=libdir) "$tmp/user-shared"
libdir=$(pkc --variable=libdir)
cc $(pkc --cflags) -o "$tmp/user-static" "$tmp/user.c" "$libdir/libkwire.a" \
    $(pkc --libs --static | sed 's/-lkwire//; s/-L[^ ]*//g')
"$tmp/user-static"
# The kwire command and its man page are installed too.
kw=$(find "$tmp/root" -path '*/bin/kwire' | head -n 1)
LD_LIBRARY_PATH=$libdir "$kw" --version | grep -q '^kwire ' || { echo "no working bin/kwire"; exit 1; }
[ -n "$(find "$tmp/root" -path '*/man1/kwire.1*' | head -n 1)" ] || { echo "no man1/kwire.1"; exit 1; }
echo "bin/kwire and man1/kwire.1 installed"
