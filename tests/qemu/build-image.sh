#!/bin/sh
# Builds everything the QEMU integration suite boots, from Debian packages only:
#   build-image.sh BUILD_DIR
# leaves in BUILD_DIR: vmlinuz, initrd.cpio.gz, kernel.version. Idempotent: packages already
# installed are not reinstalled, the kernel .deb and the initramfs are cached in BUILD_DIR and
# rebuilt only when the kernel version or the inputs (this script, guest-init.sh) change.
#
# Host packages (apt-get, as root or through sudo): qemu-system-x86 from bookworm-backports
# (10.x; bookworm's 7.2 works too), busybox-static, xz-utils, cpio, kmod, nvme-cli. The guest
# kernel is the newest bookworm-backports linux-image-*-amd64 (6.12), fetched with
# `apt-get download` and unpacked with dpkg-deb; it is never installed on the host.
#
# Environment: NR_QEMU_KERNEL_PKG=linux-image-X-amd64=VERSION picks another kernel package.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
PACKAGES="busybox-static xz-utils cpio kmod nvme-cli"
# Modules the guest loads, by name; their dependencies are added from modinfo.
MODULES="virtio_pci virtio_console 9pnet_virtio 9p nvme nvme-core nvme-fabrics nvmet nvme-loop configfs"

log() { echo "build-image: $*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }

. "$HERE/../../scripts/backports.sh"

install_packages() {
  updated=0
  if add_backports; then as_root apt-get update -qq; updated=1; fi
  missing=""
  for p in $PACKAGES; do installed "$p" || missing="$missing $p"; done
  qemu_ok=0
  if command -v qemu-system-x86_64 >/dev/null; then qemu_ok=1; fi
  if [ -n "$missing" ] || [ $qemu_ok -eq 0 ] || ! apt-cache madison linux-image-amd64 | grep -q backports; then
    [ $updated -eq 1 ] || as_root apt-get update -qq
  fi
  if [ -n "$missing" ]; then
    log "installing$missing"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
  fi
  if [ $qemu_ok -eq 0 ]; then
    log "installing qemu-system-x86 from bookworm-backports"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      -t bookworm-backports qemu-system-x86
  fi
}

# Prints "PACKAGE=VERSION" of the newest backports kernel image. The meta package's version is
# chosen explicitly: `apt-get download -t SUITE` may pick another suite's build (see QEMU.md).
kernel_package() {
  if [ -n "${NR_QEMU_KERNEL_PKG:-}" ]; then echo "$NR_QEMU_KERNEL_PKG"; return; fi
  meta=$(apt-cache madison linux-image-amd64 | awk -F'|' '$3 ~ /bookworm-backports/ { gsub(/ /, "", $2); print $2 }' |
    sort -V | tail -n1)
  [ -n "$meta" ] || { log "no linux-image-amd64 in bookworm-backports"; exit 1; }
  pkg=$(apt-cache show "linux-image-amd64=$meta" | sed -n 's/^Depends: *//p' | head -n1 |
    tr ',' '\n' | sed -n 's/^ *\(linux-image-[^ ]*-amd64\)\( .*\)*$/\1/p' | head -n1)
  [ -n "$pkg" ] || { log "cannot resolve the image package of linux-image-amd64=$meta"; exit 1; }
  ver=$(apt-cache madison "$pkg" | awk -F'|' '$3 ~ /bookworm-backports/ { gsub(/ /, "", $2); print $2 }' | sort -V | tail -n1)
  [ -n "$ver" ] || { log "no version of $pkg in bookworm-backports"; exit 1; }
  echo "$pkg=$ver"
}

fetch_kernel() {
  spec=$1
  deb_dir=$OUT/deb
  stamp=$OUT/kernel/.unpacked
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$spec" ]; then return; fi
  rm -rf "$deb_dir" "$OUT/kernel"
  mkdir -p "$deb_dir" "$OUT/kernel"
  log "downloading $spec"
  # As root, apt would drop to _apt, which may not reach BUILD_DIR.
  sandbox=""
  [ "$(id -u)" -ne 0 ] || sandbox="-o APT::Sandbox::User=root"
  (cd "$deb_dir" && apt-get download -q $sandbox "$spec")
  dpkg-deb -x "$deb_dir"/*.deb "$OUT/kernel"
  echo "$spec" >"$stamp"
}

# Echoes the .ko path(s) of module @1 and of everything it depends on, once each.
resolve_module() {
  local name path dep
  name=$(echo "$1" | tr '-' '_')
  case " $SEEN " in *" $name "*) return ;; esac
  SEEN="$SEEN $name"
  path=$(grep -m1 "/$name\.ko" "$OUT/modlist" || grep -m1 "/$(echo "$name" | tr '_' '-')\.ko" "$OUT/modlist" || true)
  if [ -z "$path" ]; then
    # Built into the kernel (modules.builtin) is fine; missing altogether is not.
    if grep -Eq "/($name|$(echo "$name" | tr '_' '-'))\.ko$" "$KDIR/modules.builtin" 2>/dev/null; then return; fi
    log "module $1 not found in $KDIR"; exit 1
  fi
  for dep in $(modinfo -F depends "$path" | tr ',' ' '); do resolve_module "$dep"; done
  ORDER="$ORDER $path"
}

build_initramfs() {
  kver=$1
  KDIR=$OUT/kernel/lib/modules/$kver
  root=$OUT/initramfs
  inputs=$( (echo "$kver"; cat "$0" "$HERE/guest-init.sh" /bin/busybox | md5sum) | md5sum | cut -d' ' -f1)
  if [ -f "$OUT/initrd.cpio.gz" ] && [ "$(cat "$OUT/initrd.inputs" 2>/dev/null)" = "$inputs" ]; then
    log "initramfs up to date ($OUT/initrd.cpio.gz)"
    return
  fi
  rm -rf "$root"
  mkdir -p "$root/bin" "$root/sbin" "$root/lib/modules" "$root/proc" "$root/sys" "$root/dev" \
    "$root/host" "$root/tmp" "$root/run" "$root/mnt"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
  done
  find "$KDIR" -name '*.ko*' >"$OUT/modlist"
  SEEN="" ORDER=""
  for m in $MODULES; do resolve_module "$m"; done
  : >"$root/lib/modules/load-order"
  for path in $ORDER; do
    base=$(basename "$path")
    case "$base" in
      *.xz) xz -dc "$path" >"$root/lib/modules/${base%.xz}"; base=${base%.xz} ;;
      *) cp "$path" "$root/lib/modules/$base" ;;
    esac
    echo "$base" >>"$root/lib/modules/load-order"
  done
  install -m 0755 "$HERE/guest-init.sh" "$root/init"
  (cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) >"$OUT/initrd.cpio.gz.tmp"
  mv "$OUT/initrd.cpio.gz.tmp" "$OUT/initrd.cpio.gz"
  echo "$inputs" >"$OUT/initrd.inputs"
  log "initramfs: $(tr '\n' ' ' <"$root/lib/modules/load-order")"
}

install_packages
spec=$(kernel_package)
fetch_kernel "$spec"
kver=$(ls "$OUT/kernel/lib/modules" | head -n1)
cp "$OUT/kernel/boot/vmlinuz-$kver" "$OUT/vmlinuz"
echo "$kver" >"$OUT/kernel.version"
build_initramfs "$kver"
log "ready: $OUT/vmlinuz ($kver), $OUT/initrd.cpio.gz, $(qemu-system-x86_64 --version | head -n1)"
