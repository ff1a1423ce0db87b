package main

import (
	"bytes"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"nvmerpc.dev/client/rpc"
)

// Format is the exposition format a scrape gets.
type Format int

const (
	FormatText        Format = iota // Prometheus text 0.0.4
	FormatOpenMetrics               // OpenMetrics 1.0.0
)

// Content types of the two formats.
const (
	ContentTypeText        = "text/plain; version=0.0.4; charset=utf-8"
	ContentTypeOpenMetrics = "application/openmetrics-text; version=1.0.0; charset=utf-8"
)

// Unit conversions to base units (NVMe Base 2.0, SMART / Health log).
const (
	dataUnitBytes = 512 * 1000 // one Data Unit is 1000 units of 512 bytes
	kelvinOffset  = 273.15
)

// family is one metric: its name (counters without _total), type and help.
type family struct {
	name, typ, help string
}

// The metrics the exporter emits, in output order. MetricNames lists them for
// the dashboard and alert checks.
var (
	famUp            = family{"nvme_up", "gauge", "1 when the controller's SMART / Health log was read at the last poll, else 0."}
	famInfo          = family{"nvme_controller_info", "gauge", "Identify strings of the controller; always 1."}
	famCW            = family{"nvme_critical_warning", "gauge", "SMART critical warning byte (0: no warning)."}
	famCWBit         = family{"nvme_critical_warning_bit", "gauge", "One SMART critical warning bit, by name: 1 when set."}
	famTemp          = family{"nvme_temperature_celsius", "gauge", "Composite temperature."}
	famSensor        = family{"nvme_temperature_sensor_celsius", "gauge", "Temperature sensor N (only sensors the controller reports)."}
	famTempThreshold = family{"nvme_temperature_threshold_celsius", "gauge", "Composite temperature threshold: over and under (Temperature Threshold feature), warning and critical (Identify WCTEMP, CCTEMP)."}
	famSpare         = family{"nvme_available_spare_ratio", "gauge", "Available spare capacity (0 to 1)."}
	famSpareThresh   = family{"nvme_available_spare_threshold_ratio", "gauge", "Available spare threshold (0 to 1)."}
	famUsed          = family{"nvme_percentage_used_ratio", "gauge", "Vendor estimate of life used (1 is 100 %; may exceed 1)."}
	famRead          = family{"nvme_data_read_bytes", "counter", "Data read by the host."}
	famWritten       = family{"nvme_data_written_bytes", "counter", "Data written by the host."}
	famHostReads     = family{"nvme_host_read_commands", "counter", "Read commands completed."}
	famHostWrites    = family{"nvme_host_write_commands", "counter", "Write commands completed."}
	famBusy          = family{"nvme_controller_busy_seconds", "counter", "Time the controller was busy with I/O commands."}
	famPowerCycles   = family{"nvme_power_cycles", "counter", "Power cycles."}
	famPowerOn       = family{"nvme_power_on_seconds", "counter", "Power-on time (reported in hours)."}
	famUnsafe        = family{"nvme_unsafe_shutdowns", "counter", "Unsafe shutdowns."}
	famMedia         = family{"nvme_media_errors", "counter", "Unrecovered data integrity errors."}
	famErrLog        = family{"nvme_error_log_entries", "counter", "Error Information log entries over the controller's life."}
	famWarnTime      = family{"nvme_warning_temperature_seconds", "counter", "Time above the warning composite temperature threshold."}
	famCritTime      = family{"nvme_critical_temperature_seconds", "counter", "Time above the critical composite temperature threshold."}
	famSelfTest      = family{"nvme_self_test_in_progress", "gauge", "1 while a device self-test runs (controllers with Device Self-test only)."}
	famSelfTestLast  = family{"nvme_self_test_last_result", "gauge", "Result code of the newest self-test (0: no error; absent: none)."}
	famMiCtemp       = family{"nvme_mi_composite_temperature_celsius", "gauge", "NVMe-MI health poll (controllers reached over MI): composite temperature of the subsystem (CTEMP); absent without a reading."}
	famMiPdlu        = family{"nvme_mi_percentage_drive_life_used_ratio", "gauge", "NVMe-MI health poll: percentage drive life used (PDLU; 1 is 100 %)."}
	famMiSW          = family{"nvme_mi_smart_warnings", "gauge", "NVMe-MI health poll: the SMART warnings (SW) present, as critical warning bits (NVMe-MI sends them cleared; 0: none)."}
	famMiSWBit       = family{"nvme_mi_smart_warning_bit", "gauge", "NVMe-MI health poll: one SMART warning, by name: 1 while present."}
	famMiNSSBit      = family{"nvme_mi_nvm_subsystem_status_bit", "gauge", "NVMe-MI health poll: one NVM Subsystem Status (NSS) flag, by name."}
	famMiCCSBit      = family{"nvme_mi_composite_controller_status_bit", "gauge", "NVMe-MI health poll: one Composite Controller Status (CCS) flag, by name (change flags stay set until a BMC clears them)."}
	famNsSize        = family{"nvme_namespace_size_bytes", "gauge", "Namespace size (NSZE)."}
	famNsCap         = family{"nvme_namespace_capacity_bytes", "gauge", "Namespace capacity (NCAP)."}
	famNsUse         = family{"nvme_namespace_utilization_bytes", "gauge", "Namespace utilization (NUSE)."}
	famDevices       = family{"nvme_devices", "gauge", "Controllers the daemon lists (0 is not an error)."}
	famPollDuration  = family{"nvme_last_poll_duration_seconds", "gauge", "How long the exporter's last poll of the daemon took."}
	famPollTime      = family{"nvme_last_poll_timestamp_seconds", "gauge", "When the exporter last polled the daemon (Unix time)."}
	famDaemonUp      = family{"nvmerpcd_up", "gauge", "1 when the exporter's last poll reached the daemon."}
	famRequests      = family{"nvmerpcd_requests", "counter", "Requests the daemon answered, by method and outcome (ok, error)."}
	famDuration      = family{"nvmerpcd_request_duration_seconds", "histogram", "Time from a request's arrival to its answer, by method."}
	famInFlight      = family{"nvmerpcd_in_flight_requests", "gauge", "Calls not yet answered."}
	famConnections   = family{"nvmerpcd_connections", "gauge", "Client connections open."}
	famQueue         = family{"nvmerpcd_queue_depth", "gauge", "Commands waiting or running on a controller's FIFO."}
)

var allFamilies = []family{famUp, famInfo, famCW, famCWBit, famTemp, famSensor, famTempThreshold,
	famSpare, famSpareThresh, famUsed, famRead, famWritten, famHostReads, famHostWrites, famBusy,
	famPowerCycles, famPowerOn, famUnsafe, famMedia, famErrLog, famWarnTime, famCritTime,
	famSelfTest, famSelfTestLast, famMiCtemp, famMiPdlu, famMiSW, famMiSWBit, famMiNSSBit,
	famMiCCSBit, famNsSize, famNsCap, famNsUse, famDevices, famPollDuration,
	famPollTime, famDaemonUp, famRequests, famDuration, famInFlight, famConnections, famQueue}

// MetricNames returns every sample name the exporter can emit (counters with
// _total, histograms with _bucket, _sum and _count).
func MetricNames() []string {
	var out []string
	for _, f := range allFamilies {
		switch f.typ {
		case "counter":
			out = append(out, f.name+"_total")
		case "histogram":
			out = append(out, f.name+"_bucket", f.name+"_sum", f.name+"_count")
		default:
			out = append(out, f.name)
		}
	}
	return out
}

// Critical Warning bits (SMART / Health log byte 0).
var cwBits = []string{"available_spare", "temperature", "reliability", "read_only", "volatile_backup", "pmr_read_only"}

// NVM Subsystem Health Data Structure flags (NVMe-MI 1.2), by bit, named as
// mi.health_status_poll names them; SMART Warnings bits are the Critical
// Warning bits above.
var (
	nssBits = map[uint]string{5: "drive_functional", 4: "reset_not_required", 3: "port0_link_active",
		2: "port1_link_active"}
	ccsBits = map[uint]string{0: "ready", 1: "fatal_status", 2: "shutdown_status",
		4: "subsystem_reset_occurred", 5: "enable_changed", 6: "namespace_attribute_changed",
		7: "firmware_activated", 8: "status_changed", 9: "temperature_changed",
		10: "life_used_changed", 11: "spare_changed", 12: "critical_warning_changed"}
)

// sample is one line: its suffix after the family's name, labels, value.
type sample struct {
	suffix string
	labels []string // name, value pairs
	value  float64
}

// writer collects samples per family and writes them in family order.
type writer struct {
	samples map[string][]sample
}

func (w *writer) add(f family, suffix string, value float64, labels ...string) {
	if w.samples == nil {
		w.samples = map[string][]sample{}
	}
	w.samples[f.name] = append(w.samples[f.name], sample{suffix, labels, value})
}

func escapeLabel(s string) string {
	if !strings.ContainsAny(s, "\\\"\n") {
		return s
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func (w *writer) write(buf *bytes.Buffer, format Format) {
	for _, f := range allFamilies {
		samples := w.samples[f.name]
		if len(samples) == 0 {
			continue
		}
		name, typ := f.name, f.typ
		if format == FormatOpenMetrics && f == famInfo {
			name, typ = "nvme_controller", "info"
		}
		if format == FormatText && typ == "counter" {
			fmt.Fprintf(buf, "# HELP %s_total %s\n# TYPE %s_total counter\n", name, f.help, name)
		} else {
			fmt.Fprintf(buf, "# HELP %s %s\n# TYPE %s %s\n", name, f.help, name, typ)
		}
		for _, s := range samples {
			buf.WriteString(f.name)
			buf.WriteString(s.suffix)
			if len(s.labels) > 0 {
				buf.WriteByte('{')
				for i := 0; i < len(s.labels); i += 2 {
					if i > 0 {
						buf.WriteByte(',')
					}
					fmt.Fprintf(buf, "%s=\"%s\"", s.labels[i], escapeLabel(s.labels[i+1]))
				}
				buf.WriteByte('}')
			}
			buf.WriteByte(' ')
			buf.WriteString(formatValue(s.value))
			buf.WriteByte('\n')
		}
	}
	if format == FormatOpenMetrics {
		buf.WriteString("# EOF\n")
	}
}

func u128(v rpc.U128) float64 {
	f, _ := v.Big().Float64()
	return f
}

// celsius converts whole Kelvin to Celsius, rounded to the hundredth the
// offset has (308 K is 34.85, not 34.850000000000023).
func celsius(kelvin int64) float64 { return math.Round((float64(kelvin)-kelvinOffset)*100) / 100 }

// Render writes the view in the format asked for.
func Render(v *View, format Format) []byte {
	var w writer
	up := 0.0
	if v.DaemonUp {
		up = 1
	}
	w.add(famDaemonUp, "", up)
	w.add(famPollDuration, "", v.PollDuration.Seconds())
	if !v.PollTime.IsZero() {
		w.add(famPollTime, "", float64(v.PollTime.UnixNano())/float64(time.Second))
	}
	if v.DaemonUp {
		w.add(famDevices, "", float64(len(v.Controllers)))
	}
	for _, c := range v.Controllers {
		renderController(&w, c)
	}
	if v.Stats != nil {
		serials := map[string]string{}
		for _, c := range v.Controllers {
			serials[c.Name] = c.Serial
		}
		renderStats(&w, v.Stats, serials)
	}
	var buf bytes.Buffer
	buf.Grow(64 << 10)
	w.write(&buf, format)
	return buf.Bytes()
}

func renderController(w *writer, c *Controller) {
	id := []string{"controller", c.Name, "serial", c.Serial}
	with := func(extra ...string) []string { return append(append([]string{}, id...), extra...) }
	w.add(famInfo, "", 1, with("model", c.Model, "firmware", c.Firmware, "backend", c.Backend,
		"transport", c.Transport, "address", c.Address)...)
	if c.Smart == nil {
		w.add(famUp, "", 0, id...)
	} else {
		w.add(famUp, "", 1, id...)
		renderSmart(w, c.Smart, id, with)
	}
	if c.OverTemp != nil {
		w.add(famTempThreshold, "", celsius(*c.OverTemp), with("type", "over")...)
	}
	if c.UnderTemp != nil && *c.UnderTemp > 0 { // 0 K: no under threshold set
		w.add(famTempThreshold, "", celsius(*c.UnderTemp), with("type", "under")...)
	}
	if c.WarnTemp > 0 {
		w.add(famTempThreshold, "", celsius(c.WarnTemp), with("type", "warning")...)
	}
	if c.CritTemp > 0 {
		w.add(famTempThreshold, "", celsius(c.CritTemp), with("type", "critical")...)
	}
	if c.SelfTest != nil {
		w.add(famSelfTest, "", b2f(c.SelfTest.InProgress), id...)
		if c.SelfTest.LastResult >= 0 {
			w.add(famSelfTestLast, "", float64(c.SelfTest.LastResult), id...)
		}
	}
	if c.MiHealth != nil {
		renderMiHealth(w, c.MiHealth, id, with)
	}
	for _, ns := range c.Namespaces {
		l := with("namespace", ns.Name, "nsid", strconv.FormatInt(ns.Nsid, 10))
		w.add(famNsSize, "", ns.Size, l...)
		w.add(famNsCap, "", ns.Capacity, l...)
		w.add(famNsUse, "", ns.Usage, l...)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func renderSmart(w *writer, s *rpc.SmartLog, id []string, with func(...string) []string) {
	w.add(famCW, "", float64(s.CriticalWarning), id...)
	for bit, name := range cwBits {
		w.add(famCWBit, "", float64(s.CriticalWarning>>bit&1), with("bit", name)...)
	}
	w.add(famTemp, "", celsius(s.Temperature), id...)
	sensors := []*int64{s.TemperatureSensor1, s.TemperatureSensor2, s.TemperatureSensor3,
		s.TemperatureSensor4, s.TemperatureSensor5, s.TemperatureSensor6, s.TemperatureSensor7,
		s.TemperatureSensor8}
	for i, k := range sensors {
		if k != nil && *k != 0 {
			w.add(famSensor, "", celsius(*k), with("sensor", strconv.Itoa(i+1))...)
		}
	}
	w.add(famSpare, "", float64(s.AvailSpare)/100, id...)
	w.add(famSpareThresh, "", float64(s.SpareThresh)/100, id...)
	w.add(famUsed, "", float64(s.PercentUsed)/100, id...)
	w.add(famRead, "_total", u128(s.DataUnitsRead)*dataUnitBytes, id...)
	w.add(famWritten, "_total", u128(s.DataUnitsWritten)*dataUnitBytes, id...)
	w.add(famHostReads, "_total", u128(s.HostReadCommands), id...)
	w.add(famHostWrites, "_total", u128(s.HostWriteCommands), id...)
	w.add(famBusy, "_total", u128(s.ControllerBusyTime)*60, id...)
	w.add(famPowerCycles, "_total", u128(s.PowerCycles), id...)
	w.add(famPowerOn, "_total", u128(s.PowerOnHours)*3600, id...)
	w.add(famUnsafe, "_total", u128(s.UnsafeShutdowns), id...)
	w.add(famMedia, "_total", u128(s.MediaErrors), id...)
	w.add(famErrLog, "_total", u128(s.NumErrLogEntries), id...)
	w.add(famWarnTime, "_total", float64(s.WarningTempTime)*60, id...)
	w.add(famCritTime, "_total", float64(s.CriticalCompTime)*60, id...)
}

// renderMiHealth writes the health poll's fields, flags in bit order.
func renderMiHealth(w *writer, h *miHealth, id []string, with func(...string) []string) {
	if h.Ctemp != nil {
		w.add(famMiCtemp, "", float64(*h.Ctemp), id...)
	}
	w.add(famMiPdlu, "", float64(h.Pdlu)/100, id...)
	warnings := ^h.Sw & 0x3f
	w.add(famMiSW, "", float64(warnings), id...)
	for bit, name := range cwBits {
		w.add(famMiSWBit, "", float64(warnings>>bit&1), with("bit", name)...)
	}
	for bit := uint(0); bit < 16; bit++ {
		if name, ok := nssBits[bit]; ok {
			w.add(famMiNSSBit, "", float64(h.Nss>>bit&1), with("bit", name)...)
		}
		if name, ok := ccsBits[bit]; ok {
			w.add(famMiCCSBit, "", float64(h.Ccs>>bit&1), with("bit", name)...)
		}
	}
}

func renderStats(w *writer, s *daemonStats, serials map[string]string) {
	w.add(famInFlight, "", float64(s.InFlight))
	w.add(famConnections, "", float64(s.Connections))
	names := make([]string, 0, len(s.Methods))
	for name := range s.Methods {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		m := s.Methods[name]
		w.add(famRequests, "_total", float64(m.Ok), "method", name, "outcome", "ok")
		w.add(famRequests, "_total", float64(m.Errors), "method", name, "outcome", "error")
		if m.Bounds != nil {
			for i, le := range m.Bounds {
				w.add(famDuration, "_bucket", float64(m.Buckets[i]), "method", name, "le", formatValue(le))
			}
			total := m.Buckets[len(m.Bounds)]
			w.add(famDuration, "_bucket", float64(total), "method", name, "le", "+Inf")
			w.add(famDuration, "_sum", m.SumSeconds, "method", name)
			w.add(famDuration, "_count", float64(total), "method", name)
		}
	}
	devs := make([]string, 0, len(s.Queues))
	for d := range s.Queues {
		devs = append(devs, d)
	}
	sort.Strings(devs)
	for _, d := range devs {
		w.add(famQueue, "", float64(s.Queues[d]), "controller", d, "serial", serials[d])
	}
}
