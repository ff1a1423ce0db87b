# Sourced by scripts/setup.sh and tests/qemu/build-image.sh (POSIX sh): adds Debian's
# bookworm-backports as an apt source, from the mirror this host already uses for bookworm.
# The caller defines as_root (run a command as root, through sudo when needed).
BACKPORTS_LIST=/etc/apt/sources.list.d/nvmerpcd-bookworm-backports.sources

# The mirror this host already uses for bookworm (sources.list or deb822 .sources).
debian_mirror() {
  {
    [ -f /etc/apt/sources.list ] &&
      awk '$1 == "deb" && $3 ~ /^bookworm(-updates)?$/ { print $2; exit }' /etc/apt/sources.list
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -f "$f" ] || continue
      awk 'BEGIN { RS = ""; FS = "\n" }
           /(^|\n)Suites:[^\n]*bookworm([ \n]|-updates)/ && !/debian-security/ {
             for (i = 1; i <= NF; i++) if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", $i); split($i, u, " "); print u[1]; exit }
           }' "$f"
    done
  } | grep -m1 . || true
}

# Adds the source. Returns 1 (nothing done) when a bookworm-backports entry already exists;
# exits when no bookworm mirror is configured.
add_backports() {
  if grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    return 1
  fi
  mirror=$(debian_mirror)
  [ -n "$mirror" ] || { echo "nvmerpcd: no bookworm mirror found in /etc/apt/sources.list*" >&2; exit 1; }
  echo "nvmerpcd: adding bookworm-backports from $mirror ($BACKPORTS_LIST)" >&2
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$mirror" | as_root tee "$BACKPORTS_LIST" >/dev/null
}
