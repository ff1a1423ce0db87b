#!/bin/bash
# Runs as a oneshot service inside the container scripts/deb-boot-test.sh boots (systemd as
# PID 1): the installed units under the real service manager. Writes its findings to
# /root/nr-boot-check.log, ending with "RESULT ok" or "RESULT FAIL: why", then powers off.
LOG=/root/nr-boot-check.log
exec >"$LOG" 2>&1
fail() { echo "RESULT FAIL: $*"; systemctl poweroff; exit 1; }
prop() { systemctl show -P "$2" "$1"; }

[ "$(systemctl is-active nvmerpcd.socket)" = active ] || fail "nvmerpcd.socket not active"
[ "$(systemctl is-active nvmerpcd.service)" = inactive ] || fail "nvmerpcd.service started before a client"
[ "$(stat -c '%A %U %G' /run/nvmerpcd.sock)" = "srw-rw---- root nvmerpc" ] ||
  fail "socket: $(stat -c '%A %U %G' /run/nvmerpcd.sock)"

nvmerpc list -o json | grep -q NRSIM0000000001 || fail "nvmerpc list as root"
[ "$(prop nvmerpcd.service SubState)" = running ] || fail "service $(prop nvmerpcd.service SubState)"
status=$(prop nvmerpcd.service StatusText)
echo "StatusText=$status"
[ "$status" = "Serving 1 controller, 2 namespaces on /run/nvmerpcd.sock" ] || fail "StatusText=$status"
[ "$(prop nvmerpcd.service WatchdogUSec)" = 30s ] || fail "WatchdogUSec=$(prop nvmerpcd.service WatchdogUSec)"

useradd --system --no-create-home --groups nvmerpc nr-member
useradd --system --no-create-home nr-outsider
setpriv --reuid=nr-member --regid=nr-member --init-groups nvmerpc list -o json | grep -q sim0 ||
  fail "a member of nvmerpc could not list"
rc=0
setpriv --reuid=nr-outsider --regid=nr-outsider --init-groups nvmerpc list >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 3 ] || fail "a user outside nvmerpc: exit $rc, want 3"

# A device command under the sandbox (the simulator's).
nvmerpc smart-log sim0 -o json | grep -q critical_warning || fail "nvmerpc smart-log"

systemctl reload nvmerpcd.service || fail "reload"
sleep 0.5
journalctl -u nvmerpcd.service --no-pager | grep -q "SIGHUP: reloaded" || fail "no reload logged"
pid=$(prop nvmerpcd.service MainPID)
systemctl stop nvmerpcd.service
[ "$(prop nvmerpcd.service Result)" = success ] || fail "stop: Result=$(prop nvmerpcd.service Result)"
[ "$(prop nvmerpcd.service ExecMainStatus)" = 0 ] || fail "stop: status $(prop nvmerpcd.service ExecMainStatus)"
[ -S /run/nvmerpcd.sock ] || fail "the socket went with the service"
nvmerpc list -o json | grep -q sim0 || fail "the socket did not start the service again"
[ "$(prop nvmerpcd.service MainPID)" != "$pid" ] || fail "same process after stop"

systemctl start nvmerpc-exporter.service || fail "exporter start"
metrics=""
for _ in $(seq 40); do
  metrics=$( (exec 3<>/dev/tcp/127.0.0.1/9998 && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3 &&
    cat <&3) 2>/dev/null) || true
  echo "$metrics" | grep -q '^nvme_devices 1' && break
  sleep 0.25
done
echo "$metrics" | grep -E '^(nvmerpcd_up|nvme_devices) '
echo "$metrics" | grep -q '^nvmerpcd_up 1' || fail "exporter: nvmerpcd_up is not 1"
echo "$metrics" | grep -q '^nvme_devices 1' || fail "exporter: no device"

systemd-analyze security --no-pager nvmerpcd.service | tail -1
systemd-analyze security --no-pager nvmerpc-exporter.service | tail -1
journalctl -u nvmerpcd.service --no-pager | tail -12
echo "RESULT ok"
systemctl poweroff
