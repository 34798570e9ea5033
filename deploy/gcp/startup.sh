#!/usr/bin/env bash
# GCE startup script for the StarRocks VM, installed by deploy/gcp/provision.sh as metadata
# `startup-script`. It runs as root on every boot, so every step checks before it changes anything.
#
# 1. Formats the SSD persistent disk once (ext4) and mounts it at /mnt/disks/starrocks.
# 2. Points Docker's data-root there, so the named volumes of docker-compose.yml (FE metadata, BE
#    storage) and the containers live on the SSD disk, then installs Docker and Compose from Ubuntu.
# 3. Applies the kernel settings of StarRocks' environment checklist
#    (https://docs.starrocks.io/docs/deployment/environment_configurations/).
#
# Output goes to the serial console and the journal: sudo journalctl -u google-startup-scripts.service
set -euo pipefail

DEVICE=/dev/disk/by-id/google-starrocks-data   # device-name=starrocks-data in provision.sh
MOUNT_POINT=/mnt/disks/starrocks
DOCKER_ROOT="${MOUNT_POINT}/docker"

log() { echo "startup.sh: $*"; }

# ---------------------------------------------------------------- 1. data disk
if [[ ! -e "$DEVICE" ]]; then
  log "data disk $DEVICE not attached; stopping before Docker is set up"
  exit 1
fi
if ! blkid "$DEVICE" >/dev/null 2>&1; then
  log "formatting $DEVICE (first boot)"
  # Options from Google's guide to formatting persistent disks.
  mkfs.ext4 -m 0 -E lazy_itable_init=0,lazy_journal_init=0,discard "$DEVICE"
fi
mkdir -p "$MOUNT_POINT"
UUID="$(blkid -s UUID -o value "$DEVICE")"
if ! grep -q "UUID=${UUID}" /etc/fstab; then
  echo "UUID=${UUID} ${MOUNT_POINT} ext4 discard,defaults,nofail 0 2" >> /etc/fstab
fi
if ! mountpoint -q "$MOUNT_POINT"; then
  mount "$MOUNT_POINT"
fi

# ---------------------------------------------------------------- 2. Docker on the data disk
mkdir -p "$DOCKER_ROOT" /etc/docker
if [[ ! -f /etc/docker/daemon.json ]]; then
  # Written before Docker is installed, so the first dockerd already uses the SSD disk.
  cat > /etc/docker/daemon.json <<EOF
{
  "data-root": "${DOCKER_ROOT}",
  "log-driver": "json-file",
  "log-opts": {"max-size": "50m", "max-file": "5"}
}
EOF
fi
if ! command -v docker >/dev/null 2>&1 || ! docker compose version >/dev/null 2>&1; then
  log "installing docker.io and docker-compose-v2 from the Ubuntu archive"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q docker.io docker-compose-v2
fi
systemctl enable --now docker

# ---------------------------------------------------------------- 3. kernel settings
cat > /etc/sysctl.d/90-starrocks.conf <<'EOF'
# StarRocks environment checklist (docs.starrocks.io, deployment/environment_configurations)
vm.overcommit_memory = 1
vm.swappiness = 0
vm.max_map_count = 262144
net.core.somaxconn = 1024
net.ipv4.tcp_abort_on_overflow = 1
EOF
sysctl --system >/dev/null
# Transparent Huge Pages: madvise instead of always (checklist); not persistent, hence on every boot.
for f in /sys/kernel/mm/transparent_hugepage/enabled /sys/kernel/mm/transparent_hugepage/defrag; do
  if [[ -w "$f" ]]; then echo madvise > "$f"; fi
done
# The checklist also asks for no swap; Google's Ubuntu images have none.
swapoff -a

log "done: data disk at ${MOUNT_POINT}, Docker data-root ${DOCKER_ROOT}"
