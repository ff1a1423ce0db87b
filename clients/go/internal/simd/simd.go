// Package simd starts the real nvmerpcd on its simulator for tests.
//
// The daemon is $NVMERPCD, or build/nvmerpcd of the source tree this module
// sits in (clients/go); tests are skipped when neither exists, and fail when
// $NVMERPCD is set but missing.
package simd

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// SN is the serial number of sim0 in Description (and of the built-in simulator).
const SN = "NRSIM0000000001"

// Description is the test subsystem (docs/simulator.md): sim0 (sn SN) with
// sim0n1 (1 GiB of 512-byte blocks) and sim0n2 (zoned, 100000 zones of 2048
// blocks), room to create namespaces, short self-test and sanitize times;
// with slow also sim1 (sn SLOW0001), which answers every command after
// LatencyUS (the daemon then takes a few of those to learn it at start).
func Description(slow bool) map[string]any {
	subs := []any{
		map[string]any{
			"nqn": "nqn.2026-11.io.nvmerpcd:sim-subsys0", "capacity": int64(1) << 40,
			"controllers": []any{map[string]any{"sn": SN, "self_test_ms": map[string]any{"short": 1500, "extended": 3000}, "sanitize_ms": 1500}},
			"namespaces": []any{
				map[string]any{"nsid": 1, "lba_size": 512, "blocks": 2097152},
				map[string]any{"nsid": 2, "lba_size": 512, "zoned": map[string]any{"zone_size": 2048, "nr_zones": 100000, "max_open": 14, "max_active": 14}},
			},
		},
	}
	if slow {
		subs = append(subs, map[string]any{
			"nqn":         "nqn.2026-11.io.nvmerpcd:slow",
			"controllers": []any{map[string]any{"sn": "SLOW0001", "mn": "slow", "latency_us": LatencyUS}},
			"namespaces":  []any{map[string]any{"nsid": 1, "lba_size": 512, "blocks": 2097152}},
		})
	}
	return map[string]any{"subsystems": subs}
}

// LatencyUS is sim1's latency.
const LatencyUS = 1000000

// Binary returns the daemon's path.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("NVMERPCD"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("NVMERPCD=%s: %v", p, err)
		}
		return p
	}
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "build", "nvmerpcd")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("no daemon: set NVMERPCD or build it (./scripts/setup.sh build): %v", err)
	}
	return p
}

// SourceDir is the repository's top directory.
func SourceDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", "..", ".."))
}

// Daemon is a running nvmerpcd.
type Daemon struct {
	Socket string
	Dir    string
	cmd    *exec.Cmd
	log    *os.File
}

// Start runs the daemon on desc (nil: Description(false)) with extra options
// and stops it when the test ends. The socket's directory (and its parent) is
// 0755 so that other uids can reach the 0666 socket.
func Start(t testing.TB, desc any, extra ...string) *Daemon {
	t.Helper()
	bin := Binary(t)
	dir := OpenTempDir(t)
	if desc == nil {
		desc = Description(false)
	}
	b, _ := json.Marshal(desc)
	simFile := filepath.Join(dir, "sim.json")
	if err := os.WriteFile(simFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	d := &Daemon{Socket: filepath.Join(dir, "s.sock"), Dir: dir}
	log, err := os.Create(filepath.Join(dir, "daemon.log"))
	if err != nil {
		t.Fatal(err)
	}
	d.log = log
	args := append([]string{"--simulate=" + simFile, "--no-passthru", "--socket", d.Socket}, extra...)
	d.cmd = exec.Command(bin, args...)
	d.cmd.Stdout, d.cmd.Stderr = log, log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.stop(t))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("unix", d.Socket); err == nil {
			c.Close()
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon did not listen on %s:\n%s", d.Socket, d.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Log returns what the daemon wrote so far.
func (d *Daemon) Log() string {
	b, _ := os.ReadFile(d.log.Name())
	return string(b)
}

func (d *Daemon) stop(t testing.TB) func() {
	return func() {
		_ = d.cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- d.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil && !strings.Contains(err.Error(), "signal") {
				t.Errorf("daemon exit: %v\n%s", err, d.Log())
			}
		case <-time.After(15 * time.Second):
			_ = d.cmd.Process.Kill()
			<-done
			t.Errorf("daemon did not stop in 15 s\n%s", d.Log())
		}
		d.log.Close()
	}
}

// OpenTempDir is t.TempDir() made reachable by every uid (0755, parent too).
func OpenTempDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
