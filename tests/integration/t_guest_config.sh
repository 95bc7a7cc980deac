#!/bin/bash
# Config files reach guest NFs: a guest's filesystem is its initramfs and
# its arguments the kernel command line, so host files go in a cpio
# appended to the image, as /etc/nfhost/NAME, and the NF arguments naming
# them are rewritten.  Chain 1 -> 2: nf-conf-probe in a plain-QEMU guest
# (nfh-guest-qemu --file) passes and marks 42, nf-conf-probe in a libvirt
# guest of a graph (run: guest, files: [HOST:NAME], through nfhost vm
# start) drops and marks 7; their counters, read on the host, show each
# applied its own file.  Refused names, missing
# files and a -c file (vm start --print-xml) are checked without a boot; no
# per-guest initrd is left in /tmp or the state directory.
. "$(dirname "$0")/lib.sh"
VM=vp$$-1 # the graph's service vp$$, instance 1
use_libvirt "$VM"

# tmp_initrds: nfh-guest-qemu's per-guest initrds present in /tmp
tmp_initrds() {
	find "${TMPDIR:-/tmp}" -maxdepth 1 -name 'nfh-guest-initrd.*' | wc -l
}

# refused WHAT PATTERN CMD...: CMD fails, saying PATTERN
refused() {
	local what=$1 pat=$2
	shift 2
	"$@" > "$T/refused.out" 2>&1 && fail "$what was accepted: $(cat "$T/refused.out")"
	grep -q -- "$pat" "$T/refused.out" || fail "$what: no clear error: $(cat "$T/refused.out")"
	echo "refused, $what: $(grep -- "$pat" "$T/refused.out")"
}

gen_pcap -n 2000 -f 20 --ipv4 --fixed 64 -s 3 "$T/in.pcap"
printf 'mode: pass\nmark: 42\n' > "$T/pass.yaml"
printf 'mode: drop\nmark: 7\n' > "$T/drop.yaml"
printf 'rules: []\n' > "$T/fw.yaml"
start_core "net_pcap0,rx_pcap=$T/in.pcap,infinite_rx=1" -- --chain 1,2
before=$(tmp_initrds)

# 1. what cannot reach a guest is refused on the host, before any boot
Q=("$ROOT"/tools/nfh-guest-qemu --console "$T/none.log")
refused "guest name with '..'" "guest name '../x' refused" \
	"${Q[@]}" --file "$T/pass.yaml:../x" "$REGION" 9 nf-conf-probe 1 -- /etc/nfhost/x
refused "guest name with '/'" "guest name 'a/b' refused" \
	"$B"/nfhost vm start --core "$NAME" --nf nf-conf-probe --service 1 --file "$T/pass.yaml:a/b" -- x
refused "missing --file" "file '$T/nope.yaml': No such file" \
	"$B"/nfhost vm start --core "$NAME" --nf nf-conf-probe --service 1 --file "$T/nope.yaml" -- x
refused "missing -c file" "NF argument -c $T/nope.yaml: No such file or directory on the host" \
	"${Q[@]}" "$REGION" 9 nf-firewall 1 -- -c "$T/nope.yaml"
refused "one guest name for two files" "would both be /etc/nfhost/same.yaml" \
	"${Q[@]}" --file "$T/pass.yaml:same.yaml" --file "$T/drop.yaml:same.yaml" "$REGION" 9 nf-conf-probe 1 -- x

# 2. -c FILE is shipped without --file (--print-xml: the domain and its
# initrd, no boot)
"$B"/nfhost vm start --core "$NAME" --nf nf-firewall --service 3 --name "$VM-x" --print-xml -- -c "$T/fw.yaml" \
	> "$T/dom.xml" 2> "$T/xml.out" || fail "vm start --print-xml failed: $(cat "$T/xml.out")"
grep -q "nfhost.args=.*,-c,/etc/nfhost/fw.yaml " "$T/dom.xml" || fail "-c not rewritten: $(grep cmdline "$T/dom.xml")"
xinitrd=$(sed -n 's|.*<initrd>\(.*\)</initrd>.*|\1|p' "$T/dom.xml")
[[ $xinitrd == "$NFHOST_STATE_DIR/vm/$VM-x.initrd" ]] || fail "the domain boots $xinitrd, not its own initrd"
$PY - "$xinitrd" "$T/fw.yaml" <<'PYEOF' || fail "the initrd's appended archive is wrong (above)"
import sys, zlib
data = open(sys.argv[1], 'rb').read()
d = zlib.decompressobj(31)
d.decompress(data)
tail = d.unused_data
start = len(data) - len(tail)
tail = tail.lstrip(b'\0')
off = len(data) - len(tail)
names, pos = {}, 0
while True:
    h = tail[pos:pos + 110]
    assert h[:6] == b'070701', 'no newc header at %d' % (off + pos)
    size, nsize = int(h[54:62], 16), int(h[94:102], 16)
    name = tail[pos + 110:pos + 110 + nsize - 1].decode()
    pos = (pos + 110 + nsize + 3) & ~3
    if name == 'TRAILER!!!':
        break
    names[name] = tail[pos:pos + size]
    pos = (pos + size + 3) & ~3
print('appended cpio at %d (4-aligned: %s): %s' % (off, off % 4 == 0, sorted(names)))
assert off % 4 == 0
assert names['etc/nfhost/fw.yaml'] == open(sys.argv[2], 'rb').read()
PYEOF
rm -f "$xinitrd"

# 3. a graph's guest (libvirt): files: HOST:NAME, the argument naming HOST
# rewritten.  Before the plain QEMU guest, as in t_vm_manager: libvirt's
# QEMU start waits for kernel workers that busy CPUs starve (here: for
# minutes, "workqueue lockup").  The traffic takes the core's chain 0, 1 -> 2.
cat > "$T/graph.yaml" <<EOF
services:
  - {id: 2, name: vp$$, nf: nf-conf-probe, run: guest, files: ["$T/drop.yaml:second.yaml"], args: [$T/drop.yaml]}
chains:
  - {id: 1, services: [2]}
default: {chain: 0}
EOF
"$B"/nfhost -r "$REGION" graph load "$T/graph.yaml" > "$T/load.out" 2>&1 ||
	fail "graph load failed (exit $?): $(cat "$T/load.out")"
cat "$T/load.out"
grep -q "running /bin/nf-conf-probe .* /etc/nfhost/second.yaml " "$NFHOST_STATE_DIR/vm/$VM.log" ||
	fail "the libvirt guest's NF was not given /etc/nfhost/second.yaml"
left=$(find "$NFHOST_STATE_DIR/vm" -name '*.initrd')
[[ -z $left ]] || fail "per-guest initrd left in the state directory after vm start: $left"

# 4. plain QEMU: --file, and the argument naming it rewritten
GUEST_OPTS="--file $T/pass.yaml" start_guest probe 4545 nf-conf-probe 1 -- "$T/pass.yaml"
QPID=$GUEST_PID
grep -q "running /bin/nf-conf-probe .* /etc/nfhost/pass.yaml " "$T/probe.log" ||
	fail "the guest NF was not given /etc/nfhost/pass.yaml: $(grep running "$T/probe.log")"
ls -l "/proc/$QPID/fd" | grep -q 'nfh-guest-initrd\..* (deleted)' ||
	fail "QEMU does not hold the unlinked per-guest initrd: $(ls -l "/proc/$QPID/fd")"

# 5. each applied its own file: the counters, from the host
wait_nf_counter probe passed '>' 1000
wait_nf_counter "$VM" dropped '>' 1000
for c in "probe mark 42" "probe generation 1" "probe dropped 0" "$VM mark 7" "$VM generation 1" "$VM passed 0"; do
	set -- $c
	[[ $(nf_counter "$1" "$2") == "$3" ]] || fail "$1: $2 is $(nf_counter "$1" "$2"), want $3"
done
echo "counters: probe passed $(nf_counter probe passed) mark 42; $VM dropped $(nf_counter "$VM" dropped) mark 7"

"$B"/nfhost vm stop "$VM" > /dev/null || fail "vm stop failed"
stop_guest 4545 "$QPID"
[[ $(tmp_initrds) == "$before" ]] || fail "per-guest initrds left in /tmp: $(ls "${TMPDIR:-/tmp}"/nfh-guest-initrd.*)"
stop_all
echo "ok: config files reach guest NFs (plain QEMU and libvirt), applied; bad names and missing files refused"
