# bench/peers/ovs.sh: Open vSwitch with DPDK for the benchmarks, sourced
# (run-peers.sh, run-density.sh).  OVS as in ../shared/MACHINE-FACTS.md:
# its own run directory and database, no systemd, the PMD on CPU 0, a
# netdev bridge br0.  Callers set TAG (the file prefix) and define nothing
# else; OVS_DIR is set while OVS runs.

OVS=/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk
OVS_DIR=

# ovs_up DIR: ovsdb-server and ovs-vswitchd in DIR (made anew), bridge br0
# with no flows.  Returns 1 with the reason in OVS_ERR when OVS cannot run
# or does not start (ovs_stop then stops what did).
ovs_up() {
	OVS_ERR=
	[[ -x $OVS ]] || { OVS_ERR="Open vSwitch with DPDK is not installed (tools/deps.sh --bench)"; return 1; }
	OVS_DIR=$1
	rm -rf "$OVS_DIR"
	mkdir -p "$OVS_DIR"
	export OVS_RUNDIR=$OVS_DIR OVS_DBDIR=$OVS_DIR OVS_LOGDIR=$OVS_DIR
	ovsdb-tool create "$OVS_DIR/conf.db" /usr/share/openvswitch/vswitch.ovsschema
	ovsdb-server "$OVS_DIR/conf.db" --remote="punix:$OVS_DIR/db.sock" --pidfile="$OVS_DIR/ovsdb-server.pid" \
		--unixctl="$OVS_DIR/ovsdb-server.ctl" --log-file="$OVS_DIR/ovsdb-server.log" --detach 2> /dev/null
	ovs_vsctl --no-wait init
	ovs_vsctl --no-wait set Open_vSwitch . other_config:dpdk-init=true other_config:dpdk-socket-mem=256 \
		other_config:dpdk-socket-limit=256 other_config:dpdk-lcore-mask=0x1 other_config:pmd-cpu-mask=0x1 \
		other_config:dpdk-extra="--no-pci --no-telemetry --file-prefix=$TAG-ovs"
	taskset -c 0 "$OVS" "unix:$OVS_DIR/db.sock" --pidfile="$OVS_DIR/ovs-vswitchd.pid" \
		--unixctl="$OVS_DIR/ovs-vswitchd.ctl" --log-file="$OVS_DIR/ovs-vswitchd.log" -vconsole:off --detach \
		2> /dev/null || { OVS_ERR="ovs-vswitchd did not start: $(tail -n 2 "$OVS_DIR/ovs-vswitchd.log")"; return 1; }
	ovs_vsctl add-br br0 -- set bridge br0 datapath_type=netdev
	ovs-ofctl del-flows br0
}

ovs_vsctl() {
	ovs-vsctl --db="unix:$OVS_DIR/db.sock" "$@"
}

# ovs_vhost_pair K MTU: NF K's two vhost-user client ports, v{K}a (ofport
# 2K, its way in) and v{K}b (2K+1, its way out), to the servers the NF
# makes at $OVS_DIR/v{K}a.sock and v{K}b.sock
ovs_vhost_pair() {
	local k=$1 i p
	for i in 0 1; do
		p=$([[ $i == 0 ]] && echo a || echo b)
		ovs_vsctl add-port br0 "v$k$p" -- set Interface "v$k$p" type=dpdkvhostuserclient \
			options:vhost-server-path="$OVS_DIR/v$k$p.sock" ofport_request=$((2 * k + i)) mtu_request="$2"
	done
}

# ovs_tx OFPORT: packets OVS sent out of that port so far (live)
ovs_tx() {
	ovs-ofctl dump-ports br0 "$1" | sed -n 's/.*tx pkts=\([0-9]*\).*/\1/p'
}

# ovs_tx_drops OFPORT: what it could not send there (a full vhost queue)
ovs_tx_drops() {
	ovs-ofctl dump-ports br0 "$1" | sed -n 's/.*tx pkts=.*drop=\([0-9]*\).*/\1/p'
}

ovs_stop() {
	[[ -n $OVS_DIR ]] || return 0
	ovs-appctl -t "$OVS_DIR/ovs-vswitchd.ctl" exit > /dev/null 2>&1 || true
	ovs-appctl -t "$OVS_DIR/ovsdb-server.ctl" exit > /dev/null 2>&1 || true
	for _ in $(seq 1 50); do
		[[ -e $OVS_DIR/ovs-vswitchd.pid ]] && kill -0 "$(cat "$OVS_DIR/ovs-vswitchd.pid")" 2> /dev/null || break
		sleep 0.1
	done
	OVS_DIR=
}
