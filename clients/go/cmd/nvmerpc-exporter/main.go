// Command nvmerpc-exporter serves NVMe health from nvmerpcd as Prometheus
// metrics. It runs unprivileged: it reads the daemon's Unix socket (a read
// client, as any member of the socket's group) and serves /metrics over HTTP,
// so the root daemon opens no TCP port.
//
// A scrape never reaches a device: the exporter polls the daemon every
// --interval into a cached view (nvme.list, nvme.smart_log, the temperature
// thresholds, the self-test log where OACS says it exists) and scrapes render
// that view. Prometheus text format by default, OpenMetrics when the scraper's
// Accept header asks for application/openmetrics-text.
//
// Usage:
//
//	nvmerpc-exporter [--listen 127.0.0.1:9998] [--socket /run/nvmerpcd.sock] [--interval 30s]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// DefaultListen is loopback only: metrics tell an attacker which drives are
// failing, so exposing them beyond the host is an explicit choice. 9998 is
// the port next to the daemon's documentation examples, not one of the
// Prometheus default-port allocations in use by common exporters.
const DefaultListen = "127.0.0.1:9998"

func main() {
	listen := flag.String("listen", DefaultListen, "address to serve /metrics on")
	socket := flag.String("socket", "/run/nvmerpcd.sock", "nvmerpcd's Unix socket")
	interval := flag.Duration("interval", 30*time.Second, "how often to poll the daemon (scrapes never do)")
	flag.Parse()
	if *interval < 100*time.Millisecond {
		fmt.Fprintln(os.Stderr, "nvmerpc-exporter: --interval must be at least 100ms")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *listen, *socket, *interval); err != nil {
		fmt.Fprintln(os.Stderr, "nvmerpc-exporter:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends.
func run(ctx context.Context, listen, socket string, interval time.Duration) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	col := NewCollector(socket)
	go col.Run(ctx, interval)
	srv := &http.Server{Handler: Handler(col), ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Printf("nvmerpc-exporter: serving http://%s/metrics from %s every %s", ln.Addr(), socket, interval)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Handler serves /metrics from the collector's cached view.
func Handler(col *Collector) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		format, ctype := Negotiate(r.Header.Get("Accept"))
		w.Header().Set("Content-Type", ctype)
		_, _ = w.Write(Render(col.View(), format))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "nvmerpc-exporter: metrics at /metrics")
	})
	return mux
}

// Negotiate picks OpenMetrics when the Accept header names it, else the
// Prometheus text format.
func Negotiate(accept string) (Format, string) {
	for _, part := range strings.Split(accept, ",") {
		media := strings.TrimSpace(strings.SplitN(part, ";", 2)[0])
		if media == "application/openmetrics-text" {
			return FormatOpenMetrics, ContentTypeOpenMetrics
		}
	}
	return FormatText, ContentTypeText
}
