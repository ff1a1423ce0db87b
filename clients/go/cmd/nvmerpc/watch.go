package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"

	"nvmerpc.dev/client/rpc"
)

// watchVerbs is "nvmerpc watch [DEV...]": nvme.watch's snapshot and events
// until Ctrl-C (which ends it normally: exit 0). -o json and jsonl print each
// item as one JSON line; the table shows the snapshot as a table, then one line
// per event. --timeout does not apply: a watch has no end of its own.
func watchVerbs() []*verb {
	var interval, events string
	return []*verb{{name: "watch", args: "[DEV...]", help: "Stream health and topology events (nvme.watch) until Ctrl-C",
		flags: func(fs *flag.FlagSet, p *pflags) {
			fs.StringVar(&interval, "i", "", "poll interval in milliseconds (daemon default 5000)")
			fs.StringVar(&interval, "interval", "", "same as -i")
			fs.StringVar(&events, "e", "", "comma-separated event kinds (default every kind)")
			fs.StringVar(&events, "events", "", "same as -e")
		},
		run: func(e *env, p *pflags, pos []string) error {
			params := map[string]any{}
			if len(pos) > 0 {
				params["devices"] = pos
			}
			if events != "" {
				params["events"] = strings.Split(events, ",")
			}
			if err := setInt(params, "interval_ms", interval); err != nil {
				return err
			}
			return runWatch(e, params)
		}}}
}

func runWatch(e *env, params map[string]any) error {
	mode := e.outputMode()
	if mode != "table" && mode != "json" && mode != "jsonl" {
		return usageErr("-o %s: one of table, json, jsonl", mode)
	}
	if e.dryRun {
		params["stream"] = true
		return e.printDry("nvme.watch", params)
	}
	if err := e.connect(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	st := rpc.OpenStream[json.RawMessage, json.RawMessage](ctx, e.client, "nvme.watch", params)
	for item, err := range st.All() {
		if err != nil {
			if errors.Is(err, context.Canceled) && e.ctx.Err() != nil {
				return nil // Ctrl-C: the watch's normal end
			}
			return err
		}
		if err := e.showWatchItem(item, mode); err != nil {
			return err
		}
	}
	_, err := st.Result()
	return err
}

func (e *env) showWatchItem(item json.RawMessage, mode string) error {
	if mode != "table" {
		_, err := fmt.Fprintf(e.stdout, "%s\n", item)
		return err
	}
	var ev struct {
		rpc.WatchEvent
		Devices []map[string]any `json:"devices"`
	}
	if err := json.Unmarshal(item, &ev); err != nil {
		return err
	}
	if ev.Kind == "snapshot" {
		t := &table{cols: []string{"DEVICE", "SERIAL", "TEMP", "WARNING", "SPARE", "USED", "FIRMWARE", "STATE"}}
		for _, d := range ev.Devices {
			state := "ok"
			if s, ok := d["error"].(string); ok {
				state = s
			}
			t.add(str(d["device"]), str(d["serial"]), kelvinC(d["temperature"]), str(d["critical_warning"]),
				pct(d["avail_spare"]), pct(d["percent_used"]), str(d["fw_revision"]), state)
		}
		return t.write(e.stdout, e.noHeaders, e.columns)
	}
	dev := ""
	if ev.Device != nil {
		dev = *ev.Device
	}
	_, err := fmt.Fprintf(e.stdout, "%s %s %s: %s -> %s\n", ev.Time, dev, ev.Kind, raw(ev.Before), raw(ev.After))
	return err
}

func str(v any) string {
	if v == nil {
		return "-"
	}
	if f, ok := v.(float64); ok {
		return fmt.Sprintf("%g", f)
	}
	return fmt.Sprint(v)
}

func kelvinC(v any) string {
	if f, ok := v.(float64); ok {
		return fmt.Sprintf("%.0f°C", f-273.15)
	}
	return "-"
}

func pct(v any) string {
	if f, ok := v.(float64); ok {
		return fmt.Sprintf("%g%%", f)
	}
	return "-"
}

func raw(m json.RawMessage) string {
	if len(m) == 0 {
		return "null"
	}
	return string(m)
}
