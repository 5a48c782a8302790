#!/usr/bin/env bash
# Build (once) the read-only Debian base image that the three lab hosts boot with
# --volatile=overlay. Lab hosts have no internet, so everything the roles need is baked in.
# The image is cached under $LAB_CACHE and rebuilt only when this recipe changes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab/lab.env
. "$here/lab.env"

recipe_hash=$(cat "$here/build-image.sh" "$here/image-packages.txt" | sha256sum | cut -c1-12)
image="$LAB_CACHE/image-$recipe_hash"
if [ -f "$image/.complete" ]; then
    echo "$image"
    exit 0
fi

# Use the Debian mirror this machine is already configured with (never hard-coded here).
mirror=$(grep -hoE '^(URIs:|deb) +[^ ]+/debian/?( |$)' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
         | awk '{print $2}' | head -n1 || true)
[ -n "$mirror" ] || { echo "lab: no Debian mirror found in /etc/apt sources" >&2; exit 1; }

echo "lab: building base image $image (first time only, ~2-4 min)" >&2
rm -rf "$image.tmp"
mkdir -p "$LAB_CACHE"
debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,dbus,openssh-server,python3,iproute2,iputils-ping \
    bookworm "$image.tmp" "$mirror" >"$LAB_CACHE/debootstrap.log" 2>&1 \
    || { tail -n 20 "$LAB_CACHE/debootstrap.log" >&2; exit 1; }

# debootstrap's resolver cannot pick virtual packages, so the rest goes through apt in a chroot.
cp /etc/resolv.conf "$image.tmp/etc/resolv.conf"
mount --bind /proc "$image.tmp/proc"
trap 'umount "$image.tmp/proc" 2>/dev/null || true' EXIT
# shellcheck disable=SC2046
chroot "$image.tmp" env DEBIAN_FRONTEND=noninteractive sh -c \
    "apt-get update -q && apt-get install -y -q --no-install-recommends $(grep -v '^#' "$here/image-packages.txt" | xargs) && apt-get clean" \
    >"$LAB_CACHE/apt.log" 2>&1 || { tail -n 20 "$LAB_CACHE/apt.log" >&2; exit 1; }
umount "$image.tmp/proc"; trap - EXIT

# Services the roles own are installed but not started at boot: roles enable them.
for unit in redis-server postgresql patroni etcd; do
    chroot "$image.tmp" systemctl disable "$unit" >/dev/null 2>&1 || true
done
# A lab host boots with no machine-id, so systemd treats every boot as a first boot and applies
# the presets, and Debian's default preset enables every installed unit. Without this file each
# host ran etcd, Patroni, PostgreSQL (with pg_receivewal retrying a missing slot every 5 s) and
# Redis whether or not a role asked for them: CPU the tests never used, and hosts unlike a
# stranger's. The roles enable what they run.
mkdir -p "$image.tmp/etc/systemd/system-preset"
cat >"$image.tmp/etc/systemd/system-preset/10-mt5lab.preset" <<'EOF'
disable etcd.service
disable patroni.service
disable patroni@.service
disable postgresql.service
disable postgresql@.service
disable redis-server.service
disable redis-server@.service
disable pg_receivewal@.service
disable pg_compresswal@.timer
disable pg_basebackup@.timer
disable pg_dump@.timer
EOF
chroot "$image.tmp" systemctl enable ssh >/dev/null 2>&1
# The hostname comes from --hostname; resolv.conf and authorized_keys are bind-mounted per lab.
rm -f "$image.tmp/etc/hostname" "$image.tmp/etc/resolv.conf" "$image.tmp/etc/machine-id"
: >"$image.tmp/etc/resolv.conf"
mkdir -p "$image.tmp/root/.ssh" "$image.tmp/etc/mt5lab"
chmod 700 "$image.tmp/root/.ssh"
: >"$image.tmp/root/.ssh/authorized_keys"
echo 'PermitRootLogin prohibit-password' >"$image.tmp/etc/ssh/sshd_config.d/lab.conf"
echo 'UseDNS no' >>"$image.tmp/etc/ssh/sshd_config.d/lab.conf"
touch "$image.tmp/.complete"
# Drop images of older recipes.
find "$LAB_CACHE" -maxdepth 1 -name 'image-*' ! -name "image-$recipe_hash*" -exec rm -rf {} +
mv "$image.tmp" "$image"
echo "$image"
