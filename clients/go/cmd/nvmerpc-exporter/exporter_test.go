package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"nvmerpc.dev/client/internal/simd"
	"nvmerpc.dev/client/rpc"
)

// fleetDesc is @n controllers, each in its own subsystem, serials PREFIX0000...
func fleetDesc(prefix string, n int) map[string]any {
	var subs []any
	for i := 0; i < n; i++ {
		subs = append(subs, map[string]any{
			"nqn":         fmt.Sprintf("nqn.2026-11.io.nvmerpcd:%s%d", strings.ToLower(prefix), i),
			"controllers": []any{map[string]any{"sn": fmt.Sprintf("%s%04d", prefix, i), "cntlid": 1}},
			"namespaces":  []any{map[string]any{"nsid": 1, "lba_size": 4096, "blocks": 262144}},
		})
	}
	return map[string]any{"subsystems": subs}
}

func dial(t *testing.T, d *simd.Daemon) *rpc.Client {
	t.Helper()
	c, err := rpc.Dial(context.Background(), d.Socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func simFault(t *testing.T, c *rpc.Client, params map[string]any) {
	t.Helper()
	if _, err := c.Call(context.Background(), "sim.fault", params); err != nil {
		t.Fatalf("sim.fault %v: %v", params, err)
	}
}

// scrape polls once and renders in @format.
func scrape(t *testing.T, d *simd.Daemon, format Format) (string, *Collector) {
	t.Helper()
	col := NewCollector(d.Socket)
	col.Poll(context.Background())
	t.Cleanup(func() {
		if col.client != nil {
			col.client.Close()
		}
	})
	return string(Render(col.View(), format)), col
}

var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$`)

// samples parses exposition text into "name{labels}" -> value.
func samples(t *testing.T, text string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("unparsable sample %q", line)
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("value of %q: %v", line, err)
		}
		out[m[1]+m[2]] = v
	}
	return out
}

func id(ctrl, serial string, extra ...string) string {
	s := fmt.Sprintf(`{controller="%s",serial="%s"`, ctrl, serial)
	for i := 0; i < len(extra); i += 2 {
		s += fmt.Sprintf(`,%s="%s"`, extra[i], extra[i+1])
	}
	return s + "}"
}

func TestPromtoolChecksRealOutput(t *testing.T) {
	promtool := needTool(t, "promtool")
	d := simd.Start(t, nil)
	text, _ := scrape(t, d, FormatText)
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check metrics: %v\n%s\n--- metrics ---\n%s", err, out, text)
	}
	if len(bytes.TrimSpace(out)) != 0 {
		t.Fatalf("promtool check metrics complains:\n%s", out)
	}
	// A sample of what must be there, with controller and serial on every device series.
	got := samples(t, text)
	for _, key := range []string{"nvme_up" + id("sim0", simd.SN), "nvme_temperature_celsius" + id("sim0", simd.SN),
		"nvme_power_on_seconds_total" + id("sim0", simd.SN), "nvme_devices", "nvmerpcd_up"} {
		if _, ok := got[key]; !ok {
			t.Errorf("no %s in\n%s", key, text)
		}
	}
	// The daemon's own metrics (server.stats, read class).
	if got[`nvmerpcd_request_duration_seconds_count{method="nvme.list"}`] < 1 ||
		got[`nvmerpcd_request_duration_seconds_bucket{method="nvme.list",le="+Inf"}`] < 1 ||
		got[`nvmerpcd_requests_total{method="nvme.list",outcome="ok"}`] < 1 {
		t.Errorf("daemon request metrics missing:\n%s", text)
	}
	if _, ok := got["nvmerpcd_queue_depth"+id("sim0", simd.SN)]; !ok {
		t.Errorf("no queue depth for sim0:\n%s", text)
	}
	for key := range got {
		if strings.HasPrefix(key, "nvme_") && strings.Contains(key, "{") &&
			(!strings.Contains(key, `controller="`) || !strings.Contains(key, `serial="`)) {
			t.Errorf("%s lacks controller or serial", key)
		}
		if strings.HasPrefix(key, "nvme_") && !strings.HasPrefix(key, "nvme_controller_info") &&
			(strings.Contains(key, "model=") || strings.Contains(key, "firmware=")) {
			t.Errorf("%s: model and firmware belong on the info metric only", key)
		}
	}
}

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: ./scripts/setup.sh installs Debian's prometheus package", name)
	}
	return p
}

func TestValuesEqualSmartLog(t *testing.T) {
	d := simd.Start(t, fleetDesc("VAL", 1))
	c := dial(t, d)
	simFault(t, c, map[string]any{"device": "sim0", "health": map[string]any{
		"temperature": 331, "avail_spare": 42, "percent_used": 91, "media_errors": 7}})
	text, _ := scrape(t, d, FormatText)
	smart, err := c.NvmeSmartLog(context.Background(), rpc.NvmeSmartLogParams{Device: "sim0"})
	if err != nil {
		t.Fatal(err)
	}
	got := samples(t, text)
	k := id("sim0", "VAL0000")
	want := map[string]float64{
		"nvme_temperature_celsius" + k:                                                          float64(smart.Temperature) - 273.15,
		"nvme_available_spare_ratio" + k:                                                        float64(smart.AvailSpare) / 100,
		"nvme_available_spare_threshold_ratio" + k:                                              float64(smart.SpareThresh) / 100,
		"nvme_percentage_used_ratio" + k:                                                        float64(smart.PercentUsed) / 100,
		"nvme_critical_warning" + k:                                                             float64(smart.CriticalWarning),
		"nvme_media_errors_total" + k:                                                           u128(smart.MediaErrors),
		"nvme_error_log_entries_total" + k:                                                      u128(smart.NumErrLogEntries),
		"nvme_power_on_seconds_total" + k:                                                       u128(smart.PowerOnHours) * 3600,
		"nvme_power_cycles_total" + k:                                                           u128(smart.PowerCycles),
		"nvme_controller_busy_seconds_total" + k:                                                u128(smart.ControllerBusyTime) * 60,
		"nvme_unsafe_shutdowns_total" + k:                                                       u128(smart.UnsafeShutdowns),
		"nvme_data_written_bytes_total" + k:                                                     u128(smart.DataUnitsWritten) * 512000,
		"nvme_host_write_commands_total" + k:                                                    u128(smart.HostWriteCommands),
		"nvme_warning_temperature_seconds_total" + k:                                            float64(smart.WarningTempTime) * 60,
		"nvme_critical_temperature_seconds_total" + k:                                           float64(smart.CriticalCompTime) * 60,
		"nvme_critical_warning_bit" + id("sim0", "VAL0000", "bit", "available_spare"):           0,
		"nvme_namespace_size_bytes" + id("sim0", "VAL0000", "namespace", "sim0n1", "nsid", "1"): 262144 * 4096,
	}
	for key, w := range want {
		g, ok := got[key]
		if !ok || math.Abs(g-w) > 1e-9 {
			t.Errorf("%s = %v (present %v), smart_log says %v", key, g, ok, w)
		}
	}
	// The injected values themselves, not only agreement with a broken daemon.
	if got["nvme_temperature_celsius"+k] != 57.85 || got["nvme_percentage_used_ratio"+k] != 0.91 ||
		got["nvme_media_errors_total"+k] != 7 {
		t.Errorf("injected health not exported:\n%s", text)
	}
}

func TestOpenMetricsWhenAsked(t *testing.T) {
	d := simd.Start(t, fleetDesc("OM", 1))
	col := NewCollector(d.Socket)
	col.Poll(context.Background())
	srv := httptest.NewServer(Handler(col))
	defer srv.Close()
	get := func(accept string) (string, string) {
		req, _ := http.NewRequest("GET", srv.URL+"/metrics", nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Header.Get("Content-Type"), string(b)
	}
	ctype, body := get("application/openmetrics-text; version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
	if ctype != ContentTypeOpenMetrics || !strings.HasSuffix(body, "# EOF\n") {
		t.Fatalf("OpenMetrics asked, got %q:\n%s", ctype, body)
	}
	if !strings.Contains(body, "# TYPE nvme_power_on_seconds counter\n") ||
		!strings.Contains(body, "nvme_power_on_seconds_total{") ||
		!strings.Contains(body, "# TYPE nvme_controller info\n") {
		t.Fatalf("OpenMetrics families wrong:\n%s", body)
	}
	ctype, body = get("")
	if ctype != ContentTypeText || strings.Contains(body, "# EOF") ||
		!strings.Contains(body, "# TYPE nvme_power_on_seconds_total counter\n") {
		t.Fatalf("text format expected, got %q:\n%s", ctype, body)
	}
}

func TestFailedReadDropsOnlyItsSeries(t *testing.T) {
	d := simd.Start(t, fleetDesc("DROP", 2))
	c := dial(t, d)
	// sim0 answers Get Features with Invalid Field; sim1 is removed.
	simFault(t, c, map[string]any{"device": "sim0", "status": map[string]any{"sct": 0, "sc": 2, "opcode": 0x0a}})
	simFault(t, c, map[string]any{"device": "sim1", "removed": true})
	text, _ := scrape(t, d, FormatText)
	got := samples(t, text)
	k0, k1 := id("sim0", "DROP0000"), id("sim1", "DROP0001")
	if got["nvme_up"+k0] != 1 || got["nvme_up"+k1] != 0 {
		t.Fatalf("nvme_up wrong:\n%s", text)
	}
	if _, ok := got["nvme_temperature_threshold_celsius"+id("sim0", "DROP0000", "type", "over")]; ok {
		t.Errorf("a refused Get Features still exported a threshold")
	}
	for _, name := range []string{"nvme_temperature_celsius", "nvme_available_spare_ratio", "nvme_power_on_seconds_total"} {
		if _, ok := got[name+k0]; !ok {
			t.Errorf("%s dropped with the thresholds", name)
		}
		if _, ok := got[name+k1]; ok {
			t.Errorf("%s exported for a removed controller", name)
		}
	}
	if got["nvme_devices"] != 2 || got["nvmerpcd_up"] != 1 {
		t.Errorf("devices/daemon wrong:\n%s", text)
	}
	// Identify strings stay (from the daemon's topology) for the one that is down.
	if _, ok := got["nvme_controller_info"+id("sim1", "DROP0001", "model", "nvmerpcd simulated controller",
		"firmware", "1.0", "backend", "sim", "transport", "sim", "address", "")]; !ok {
		t.Errorf("info metric of the removed controller missing:\n%s", text)
	}
}

func TestZeroDevicesIsNotAnError(t *testing.T) {
	d := simd.Start(t, fleetDesc("ZERO", 1))
	c := dial(t, d)
	simFault(t, c, map[string]any{"device": "sim0", "removed": true})
	if _, err := c.Call(context.Background(), "nvme.rescan", nil); err != nil {
		t.Fatal(err)
	}
	text, _ := scrape(t, d, FormatText)
	got := samples(t, text)
	if got["nvme_devices"] != 0 || got["nvmerpcd_up"] != 1 {
		t.Fatalf("zero devices:\n%s", text)
	}
}

func TestDaemonDownIsReported(t *testing.T) {
	col := NewCollector(filepath.Join(t.TempDir(), "nothing.sock"))
	col.Poll(context.Background())
	got := samples(t, string(Render(col.View(), FormatText)))
	if got["nvmerpcd_up"] != 0 {
		t.Fatalf("daemon absent but nvmerpcd_up = %v", got["nvmerpcd_up"])
	}
	if _, ok := got["nvme_devices"]; ok {
		t.Fatalf("nvme_devices without a daemon")
	}
}

// The exporter reads only what the controller supports: many polls add no
// entry to its Error Information log. The positive control shows that a
// read it refuses would.
func TestPollingDoesNotGrowTheErrorLog(t *testing.T) {
	d := simd.Start(t, fleetDesc("ELOG", 1))
	c := dial(t, d)
	count := func() float64 {
		s, err := c.NvmeSmartLog(context.Background(), rpc.NvmeSmartLogParams{Device: "sim0"})
		if err != nil {
			t.Fatal(err)
		}
		return u128(s.NumErrLogEntries)
	}
	before := count()
	col := NewCollector(d.Socket)
	defer func() {
		if col.client != nil {
			col.client.Close()
		}
	}()
	for i := 0; i < 50; i++ {
		col.Poll(context.Background())
	}
	if v := col.View(); !v.DaemonUp || v.Controllers[0].Smart == nil || v.Controllers[0].OverTemp == nil {
		t.Fatalf("polls did not read: %+v", v)
	}
	if after := count(); after != before {
		t.Fatalf("50 polls grew the error log from %v to %v entries", before, after)
	}
	// Control: a log page the controller does not have is an error entry.
	_, _ = c.Call(context.Background(), "nvme.get_log", map[string]any{"device": "sim0", "lid": 0x7f, "length": 512})
	if count() == before {
		t.Fatalf("an unsupported log read did not count: the check above proves nothing")
	}
}

// metricNamesIn returns the nvme_* and nvmerpcd_* names in @s.
func metricNamesIn(s string) []string {
	return regexp.MustCompile(`\b(?:nvme|nvmerpcd)_[a-z0-9_]+`).FindAllString(s, -1)
}

func TestDashboardUsesOnlyEmittedMetrics(t *testing.T) {
	path := filepath.Join(simd.SourceDir(), "packaging", "grafana", "nvmerpc-dashboard.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("%s: not JSON: %v", path, err)
	}
	known := map[string]bool{}
	for _, n := range MetricNames() {
		known[n] = true
	}
	used := 0
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			for _, name := range metricNamesIn(q.Expr) {
				used++
				if !known[name] {
					t.Errorf("panel %q uses %s, which the exporter does not emit", p.Title, name)
				}
			}
		}
	}
	if used == 0 {
		t.Fatal("no metric names found in the dashboard")
	}
}

func TestAlertRulesUseOnlyEmittedMetrics(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(simd.SourceDir(), "packaging", "prometheus", "nvmerpc-alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, n := range MetricNames() {
		known[n] = true
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.Contains(line, "expr:") {
			continue
		}
		for _, name := range metricNamesIn(line) {
			if !known[name] {
				t.Errorf("alert rule uses %s, which the exporter does not emit", name)
			}
		}
	}
}

// freePort returns a loopback port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// The fleet view: three simulated daemons, an exporter in front of each, a
// real Prometheus scraping them; PromQL through its HTTP API gives each
// drive's temperature.
func TestPrometheusScrapesAFleet(t *testing.T) {
	prom := needTool(t, "prometheus")
	var targets []string
	want := map[string]float64{}
	for i := 0; i < 3; i++ {
		d := simd.Start(t, fleetDesc(fmt.Sprintf("FLT%d", i), 1))
		c := dial(t, d)
		kelvin := 300 + 10*i
		simFault(t, c, map[string]any{"device": "sim0", "health": map[string]any{"temperature": kelvin}})
		want[fmt.Sprintf("FLT%d0000", i)] = float64(kelvin) - 273.15
		col := NewCollector(d.Socket)
		ctx, cancel := context.WithCancel(context.Background())
		go col.Run(ctx, 200*time.Millisecond)
		srv := httptest.NewServer(Handler(col))
		t.Cleanup(func() { srv.Close(); cancel() })
		targets = append(targets, strings.TrimPrefix(srv.URL, "http://"))
	}
	dir := t.TempDir()
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n"+
		"  - job_name: nvme\n    static_configs:\n      - targets: [%s]\n", strings.Join(quoteAll(targets), ", "))
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	cmd := exec.Command(prom, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port))
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	query := `max by (serial) (nvme_temperature_celsius{job="nvme"})`
	api := fmt.Sprintf("http://127.0.0.1:%d/api/v1/query?query=%s", port, url.QueryEscape(query))
	deadline := time.Now().Add(90 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		got, body := promQuery(api)
		last = body
		if len(got) == len(want) {
			for serial, w := range want {
				if math.Abs(got[serial]-w) > 1e-9 {
					t.Fatalf("%s: Prometheus says %v °C, the drive %v\n%s", serial, got[serial], w, body)
				}
			}
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("Prometheus never had three temperatures; last answer %s\n%s", last, log.String())
}

func quoteAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = strconv.Quote(s)
	}
	return out
}

// promQuery returns serial -> value of an instant vector query.
func promQuery(api string) (map[string]float64, string) {
	resp, err := http.Get(api)
	if err != nil {
		return nil, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var r struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if json.Unmarshal(body, &r) != nil || r.Status != "success" {
		return nil, string(body)
	}
	out := map[string]float64{}
	for _, s := range r.Data.Result {
		str, _ := s.Value[1].(string)
		v, err := strconv.ParseFloat(str, 64)
		if err == nil {
			out[s.Metric["serial"]] = v
		}
	}
	return out, string(body)
}

// The alert rules, tested with promtool on series the exporter rendered from
// a simulator: sim0 has a critical warning, spare under its threshold, a
// temperature over its threshold and 95 % used; sim1 is removed; sim2 is
// healthy and must raise nothing.
func TestAlertRules(t *testing.T) {
	promtool := needTool(t, "promtool")
	d := simd.Start(t, fleetDesc("ALERT", 3))
	c := dial(t, d)
	simFault(t, c, map[string]any{"device": "sim0", "health": map[string]any{
		"critical_warning": 0x04, "avail_spare": 5, "temperature": 360, "percent_used": 95}})
	simFault(t, c, map[string]any{"device": "sim1", "removed": true})
	text, _ := scrape(t, d, FormatText)

	var series []string
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		m := sampleLine.FindStringSubmatch(sc.Text())
		if m == nil || !strings.HasPrefix(m[1], "nvme") {
			continue
		}
		labels := strings.TrimSuffix(strings.TrimPrefix(m[2], "{"), "}")
		if labels != "" {
			labels = "," + labels
		}
		series = append(series, fmt.Sprintf("      - series: '%s{instance=\"host1:9998\",job=\"nvme\"%s}'\n        values: '%sx240'\n",
			m[1], labels, m[3]))
	}
	sort.Strings(series)
	base := `instance: "host1:9998", job: "nvme", controller: "%s", serial: "%s"`
	alert := func(name, severity, ctrl, serial, summary string) string {
		return fmt.Sprintf("      - eval_time: 3h\n        alertname: %s\n        exp_alerts:\n"+
			"          - exp_labels: {severity: %s, %s}\n            exp_annotations:\n              summary: %s\n",
			name, severity, fmt.Sprintf(base, ctrl, serial), strconv.Quote(summary))
	}
	none := func(name string) string {
		return fmt.Sprintf("      - eval_time: 3h\n        alertname: %s\n        exp_alerts: []\n", name)
	}
	rules := filepath.Join(simd.SourceDir(), "packaging", "prometheus", "nvmerpc-alerts.yml")
	var b strings.Builder
	fmt.Fprintf(&b, "rule_files:\n  - %s\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n", rules)
	for _, s := range series {
		b.WriteString(s)
	}
	b.WriteString("    alert_rule_test:\n")
	cw := alert("NvmeCriticalWarning", "critical", "sim0", "ALERT0000",
		"NVMe sim0 (ALERT0000) reports a critical warning (7)")
	b.WriteString(strings.Replace(cw, "            exp_annotations:\n", "            exp_annotations:\n"+
		"              description: \"SMART critical warning bits are set; nvme_critical_warning_bit names them.\"\n", 1))
	b.WriteString(alert("NvmeSpareBelowThreshold", "critical", "sim0", "ALERT0000",
		"NVMe sim0 (ALERT0000) available spare is below its threshold"))
	b.WriteString(alert("NvmeTemperatureOverThreshold", "warning", "sim0", "ALERT0000",
		"NVMe sim0 (ALERT0000) is at 86.85 °C, over its threshold"))
	b.WriteString(alert("NvmePercentageUsedHigh", "warning", "sim0", "ALERT0000",
		"NVMe sim0 (ALERT0000) has used 95% of its rated life"))
	b.WriteString(alert("NvmeDeviceDown", "critical", "sim1", "ALERT0001",
		"NVMe sim1 (ALERT0001) does not answer"))
	b.WriteString(none("NvmeDaemonDown"))
	file := filepath.Join(t.TempDir(), "alerts_test.yml")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "test", "rules", file).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool test rules: %v\n%s\n--- test file ---\n%s", err, out, b.String())
	}
}

// The exporter binary, run as uid 65534 with its flags, under the default
// policy: it reaches the daemon as a read client and serves the devices'
// metrics and the daemon-wide ones (server.stats is read class). As the
// packaged unit runs it: a member of the socket's group, the socket 0660.
func TestUnprivilegedExporterBinary(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the exporter as uid 65534")
	}
	bin := filepath.Join(simd.OpenTempDir(t), "nvmerpc-exporter")
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if out, err := exec.Command(goBin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Run("nobody", func(t *testing.T) {
		d := simd.Start(t, fleetDesc("NOBODY", 1))
		runUnprivileged(t, bin, d, "NOBODY0000", nil)
	})
	t.Run("group-member", func(t *testing.T) {
		const gid = 41235 // no account has it: only the exporter is given it
		cfg := filepath.Join(simd.OpenTempDir(t), "nvmerpcd.json")
		doc := fmt.Sprintf(`{"socket": {"group": %d, "mode": "0660"}}`, gid)
		if err := os.WriteFile(cfg, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		d := simd.Start(t, fleetDesc("MEMBER", 1), "--config", cfg)
		st, err := os.Stat(d.Socket)
		if err != nil || st.Mode().Perm() != 0o660 || st.Sys().(*syscall.Stat_t).Gid != gid {
			t.Fatalf("socket not 0660 root:%d: %v %v", gid, st.Mode(), err)
		}
		runUnprivileged(t, bin, d, "MEMBER0000", []uint32{gid})
	})
}

// runUnprivileged runs the exporter as uid 65534 (with @groups) until it
// serves @serial's metrics and the daemon's own, then stops it with SIGINT.
func runUnprivileged(t *testing.T, bin string, d *simd.Daemon, serial string, groups []uint32) {
	port := freePort(t)
	cmd := exec.Command(bin, "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--socket", d.Socket,
		"--interval", "200ms")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534,
		Groups: groups}}
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var body []byte
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
		if err == nil {
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			got := samples(t, string(body))
			// A second poll has the first one's calls in the histogram.
			if got["nvme_up"+id("sim0", serial)] == 1 &&
				got[`nvmerpcd_requests_total{method="nvme.smart_log",outcome="ok"}`] >= 1 {
				if got["nvmerpcd_connections"] < 1 || got["nvmerpcd_in_flight_requests"] < 1 ||
					got[`nvmerpcd_request_duration_seconds_count{method="nvme.list"}`] < 1 {
					t.Errorf("daemon metrics incomplete for uid 65534:\n%s", body)
				}
				if _, ok := got["nvmerpcd_queue_depth"+id("sim0", serial)]; !ok {
					t.Errorf("no queue depth for sim0:\n%s", body)
				}
				if err := cmd.Process.Signal(os.Interrupt); err != nil {
					t.Fatal(err)
				}
				if err := cmd.Wait(); err != nil {
					t.Fatalf("exit on SIGINT: %v\n%s", err, log.String())
				}
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the exporter as uid 65534 never served sim0's and the daemon's metrics:\n%s\n%s",
		log.String(), body)
}

// The NVMe-MI health poll's fields as metrics: SW is sent active low, so
// 0x3b (bit 2 cleared) is the reliability warning; a CTEMP without a
// reading (null) drops only the temperature. (tests/mi/test_mi_exporter.py
// shows the same against a daemon reaching a drive over MI.)
func TestMiHealthRendering(t *testing.T) {
	ctemp := int64(-5)
	v := &View{DaemonUp: true, Controllers: []*Controller{
		{Name: "mctp:1,8:1", Serial: "MI1", Backend: "mi",
			MiHealth: &miHealth{Nss: 0x38, Sw: 0x3b, Pdlu: 120, Ccs: 1 | 1<<12, Ctemp: &ctemp}},
		{Name: "mctp:1,9:1", Serial: "MI2", Backend: "mi", MiHealth: &miHealth{Sw: 0x3f}},
		{Name: "sim0", Serial: "SIM", Backend: "sim"}}}
	text := string(Render(v, FormatText))
	got := samples(t, text)
	k := id("mctp:1,8:1", "MI1")
	want := map[string]float64{
		"nvme_mi_composite_temperature_celsius" + k:                                                -5,
		"nvme_mi_percentage_drive_life_used_ratio" + k:                                             1.2,
		"nvme_mi_smart_warnings" + k:                                                               4,
		"nvme_mi_smart_warning_bit" + id("mctp:1,8:1", "MI1", "bit", "reliability"):                1,
		"nvme_mi_smart_warning_bit" + id("mctp:1,8:1", "MI1", "bit", "available_spare"):            0,
		"nvme_mi_nvm_subsystem_status_bit" + id("mctp:1,8:1", "MI1", "bit", "drive_functional"):    1,
		"nvme_mi_nvm_subsystem_status_bit" + id("mctp:1,8:1", "MI1", "bit", "port1_link_active"):   0,
		"nvme_mi_composite_controller_status_bit" + id("mctp:1,8:1", "MI1", "bit", "ready"):        1,
		"nvme_mi_composite_controller_status_bit" + id("mctp:1,8:1", "MI1", "bit", "fatal_status"): 0,
		"nvme_mi_composite_controller_status_bit" + id("mctp:1,8:1", "MI1", "bit",
			"critical_warning_changed"): 1,
		"nvme_mi_smart_warnings" + id("mctp:1,9:1", "MI2"): 0,
	}
	for key, w := range want {
		if g, ok := got[key]; !ok || g != w {
			t.Errorf("%s = %v (present %v), want %v", key, g, ok, w)
		}
	}
	for key := range got {
		if strings.HasPrefix(key, "nvme_mi_composite_temperature_celsius") && strings.Contains(key, "MI2") {
			t.Errorf("a CTEMP without a reading exported: %s", key)
		}
		if strings.HasPrefix(key, "nvme_mi_") && strings.Contains(key, `controller="sim0"`) {
			t.Errorf("MI series for a controller not reached over MI: %s", key)
		}
	}
	if promtool, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(text)
		if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) != 0 {
			t.Fatalf("promtool check metrics: %v\n%s\n%s", err, out, text)
		}
	}
}
