#!/usr/bin/env bash
# Deploys one r3dv node on its own Scaleway instance, as DESIGN.md's deployment does (one instance per node, each
# operator deploying its own). Needs the Scaleway CLI `scw` (configured: `scw init`), ssh and scp, and node (to
# read the cluster lock). Every command is printed before it runs; --dry-run prints them and runs none.
#
#   deploy.sh ip     --node I [--zone Z]                 reserve the public IP to give as this node's address
#   deploy.sh up     --node I --ip IP --lock FILE --node-dir DIR --beacon-node URL --admin-cidr CIDR
#                    (--image-tar FILE | --image REF) [--zone Z] [--type T] [--os IMAGE]
#   deploy.sh health --ip IP                             the node's `r3dv health` (exit 1 while a critical check fails)
#
# See the README, "Deploy on Scaleway".
set -euo pipefail

# Scaleway's Paris zone and its smallest dedicated-vCPU type: 2 vCPUs and 8 GB, what a node of a few hundred
# validators needs (r3dv's benchmarks: a 2-core machine signs 64 validators' duties with most of a core free).
ZONE=fr-par-1
TYPE=PRO2-S
OS=ubuntu_noble
# How long to wait for a new instance's ssh, and for the container's health check to pass (its start period is 60 s).
SSH_WAIT_TRIES=60
HEALTH_WAIT_TRIES=36
DRY_RUN=0
CMD=""
NODE="" IP="" LOCK="" NODE_DIR="" BEACON="" ADMIN_CIDR="" IMAGE_TAR="" IMAGE=""

die() {
  echo "deploy.sh: $*" >&2
  exit 2
}

# One word as a shell reads it back: as is when plain, else in single quotes (printf %q's backslashes are unreadable).
quote() {
  if [[ $1 =~ ^[A-Za-z0-9_./:=@,+%-]+$ ]]; then printf ' %s' "$1"; else printf " '%s'" "${1//\'/\'\\\'\'}"; fi
}

# Prints a command on stderr (as set -x does), each word quoted as a shell needs it.
show() {
  printf '+' >&2
  for word in "$@"; do quote "$word" >&2; done
  printf '\n' >&2
}

# Prints a command, then runs it unless --dry-run.
run() {
  show "$@"
  [[ $DRY_RUN == 1 ]] || "$@"
}

# Like run, but prints the command's output (an id, an address) on stdout; in a dry run, the placeholder $1.
capture() {
  local placeholder=$1
  shift
  show "$@"
  if [[ $DRY_RUN == 1 ]]; then echo "$placeholder"; else "$@"; fi
}

[[ $# -gt 0 ]] || die "expected a command: ip, up or health (see the header of $0)"
CMD=$1
shift
while [[ $# -gt 0 ]]; do
  case $1 in
    --node) NODE=${2:?--node needs a value}; shift 2 ;;
    --ip) IP=${2:?--ip needs a value}; shift 2 ;;
    --lock) LOCK=${2:?--lock needs a value}; shift 2 ;;
    --node-dir) NODE_DIR=${2:?--node-dir needs a value}; shift 2 ;;
    --beacon-node) BEACON=${2:?--beacon-node needs a value}; shift 2 ;;
    --admin-cidr) ADMIN_CIDR=${2:?--admin-cidr needs a value}; shift 2 ;;
    --image-tar) IMAGE_TAR=${2:?--image-tar needs a value}; shift 2 ;;
    --image) IMAGE=${2:?--image needs a value}; shift 2 ;;
    --zone) ZONE=${2:?--zone needs a value}; shift 2 ;;
    --type) TYPE=${2:?--type needs a value}; shift 2 ;;
    --os) OS=${2:?--os needs a value}; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    *) die "unknown option $1 (see the header of $0)" ;;
  esac
done

need() {
  [[ $DRY_RUN == 1 ]] || command -v "$1" > /dev/null || die "$1 is not installed: $2"
}

case $CMD in
  ip)
    [[ $NODE =~ ^[0-9]+$ ]] || die "--node: expected this node's operator number (1..n), got '${NODE}'"
    need scw "install the Scaleway CLI (https://github.com/scaleway/scaleway-cli) and run scw init"
    run scw instance ip create zone="$ZONE" tags.0=r3dv tags.1="r3dv-node-$NODE"
    echo "Give <that address>:9000 as operator $NODE's address in the cluster definition (create-definition --operators)."
    ;;

  health)
    [[ -n $IP ]] || die "--ip: expected the node's public IP"
    run ssh "root@$IP" docker exec r3dv r3dv health
    ;;

  up)
    [[ $NODE =~ ^[0-9]+$ ]] || die "--node: expected this node's operator number (1..n), got '${NODE}'"
    [[ -n $IP ]] || die "--ip: expected the IP reserved with 'deploy.sh ip' (the address the lock gives this node)"
    [[ -f $LOCK ]] || die "--lock: no cluster lock at '${LOCK}'"
    [[ -f $NODE_DIR/identity.key ]] || die "--node-dir: '${NODE_DIR}' holds no identity.key; give this node's folder from create-cluster or dkg"
    [[ -n $BEACON ]] || die "--beacon-node: expected your beacon node's URL, reachable from the instance"
    [[ $ADMIN_CIDR =~ ^[0-9.]+/[0-9]+$ ]] || die "--admin-cidr: expected the network ssh may come from, e.g. 203.0.113.7/32"
    [[ -n $IMAGE_TAR || -n $IMAGE ]] || die "expected --image-tar FILE (docker save r3dv -o r3dv.tar) or --image REF (in a registry the instance reaches)"
    [[ -z $IMAGE_TAR || -f $IMAGE_TAR ]] || die "--image-tar: no file at '${IMAGE_TAR}'"
    need node "the lock is read with node (npx r3dv needs it too)"
    need scw "install the Scaleway CLI (https://github.com/scaleway/scaleway-cli) and run scw init"
    need ssh "install OpenSSH's client"
    # This node's libp2p port and every other operator's address, from the lock: only they may reach the port.
    read -r PORT OTHERS < <(node -e '
      const lock = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      const i = Number(process.argv[2]);
      const me = lock.operators[i - 1];
      if (!me) { console.error(`the lock has ${lock.operators.length} operators, no operator ${i}`); process.exit(2); }
      const port = me.address.split(":").pop();
      console.log(port, lock.operators.filter((_, k) => k !== i - 1).map((o) => o.address).join(" "));
    ' "$LOCK" "$NODE") || die "--lock: '${LOCK}' is not a cluster lock with an operator $NODE"
    NAME="r3dv-node-$NODE"
    SG=$(capture "<security-group-id>" scw instance security-group create zone="$ZONE" name="$NAME" \
      inbound-default-policy=drop outbound-default-policy=accept stateful=true -o template='{{ .SecurityGroup.ID }}')
    run scw instance security-group create-rule zone="$ZONE" security-group-id="$SG" direction=inbound action=accept \
      protocol=TCP dest-port-from=22 ip-range="$ADMIN_CIDR"
    for address in $OTHERS; do
      host=${address%:*}
      if [[ ! $host =~ ^[0-9.]+$ ]]; then
        # A name in the lock: allow the address it has now (redeploy when it moves).
        host=$(getent ahostsv4 "$host" | awk 'NR == 1 {print $1}') || true
        [[ -n $host ]] || die "the lock's address ${address} does not resolve; fix DNS or the lock first"
      fi
      run scw instance security-group create-rule zone="$ZONE" security-group-id="$SG" direction=inbound \
        action=accept protocol=TCP dest-port-from="$PORT" ip-range="$host/32"
    done
    run scw instance server create zone="$ZONE" type="$TYPE" image="$OS" name="$NAME" ip="$IP" \
      security-group-id="$SG" tags.0=r3dv --wait
    SSH=(ssh -o StrictHostKeyChecking=accept-new -o ConnectTimeout=5 "root@$IP")
    if [[ $DRY_RUN == 0 ]]; then
      for ((k = 0; k < SSH_WAIT_TRIES; k++)); do "${SSH[@]}" true 2> /dev/null && break || sleep 5; done
    fi
    run "${SSH[@]}" "apt-get update -q && apt-get install -yq docker.io && systemctl enable --now docker"
    # The image's user is uid 1000: the files are its own, and the keys stay 0600 (the node refuses them otherwise).
    run "${SSH[@]}" "install -d -m 700 -o 1000 -g 1000 /opt/r3dv /opt/r3dv/node"
    run scp -p "$LOCK" "root@$IP:/opt/r3dv/cluster-lock.json"
    run scp -rp "$NODE_DIR/." "root@$IP:/opt/r3dv/node/"
    run "${SSH[@]}" "chown -R 1000:1000 /opt/r3dv && chmod 644 /opt/r3dv/cluster-lock.json"
    if [[ -n $IMAGE_TAR ]]; then
      run scp "$IMAGE_TAR" "root@$IP:/opt/r3dv/r3dv.tar"
      run "${SSH[@]}" "docker load -i /opt/r3dv/r3dv.tar"
      IMAGE=r3dv
    else
      run "${SSH[@]}" "docker pull $(printf %q "$IMAGE")"
    fi
    # As the README's "Deploy one node per machine": HTTP (metrics, status) on the instance's loopback only.
    run "${SSH[@]}" "docker run -d --name r3dv --restart unless-stopped \
-v /opt/r3dv/cluster-lock.json:/config/cluster-lock.json:ro -v /opt/r3dv/node:/config/node:ro -v r3dv-data:/data \
-e R3DV_BEACON_NODE=$(printf %q "$BEACON") -p $PORT:9000 -p 127.0.0.1:8080:8080 $IMAGE"
    run "${SSH[@]}" "for k in \$(seq $HEALTH_WAIT_TRIES); do \
[ \"\$(docker inspect -f '{{.State.Health.Status}}' r3dv)\" = healthy ] && exit 0; sleep 5; done; docker logs --tail 50 r3dv; exit 1"
    # Critical until enough operators have deployed (peers) and the beacon node is synced: it says which.
    run "${SSH[@]}" docker exec r3dv r3dv health || true
    echo "node $NODE is up on $IP:$PORT; 'deploy.sh health --ip $IP' checks it again"
    ;;

  *) die "unknown command '${CMD}': expected ip, up or health" ;;
esac
