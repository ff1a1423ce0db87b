package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"nvmerpc.dev/client/internal/simd"
	"nvmerpc.dev/client/rpc"
)

var cli string // the built nvmerpc

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "nvmerpc-cli")
	if err != nil {
		panic(err)
	}
	cli = filepath.Join(dir, "nvmerpc")
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go") // the toolchain running these tests
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	if out, err := exec.Command(goBin, "build", "-o", cli, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building nvmerpc: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// nv runs nvmerpc with stdin from /dev/null and pipes for output.
func nv(t *testing.T, d *simd.Daemon, args ...string) result {
	t.Helper()
	if d != nil {
		args = append([]string{"--socket", d.Socket}, args...)
	}
	cmd := exec.Command(cli, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

func daemonResult(t *testing.T, c *rpc.Client, method string, params map[string]any) json.RawMessage {
	t.Helper()
	raw, err := c.Call(context.Background(), method, params)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	return raw
}

func sameJSON(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

// Each read verb's -o json is the daemon's result for the same call.
func TestJSONIsTheDaemonsResult(t *testing.T) {
	t.Parallel()
	d := simd.Start(t, nil)
	c, err := rpc.Dial(context.Background(), d.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cases := []struct {
		args   []string
		method string
		params map[string]any
	}{
		{[]string{"list"}, "nvme.list", nil},
		{[]string{"id-ctrl", "sim0"}, "nvme.id_ctrl", map[string]any{"device": "sim0"}},
		{[]string{"id-ns", "sim0n1"}, "nvme.id_ns", map[string]any{"device": "sim0n1"}},
		{[]string{"id-ns", "sim0", "-n", "2"}, "nvme.id_ns", map[string]any{"device": "sim0", "nsid": 2}},
		{[]string{"error-log", "sim0", "-e", "4"}, "nvme.error_log", map[string]any{"device": "sim0", "entries": 4}},
		{[]string{"fw-log", "sim0"}, "nvme.fw_log", map[string]any{"device": "sim0"}},
		{[]string{"get-feature", "sim0", "-f", "4"}, "nvme.get_feature", map[string]any{"device": "sim0", "fid": 4}},
		{[]string{"get-feature", "sim0", "-f", "7", "-s", "default"}, "nvme.get_feature", map[string]any{"device": "sim0", "fid": 7, "sel": "default"}},
		{[]string{"zns", "report-zones", "sim0n2", "-d", "5", "-s", "0x1000"}, "nvme.zns.report_zones", map[string]any{"device": "sim0n2", "limit": 5, "slba": 4096}},
		{[]string{"mi", "endpoints"}, "mi.endpoints", nil},
		{[]string{"methods"}, "rpc.discover", nil},
		{[]string{"call", "nvme.list_ns", "device=sim0", "all=true"}, "nvme.list_ns", map[string]any{"device": "sim0", "all": true}},
	}
	for _, tc := range cases {
		r := nv(t, d, append(tc.args, "-o", "json")...)
		want := daemonResult(t, c, tc.method, tc.params)
		if r.code != 0 || strings.TrimSuffix(r.stdout, "\n") != string(want) {
			t.Errorf("%v: exit %d, stdout %.300q, daemon %.300q, stderr %s", tc.args, r.code, r.stdout, want, r.stderr)
		}
	}
	// Counters move between two calls: compare the SMART log's keys.
	r := nv(t, d, "smart-log", "sim0", "-o", "json")
	want := daemonResult(t, c, "nvme.smart_log", map[string]any{"device": "sim0"})
	var a, b map[string]any
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &a) != nil || json.Unmarshal(want, &b) != nil || len(a) != len(b) || a["temperature"] != b["temperature"] {
		t.Errorf("smart-log: %q vs %s", r.stdout, want)
	}
	// Not a terminal: json is the default.
	if r := nv(t, d, "id-ctrl", "sim0"); !sameJSON([]byte(r.stdout), daemonResult(t, c, "nvme.id_ctrl", map[string]any{"device": "sim0"})) {
		t.Errorf("default output off a terminal: %.200q", r.stdout)
	}
}

// The write and destructive verbs send what they say and print the daemon's answer.
func TestWriteVerbs(t *testing.T) {
	t.Parallel()
	d := simd.Start(t, nil)
	ok := func(args ...string) map[string]any {
		t.Helper()
		r := nv(t, d, append(args, "-o", "json")...)
		var m map[string]any
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &m) != nil {
			t.Fatalf("%v: exit %d %q %s", args, r.code, r.stdout, r.stderr)
		}
		return m
	}
	m := ok("set-feature", "sim0", "-f", "4", "-v", "350")
	if m["value"] != float64(350) {
		t.Errorf("set-feature: %v", m)
	}
	m = ok("create-ns", "sim0", "--nsze", "8192")
	nsid := fmt.Sprint(m["nsid"])
	ok("attach-ns", "sim0", "-n", nsid)
	ok("detach-ns", "sim0", "-n", nsid, "--confirm", simd.SN)
	ok("delete-ns", "sim0", "-n", nsid, "--confirm", simd.SN)
	if m := ok("self-test", "sim0", "-s", "short", "--wait"); m["action"] != "short" {
		t.Errorf("self-test --wait: %v", m)
	}
	if m := ok("sanitize", "sim0", "-a", "block", "--wait", "--confirm", simd.SN); m["status"] != "success" {
		t.Errorf("sanitize --wait: %v", m)
	}
	ok("format", "sim0n1", "--confirm", simd.SN)
	img := filepath.Join(t.TempDir(), "fw.bin")
	if err := os.WriteFile(img, bytes.Repeat([]byte{0xA5}, 16384), 0o644); err != nil {
		t.Fatal(err)
	}
	// In pieces: each call's offset goes on where the last ended.
	if m := ok("fw-download", "sim0", "-f", img, "--xfer", "4096"); m["offset"] != float64(12288) || m["bytes"] != float64(4096) {
		t.Errorf("fw-download in pieces: %v", m)
	}
	ok("fw-commit", "sim0", "-s", "2", "-a", "replace", "--confirm", simd.SN)
	if m := ok("fw-download", "sim0", "-f", img); m["bytes"] != float64(16384) || m["offset"] != float64(0) {
		t.Errorf("fw-download: %v", m)
	}
	ok("fw-commit", "sim0", "-s", "3", "-a", "replace", "--confirm", simd.SN)
	ok("zns", "open", "sim0n2", "-s", "0x800")
	ok("zns", "close", "sim0n2", "-s", "0x800")
	ok("zns", "finish", "sim0n2", "-s", "0x800")
	ok("zns", "reset", "sim0n2", "-s", "0x800", "--confirm", simd.SN)
	r := nv(t, d, "zns", "report-zones", "sim0n2", "-d", "2", "-s", "0x800", "-o", "json")
	if !strings.Contains(r.stdout, `"state":"EMPTY"`) {
		t.Errorf("zone after reset: %s", r.stdout)
	}
}

func TestTables(t *testing.T) {
	t.Parallel()
	d := simd.Start(t, nil)
	r := nv(t, d, "list", "-o", "table")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "Node Generic SN Model Namespace Usage Format FW Rev" ||
		!strings.Contains(lines[1], "sim0n1") || !strings.Contains(lines[1], "1.07 GB / 1.07 GB") || !strings.Contains(lines[1], "512 B + 0 B") {
		t.Errorf("list table:\n%s", r.stdout)
	}
	// Aligned: every column starts at the same offset on every line.
	if strings.Index(lines[0], "SN") != strings.Index(lines[1], simd.SN) {
		t.Errorf("list not aligned:\n%s", r.stdout)
	}
	r = nv(t, d, "list", "-o", "table", "--no-headers", "--columns", "sn,node")
	if strings.Join(strings.Fields(strings.Split(r.stdout, "\n")[0]), " ") != simd.SN+" sim0n1" {
		t.Errorf("--columns sn,node --no-headers:\n%s", r.stdout)
	}
	if r := nv(t, d, "list", "-o", "table", "--columns", "bogus"); r.code != 2 {
		t.Errorf("unknown column: exit %d", r.code)
	}
	r = nv(t, d, "smart-log", "sim0", "-o", "table")
	if !strings.HasPrefix(r.stdout, "FIELD") || !regexpMatch(`(?m)^temperature +\d+ °C \(\d+ K\)$`, r.stdout) || !regexpMatch(`(?m)^avail_spare +100 %$`, r.stdout) {
		t.Errorf("smart-log table:\n%s", r.stdout)
	}
	r = nv(t, d, "zns", "report-zones", "sim0n2", "-d", "3", "-o", "table")
	lines = strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 4 || strings.Join(strings.Fields(lines[0]), " ") != "SLBA WP CAP STATE TYPE ATTRS" || !strings.HasPrefix(lines[1], "0x0 ") {
		t.Errorf("report-zones table:\n%s", r.stdout)
	}
	r = nv(t, d, "methods", "-o", "table")
	if !regexpMatch(`(?m)^nvme\.sanitize +destructive +yes +Sanitize`, r.stdout) {
		t.Errorf("methods table:\n%.500s", r.stdout)
	}
	r = nv(t, d, "get-feature", "sim0", "-f", "4", "-o", "table")
	if !regexpMatch(`(?m)^name +Temperature Threshold$`, r.stdout) {
		t.Errorf("get-feature table:\n%s", r.stdout)
	}
	// jsonl: one zone per line from the stream.
	r = nv(t, d, "zns", "report-zones", "sim0n2", "-o", "jsonl")
	if n := strings.Count(r.stdout, "\n"); n != 100000 || r.code != 0 {
		t.Errorf("jsonl: %d lines, exit %d %s", n, r.code, r.stderr)
	}
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	d := simd.Start(t, nil)
	check := func(want int, wantErr string, args ...string) {
		t.Helper()
		r := nv(t, d, args...)
		if r.code != want || !strings.Contains(r.stderr, wantErr) {
			t.Errorf("%v: exit %d (want %d), stderr %q", args, r.code, want, r.stderr)
		}
	}
	check(0, "", "id-ctrl", "sim0")
	check(1, "nvmerpc: DeviceNotFound: ", "id-ctrl", "nosuch")
	check(1, "nvmerpc: InvalidParams: Invalid params", "get-feature", "sim0", "-f", "400")
	check(1, "(field params.fid)", "get-feature", "sim0", "-f", "400")
	check(1, "nvmerpc: NvmeStatus: ", "get-feature", "sim0", "-f", "200")
	check(1, "nvmerpc: MethodNotFound: ", "call", "nvme.nope")
	check(1, "nvmerpc: ConfirmationRequired: ", "call", "nvme.ns_delete", "device=sim0", "nsid=1")
	check(2, "unknown command", "bogus")
	check(2, "usage: nvmerpc id-ctrl DEV", "id-ctrl")
	check(2, "flag provided but not defined", "id-ctrl", "sim0", "--bogus")
	check(2, "-f FID is required", "get-feature", "sim0")
	check(2, "refusing a destructive command without --confirm", "delete-ns", "sim0", "-n", "1")
	check(2, "refusing", "sanitize", "sim0", "-a", "block")
	check(2, "no command given")
	r := nv(t, nil, "--socket", filepath.Join(t.TempDir(), "none.sock"), "list")
	if r.code != 3 || !strings.Contains(r.stderr, "no connection") {
		t.Errorf("no daemon: exit %d %q", r.code, r.stderr)
	}
	// The namespace the refused delete named is still there.
	if r := nv(t, d, "id-ns", "sim0n1", "-o", "json"); r.code != 0 {
		t.Errorf("sim0n1 gone: %s", r.stderr)
	}
	// Help exits 0 and reads like nvme-cli's.
	if r := nv(t, nil, "--help"); r.code != 0 || !strings.Contains(r.stdout, "usage: nvmerpc <command> [<device>] [<args>]") || !strings.Contains(r.stdout, "  sanitize ") {
		t.Errorf("--help: %d %q", r.code, r.stdout)
	}
	if r := nv(t, nil, "sanitize", "--help"); r.code != 0 || !strings.Contains(r.stdout, "Usage: nvmerpc sanitize DEV -a ACTION") || !strings.Contains(r.stdout, "--confirm") {
		t.Errorf("sanitize --help: %d %q", r.code, r.stdout)
	}
}

func TestDryRunSendsNothing(t *testing.T) {
	t.Parallel()
	r := nv(t, nil, "--socket", "/nonexistent/s.sock", "format", "sim0n1", "--lbaf", "1", "--dry-run", "--confirm", simd.SN)
	var req map[string]any
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &req) != nil || req["method"] != "nvme.format" ||
		!reflect.DeepEqual(req["params"], map[string]any{"device": "sim0n1", "lbaf": float64(1), "confirm": simd.SN}) {
		t.Errorf("dry-run: %d %q %q", r.code, r.stdout, r.stderr)
	}
}

func TestSSHTransport(t *testing.T) {
	t.Parallel()
	// A stand-in ssh: drops the host and runs the rest here.
	dir := t.TempDir()
	script := fmt.Sprintf("#!/bin/sh\nshift\nshift\nexec %s \"$@\" --simulate --no-passthru\n", simd.Binary(t))
	if err := os.WriteFile(filepath.Join(dir, "ssh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(cli, "--ssh", "somehost", "id-ctrl", "sim0", "-o", "json")
	cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"))
	out, err := cmd.Output()
	if err != nil || !strings.Contains(string(out), `"sn":"`+simd.SN+`"`) {
		t.Errorf("--ssh: %v %.200q", err, out)
	}
}

func TestBashCompletion(t *testing.T) {
	t.Parallel()
	r := nv(t, nil, "completion", "bash")
	if r.code != 0 || !strings.Contains(r.stdout, "complete -F _nvmerpc nvmerpc") {
		t.Fatalf("completion: %d %q", r.code, r.stdout)
	}
	cmd := exec.Command("bash", "-n")
	cmd.Stdin = strings.NewReader(r.stdout)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("bash -n: %v %s", err, out)
	}
	// Completing the first word offers the verbs.
	script := r.stdout + "\nCOMP_WORDS=(nvmerpc sa); COMP_CWORD=1; _nvmerpc; echo \"${COMPREPLY[@]}\"\nCOMP_WORDS=(nvmerpc zns re); COMP_CWORD=2; _nvmerpc; echo \"${COMPREPLY[@]}\"\n"
	out, err := exec.Command("bash", "-c", script).Output()
	if err != nil || string(out) != "sanitize\nreport-zones reset\n" {
		t.Errorf("completion run: %v %q", err, out)
	}
}

// ---- pseudo-terminals ----

func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Fatal(e)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Fatal(e)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// ptyRun runs nvmerpc with stdin and stderr on a pseudo-terminal (stdout a
// pipe); input is typed once the prompt appears; after is called once the
// process started. Returns what the terminal showed.
func ptyRun(t *testing.T, d *simd.Daemon, input string, after func(*exec.Cmd), args ...string) (term, stdout string, code int) {
	t.Helper()
	m, s := openPTY(t)
	cmd := exec.Command(cli, append([]string{"--socket", d.Socket}, args...)...)
	var out bytes.Buffer
	cmd.Stdin, cmd.Stderr, cmd.Stdout = s, s, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	shown := make(chan string)
	go func() {
		var all bytes.Buffer
		buf := make([]byte, 4096)
		typed := input == ""
		for {
			n, err := m.Read(buf)
			all.Write(buf[:n])
			if !typed && bytes.Contains(all.Bytes(), []byte("Type the serial number")) {
				m.Write([]byte(input + "\n"))
				typed = true
			}
			if err != nil {
				shown <- all.String()
				return
			}
		}
	}()
	if after != nil {
		after(cmd)
	}
	err := cmd.Wait()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	select {
	case term = <-shown:
	case <-time.After(5 * time.Second):
		t.Fatal("terminal output did not end")
	}
	return term, out.String(), code
}

func TestConfirmPrompt(t *testing.T) {
	t.Parallel()
	d := simd.Start(t, nil)
	created := nv(t, d, "create-ns", "sim0", "--nsze", "4096", "-o", "json")
	var ns struct{ Nsid int }
	if err := json.Unmarshal([]byte(created.stdout), &ns); err != nil {
		t.Fatal(created)
	}
	nsid := fmt.Sprint(ns.Nsid)
	term, _, code := ptyRun(t, d, "WRONGSERIAL", nil, "delete-ns", "sim0", "-n", nsid)
	if code != 2 || !strings.Contains(term, `model "nvmerpcd simulated controller", serial "NRSIM0000000001"`) ||
		!strings.Contains(term, "This destroys namespace "+nsid+" and all its data") || !strings.Contains(term, "does not match; nothing was sent") {
		t.Errorf("wrong serial: exit %d, terminal %q", code, term)
	}
	if r := nv(t, d, "call", "nvme.list_ns", "device=sim0", "all=true"); !strings.Contains(r.stdout, nsid) {
		t.Fatalf("namespace %s went with a wrong serial: %s", nsid, r.stdout)
	}
	term, out, code := ptyRun(t, d, simd.SN, nil, "delete-ns", "sim0", "-n", nsid, "-o", "json")
	if code != 0 || !strings.Contains(out, `"nsid":`+nsid) {
		t.Errorf("right serial: exit %d, %q, terminal %q", code, out, term)
	}
}

func TestProgressOnATerminal(t *testing.T) {
	t.Parallel()
	d := simd.Start(t, nil)
	term, out, code := ptyRun(t, d, "", nil, "self-test", "sim0", "-s", "short", "--wait", "-o", "json")
	if code != 0 || !regexpMatch(`\d+% done, about \d+s left`, term) || !strings.Contains(term, "self-test: ") || !strings.Contains(out, `"action":"short"`) {
		t.Errorf("self-test progress: exit %d, terminal %q, stdout %q", code, term, out)
	}
	term, _, code = ptyRun(t, d, "", nil, "sanitize", "sim0", "-a", "block", "--wait", "--confirm", simd.SN)
	if code != 0 || !regexpMatch(`sanitize: \d+% done`, term) || strings.Contains(term, "sprog") || regexpMatch(`\d{4,}% done`, term) {
		t.Errorf("sanitize progress: exit %d, terminal %q", code, term)
	}
	term, _, _ = ptyRun(t, d, "", nil, "self-test", "sim0", "-s", "short", "--wait", "--quiet")
	if strings.Contains(term, "% done") {
		t.Errorf("--quiet showed progress: %q", term)
	}
	// Not a terminal: no progress.
	if r := nv(t, d, "self-test", "sim0", "-s", "short", "--wait"); r.code != 0 || r.stderr != "" {
		t.Errorf("progress off a terminal: %d %q", r.code, r.stderr)
	}
	term, _, code = ptyRun(t, d, "", nil, "zns", "report-zones", "sim0n2", "-o", "jsonl")
	if code != 0 || !strings.Contains(term, "zones so far") {
		t.Errorf("report-zones progress: %d %q", code, term)
	}
}

// Ctrl-C while waiting stops waiting only; nvmerpc wait picks up.
func TestInterruptWhileWaiting(t *testing.T) {
	t.Parallel()
	d := simd.Start(t, nil)
	interrupt := func(cmd *exec.Cmd) {
		time.Sleep(500 * time.Millisecond)
		_ = cmd.Process.Signal(os.Interrupt)
	}
	term, _, code := ptyRun(t, d, "", interrupt, "sanitize", "sim0", "-a", "block", "--wait", "--confirm", simd.SN)
	if code != 130 || !strings.Contains(term, "stopped waiting; the sanitize goes on on the drive ('nvmerpc wait sim0' waits again)") {
		t.Fatalf("interrupt: exit %d, terminal %q", code, term)
	}
	term, out, code := ptyRun(t, d, "", nil, "wait", "sim0")
	if code != 0 || !regexpMatch(`sanitize: \d+% done`, term) || !strings.Contains(out, "no sanitize or self-test in progress") {
		t.Errorf("wait: exit %d, terminal %q, stdout %q", code, term, out)
	}
	var log rpc.SanitizeLog
	r := nv(t, d, "call", "nvme.sanitize_log", "device=sim0")
	if json.Unmarshal([]byte(r.stdout), &log) != nil || log.Status != "success" {
		t.Errorf("sanitize after wait: %s", r.stdout)
	}
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }
