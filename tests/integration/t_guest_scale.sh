#!/bin/bash
# A guest NF joins a service that has a host instance, under load: live
# flows stay on the host instance, new flows are shared with the guest.
SCALE_GUEST=1 exec bash "$(dirname "$0")/t_scale_keep.sh"
