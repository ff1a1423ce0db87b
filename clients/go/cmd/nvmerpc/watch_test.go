package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"testing"
	"time"

	"nvmerpc.dev/client/internal/simd"
	"nvmerpc.dev/client/rpc"
)

// nvmerpc watch prints the snapshot, then the events a fault causes, and
// ends with exit 0 on Ctrl-C (SIGINT).
func TestWatch(t *testing.T) {
	t.Parallel()
	d := simd.Start(t, nil)
	c, err := rpc.Dial(context.Background(), d.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cmd := exec.Command(cli, "--socket", d.Socket, "watch", "sim0", "-i", "100", "-o", "jsonl")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := bufio.NewScanner(out)
	next := func() rpc.WatchEvent {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("watch ended early: %v", lines.Err())
		}
		var ev rpc.WatchEvent
		if err := json.Unmarshal(lines.Bytes(), &ev); err != nil {
			t.Fatalf("%q: %v", lines.Text(), err)
		}
		return ev
	}
	if ev := next(); ev.Kind != "snapshot" || len(ev.Devices) != 1 {
		t.Fatalf("first line is not the snapshot: %+v", ev)
	}
	if _, err := c.Call(context.Background(), "sim.fault", map[string]any{"device": "sim0",
		"health": map[string]any{"critical_warning": 8}}); err != nil {
		t.Fatal(err)
	}
	ev := next()
	if ev.Kind != "critical_warning" || ev.Device == nil || *ev.Device != "sim0" ||
		string(ev.Before) != "0" || string(ev.After) != "8" {
		t.Fatalf("event: %+v (before %s after %s)", ev, ev.Before, ev.After)
	}
	_ = cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Ctrl-C: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watch did not end on SIGINT")
	}
}
