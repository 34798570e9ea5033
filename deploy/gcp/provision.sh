#!/usr/bin/env bash
# Provision the Google Cloud resources for the single-VM StarRocks deployment (docker-compose.yml).
# Read deploy/gcp/README.md first.
#
#   PROJECT_ID=<project> bash deploy/gcp/provision.sh            # dry run: prints every command
#   PROJECT_ID=<project> APPLY=1 bash deploy/gcp/provision.sh    # runs them
#   bash deploy/gcp/provision.sh --dry-run                       # dry run even when APPLY=1
#
# Dry run is the default. It runs no gcloud command: it prints each existence check
# ("? gcloud ... describe") and each command it would run ("+ gcloud ... create"). With APPLY=1 every
# step first checks whether its resource exists and creates it only if not, so the script can be re-run
# after a failure or a change. Existing resources are not modified, with two exceptions that are safe to
# repeat: IAM bindings are added again (a no-op when present), and the bucket's lifecycle and
# soft-delete policy are re-applied.
#
# Creates: a VPC and subnet (private Google access), Cloud NAT (egress for image pulls and SigNoz Cloud;
# the VM has no public address), firewall rules (SSH only from IAP's range; StarRocks 9030/8030 only from
# STARROCKS_CLIENT_RANGES), two service accounts (VM: logs and metrics only; backup: the backup bucket
# only), an SSD persistent disk, the VM, the backup bucket, and an HMAC key for StarRocks' s3a://
# backup repository.
set -euo pipefail

# ---------------------------------------------------------------- settings (override via environment)
PROJECT_ID="${PROJECT_ID:-}"
REGION="${REGION:-europe-west1}"
ZONE="${ZONE:-${REGION}-b}"
NAME_PREFIX="${NAME_PREFIX:-rockway}"

NETWORK="${NETWORK:-${NAME_PREFIX}-vpc}"
SUBNET="${SUBNET:-${NAME_PREFIX}-subnet}"
SUBNET_RANGE="${SUBNET_RANGE:-10.42.0.0/24}"
# Who may connect to StarRocks 9030/8030: comma-separated CIDRs inside your network (allow-list).
# Defaults to the VM's own subnet. 0.0.0.0/0 is refused.
STARROCKS_CLIENT_RANGES="${STARROCKS_CLIENT_RANGES:-${SUBNET_RANGE}}"
# Google's documented source range for IAP TCP forwarding (SSH via `gcloud compute ssh --tunnel-through-iap`).
IAP_RANGE="35.235.240.0/20"
ROUTER="${ROUTER:-${NAME_PREFIX}-router}"
NAT="${NAT:-${NAME_PREFIX}-nat}"
NETWORK_TAG="${NETWORK_TAG:-${NAME_PREFIX}-starrocks}"

VM_NAME="${VM_NAME:-${NAME_PREFIX}-starrocks}"
# 8 vCPU / 32 GB: e2-standard-8 (cheaper, shared-core scheduling) or n2-standard-8 (steadier CPU).
MACHINE_TYPE="${MACHINE_TYPE:-e2-standard-8}"
IMAGE_FAMILY="${IMAGE_FAMILY:-ubuntu-2404-lts-amd64}"
IMAGE_PROJECT="${IMAGE_PROJECT:-ubuntu-os-cloud}"
BOOT_DISK_SIZE="${BOOT_DISK_SIZE:-50GB}"
DATA_DISK="${DATA_DISK:-${VM_NAME}-data}"
# pd-ssd: StarRocks storage wants SSD; its IOPS and throughput grow with the size.
DATA_DISK_TYPE="${DATA_DISK_TYPE:-pd-ssd}"
DATA_DISK_SIZE="${DATA_DISK_SIZE:-500GB}"
# The disk shows up in the VM as /dev/disk/by-id/google-<DATA_DISK_DEVICE>; startup.sh expects this name.
DATA_DISK_DEVICE="starrocks-data"

VM_SA_NAME="${VM_SA_NAME:-${NAME_PREFIX}-starrocks-vm}"
BACKUP_SA_NAME="${BACKUP_SA_NAME:-${NAME_PREFIX}-sr-backup}"

BACKUP_BUCKET="${BACKUP_BUCKET:-${PROJECT_ID}-${NAME_PREFIX}-sr-backup}"
BUCKET_LOCATION="${BUCKET_LOCATION:-${REGION}}"
# CREATE REPOSITORY <BACKUP_REPO> ... ON LOCATION "s3a://<BACKUP_BUCKET>/<BACKUP_PATH>" (README.md).
BACKUP_PATH="${BACKUP_PATH:-starrocks}"
BACKUP_REPO="${BACKUP_REPO:-gcs_repo}"
# Snapshot objects older than this many days are deleted by the bucket's lifecycle rule.
BACKUP_RETENTION_DAYS="${BACKUP_RETENTION_DAYS:-35}"
# Deleted objects stay recoverable this long (bucket soft-delete policy).
SOFT_DELETE_DURATION="${SOFT_DELETE_DURATION:-7d}"
# Where the HMAC key (access id + secret) is written on APPLY; mode 600, outside the repository.
HMAC_OUT_FILE="${HMAC_OUT_FILE:-${HOME}/.config/rockway/${BACKUP_SA_NAME}-hmac.json}"

STARTUP_SCRIPT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/startup.sh"

# ---------------------------------------------------------------- mode
DRY_RUN=1
if [[ "${APPLY:-0}" == "1" ]]; then DRY_RUN=0; fi
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY_RUN=1 ;;
    -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "unknown argument: $arg (use --dry-run, or APPLY=1 in the environment)" >&2; exit 2 ;;
  esac
done

die() { echo "provision.sh: $*" >&2; exit 1; }

[[ -n "$PROJECT_ID" ]] || die "set PROJECT_ID to your project's id (nothing is assumed)"
[[ -f "$STARTUP_SCRIPT" ]] || die "missing $STARTUP_SCRIPT"
IFS=',' read -r -a CLIENT_RANGES <<< "$STARROCKS_CLIENT_RANGES"
for range in "${CLIENT_RANGES[@]}"; do
  [[ "$range" == */* ]] || die "STARROCKS_CLIENT_RANGES: '$range' is not a CIDR"
  [[ "$range" != "0.0.0.0/0" && "$range" != "::/0" ]] || die "STARROCKS_CLIENT_RANGES must not be open to the internet"
done

VM_SA_EMAIL="${VM_SA_NAME}@${PROJECT_ID}.iam.gserviceaccount.com"
BACKUP_SA_EMAIL="${BACKUP_SA_NAME}@${PROJECT_ID}.iam.gserviceaccount.com"

# show PREFIX CMD...: print a command on one line; words that need it are shell-quoted, so a printed
# line can be pasted into a shell.
show() {
  local prefix="$1" word
  shift
  printf '%s' "$prefix"
  for word in "$@"; do
    if [[ "$word" =~ ^[A-Za-z0-9_@%+=:,./-]+$ ]]; then printf ' %s' "$word"; else printf ' %q' "$word"; fi
  done
  printf '\n'
}

# run CMD...: print the command, and execute it unless this is a dry run.
run() {
  show '+' "$@"
  if [[ $DRY_RUN -eq 0 ]]; then "$@"; fi
}

# exists CMD...: succeed if CMD (a describe call) succeeds. In a dry run, print it and report "missing"
# so that the create command that follows is printed too.
exists() {
  if [[ $DRY_RUN -eq 1 ]]; then
    show '?' "$@"
    return 1
  fi
  "$@" >/dev/null 2>&1
}

step() { printf '\n# %s\n' "$*"; }

echo "# mode: $([[ $DRY_RUN -eq 1 ]] && echo 'DRY RUN (nothing is executed; APPLY=1 to execute)' || echo APPLY)"
echo "# project=$PROJECT_ID region=$REGION zone=$ZONE vm=$VM_NAME machine=$MACHINE_TYPE bucket=gs://$BACKUP_BUCKET"

# ---------------------------------------------------------------- APIs
step "APIs (enabling an enabled API is a no-op)"
run gcloud services enable compute.googleapis.com iam.googleapis.com storage.googleapis.com \
  iap.googleapis.com --project="$PROJECT_ID"

# ---------------------------------------------------------------- network
step "VPC and subnet (own network: the default network's allow-SSH-from-anywhere rules do not apply)"
exists gcloud compute networks describe "$NETWORK" --project="$PROJECT_ID" ||
  run gcloud compute networks create "$NETWORK" --project="$PROJECT_ID" --subnet-mode=custom
exists gcloud compute networks subnets describe "$SUBNET" --region="$REGION" --project="$PROJECT_ID" ||
  run gcloud compute networks subnets create "$SUBNET" --project="$PROJECT_ID" --region="$REGION" \
    --network="$NETWORK" --range="$SUBNET_RANGE" --enable-private-ip-google-access

step "Cloud NAT: outbound only (image pulls, SigNoz Cloud); the VM gets no public address"
exists gcloud compute routers describe "$ROUTER" --region="$REGION" --project="$PROJECT_ID" ||
  run gcloud compute routers create "$ROUTER" --project="$PROJECT_ID" --region="$REGION" --network="$NETWORK"
exists gcloud compute routers nats describe "$NAT" --router="$ROUTER" --region="$REGION" --project="$PROJECT_ID" ||
  run gcloud compute routers nats create "$NAT" --project="$PROJECT_ID" --region="$REGION" --router="$ROUTER" \
    --auto-allocate-nat-external-ips --nat-all-subnet-ip-ranges

step "Firewall: SSH from IAP only; StarRocks from the allow-list only; everything else is denied by the VPC's implied deny-ingress rule"
exists gcloud compute firewall-rules describe "${NETWORK}-allow-iap-ssh" --project="$PROJECT_ID" ||
  run gcloud compute firewall-rules create "${NETWORK}-allow-iap-ssh" --project="$PROJECT_ID" \
    --network="$NETWORK" --direction=INGRESS --action=ALLOW --rules=tcp:22 \
    --source-ranges="$IAP_RANGE" --target-tags="$NETWORK_TAG"
exists gcloud compute firewall-rules describe "${NETWORK}-allow-starrocks-clients" --project="$PROJECT_ID" ||
  run gcloud compute firewall-rules create "${NETWORK}-allow-starrocks-clients" --project="$PROJECT_ID" \
    --network="$NETWORK" --direction=INGRESS --action=ALLOW --rules=tcp:9030,tcp:8030 \
    --source-ranges="$STARROCKS_CLIENT_RANGES" --target-tags="$NETWORK_TAG"

# ---------------------------------------------------------------- service accounts
step "Service account for the VM: writes its own logs and metrics, nothing else (no storage access)"
exists gcloud iam service-accounts describe "$VM_SA_EMAIL" --project="$PROJECT_ID" ||
  run gcloud iam service-accounts create "$VM_SA_NAME" --project="$PROJECT_ID" \
    --display-name="StarRocks VM (${NAME_PREFIX})"
for role in roles/logging.logWriter roles/monitoring.metricWriter; do
  run gcloud projects add-iam-policy-binding "$PROJECT_ID" --member="serviceAccount:${VM_SA_EMAIL}" \
    --role="$role" --condition=None --quiet
done

step "Service account that owns the backup HMAC key; gets roles on the backup bucket only (below)"
exists gcloud iam service-accounts describe "$BACKUP_SA_EMAIL" --project="$PROJECT_ID" ||
  run gcloud iam service-accounts create "$BACKUP_SA_NAME" --project="$PROJECT_ID" \
    --display-name="StarRocks backups (${NAME_PREFIX})"

# ---------------------------------------------------------------- disk and VM
step "SSD persistent disk for Docker's data-root (StarRocks storage and metadata volumes); kept when the VM is deleted"
exists gcloud compute disks describe "$DATA_DISK" --zone="$ZONE" --project="$PROJECT_ID" ||
  run gcloud compute disks create "$DATA_DISK" --project="$PROJECT_ID" --zone="$ZONE" \
    --type="$DATA_DISK_TYPE" --size="$DATA_DISK_SIZE"

step "VM: no public IP, Shielded VM, OS Login, startup.sh mounts the disk and installs Docker"
exists gcloud compute instances describe "$VM_NAME" --zone="$ZONE" --project="$PROJECT_ID" ||
  run gcloud compute instances create "$VM_NAME" --project="$PROJECT_ID" --zone="$ZONE" \
    --machine-type="$MACHINE_TYPE" \
    --subnet="$SUBNET" --no-address --tags="$NETWORK_TAG" \
    --image-family="$IMAGE_FAMILY" --image-project="$IMAGE_PROJECT" \
    --boot-disk-size="$BOOT_DISK_SIZE" --boot-disk-type=pd-balanced \
    --disk="name=${DATA_DISK},device-name=${DATA_DISK_DEVICE},mode=rw,boot=no,auto-delete=no" \
    --service-account="$VM_SA_EMAIL" --scopes=cloud-platform \
    --shielded-secure-boot --shielded-vtpm --shielded-integrity-monitoring \
    --metadata=enable-oslogin=TRUE \
    --metadata-from-file=startup-script="$STARTUP_SCRIPT"

# ---------------------------------------------------------------- backup bucket
step "Backup bucket: private, uniform access, soft delete; snapshots expire after ${BACKUP_RETENTION_DAYS} days"
exists gcloud storage buckets describe "gs://${BACKUP_BUCKET}" --project="$PROJECT_ID" ||
  run gcloud storage buckets create "gs://${BACKUP_BUCKET}" --project="$PROJECT_ID" \
    --location="$BUCKET_LOCATION" --default-storage-class=STANDARD \
    --uniform-bucket-level-access --public-access-prevention \
    --soft-delete-duration="$SOFT_DELETE_DURATION"

# The lifecycle rule deletes only objects under the snapshot directories
# (<path>/__starrocks_repository_<repo>/__ss_<snapshot>/...), never the repository's own files.
LIFECYCLE_JSON="$(cat <<EOF
{
  "lifecycle": {
    "rule": [
      {
        "action": {"type": "Delete"},
        "condition": {
          "age": ${BACKUP_RETENTION_DAYS},
          "matchesPrefix": ["${BACKUP_PATH}/__starrocks_repository_${BACKUP_REPO}/__ss_"]
        }
      }
    ]
  }
}
EOF
)"
LIFECYCLE_FILE="$(mktemp)"
trap 'rm -f "$LIFECYCLE_FILE"' EXIT
printf '%s\n' "$LIFECYCLE_JSON" > "$LIFECYCLE_FILE"
echo "# lifecycle file ${LIFECYCLE_FILE}:"
printf '%s\n' "$LIFECYCLE_JSON" | sed 's/^/#   /'
run gcloud storage buckets update "gs://${BACKUP_BUCKET}" --project="$PROJECT_ID" \
  --lifecycle-file="$LIFECYCLE_FILE" --soft-delete-duration="$SOFT_DELETE_DURATION"

step "Backup service account: read/write objects in the backup bucket only (adding an existing binding is a no-op)"
run gcloud storage buckets add-iam-policy-binding "gs://${BACKUP_BUCKET}" --project="$PROJECT_ID" \
  --member="serviceAccount:${BACKUP_SA_EMAIL}" --role=roles/storage.objectAdmin
# storage.buckets.get for S3 clients that check the bucket exists before using it; drop it if BACKUP
# works without it.
run gcloud storage buckets add-iam-policy-binding "gs://${BACKUP_BUCKET}" --project="$PROJECT_ID" \
  --member="serviceAccount:${BACKUP_SA_EMAIL}" --role=roles/storage.legacyBucketReader

# ---------------------------------------------------------------- HMAC key
step "HMAC key for CREATE REPOSITORY ... s3a:// (fs.s3a.access.key / fs.s3a.secret.key); the secret is shown only once"
if [[ $DRY_RUN -eq 1 ]]; then
  show '?' gcloud storage hmac list --project="$PROJECT_ID" --service-account="$BACKUP_SA_EMAIL" \
    --format='value(accessId)'
  show '+ ( umask 077; mkdir -p' "$(dirname "$HMAC_OUT_FILE")"
  show '+   ' gcloud storage hmac create "$BACKUP_SA_EMAIL" --project="$PROJECT_ID" --format=json \
    '>' "$HMAC_OUT_FILE" ')'
else
  existing="$(gcloud storage hmac list --project="$PROJECT_ID" --service-account="$BACKUP_SA_EMAIL" \
    --format='value(accessId)')"
  if [[ -n "$existing" ]]; then
    echo "# HMAC key already exists for $BACKUP_SA_EMAIL (access id: ${existing//$'\n'/, }); not creating another."
    echo "# Its secret cannot be shown again: if it is lost, create a new key and deactivate the old one."
  else
    (
      umask 077
      mkdir -p "$(dirname "$HMAC_OUT_FILE")"
      gcloud storage hmac create "$BACKUP_SA_EMAIL" --project="$PROJECT_ID" --format=json > "$HMAC_OUT_FILE"
    )
    echo "# HMAC key written to $HMAC_OUT_FILE (mode 600). Use it in CREATE REPOSITORY, then store it in"
    echo "# your secret manager and delete the file."
  fi
fi

step "Done"
echo "# SSH: gcloud compute ssh $VM_NAME --zone=$ZONE --project=$PROJECT_ID --tunnel-through-iap"
echo "# Backup repository location: s3a://${BACKUP_BUCKET}/${BACKUP_PATH} (repository name ${BACKUP_REPO})"
