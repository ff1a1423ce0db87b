package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"nvmerpc.dev/client/rpc"
)

// progress draws "VERB: 40% done, about 12s left" on stderr when stderr is
// a terminal and --quiet is not given.
type progress struct {
	e     *env
	what  string
	start time.Time
	shown bool
}

func (e *env) progress(what string) *progress {
	return &progress{e: e, what: what, start: time.Now()}
}

func (p *progress) on() bool { return p.e.stderrTTY && !p.e.quiet }

func (p *progress) line(s string) {
	if !p.on() {
		return
	}
	fmt.Fprintf(p.e.stderr, "\r\033[K%s: %s", p.what, s)
	p.shown = true
}

func (p *progress) percent(pc float64) {
	s := fmt.Sprintf("%.0f%% done", pc)
	if pc > 0 && pc < 100 {
		el := time.Since(p.start)
		left := time.Duration(float64(el) * (100 - pc) / pc).Round(time.Second)
		s += fmt.Sprintf(", about %v left", left)
	}
	p.line(s)
}

func (p *progress) done() {
	if p.shown {
		fmt.Fprintln(p.e.stderr)
		p.shown = false
	}
}

// waitStream runs a progress stream (sanitize, self-test, format with
// --wait): percentages on stderr, items as jsonl with -o jsonl, the final
// result as the daemon sent it otherwise. Ctrl-C stops waiting only.
func (e *env) waitStream(method, what, dev string, params map[string]any) error {
	if e.dryRun {
		params["stream"] = true
		return e.printDry(method, params)
	}
	if err := e.connect(); err != nil {
		return err
	}
	ctx, cancel := e.callCtx()
	defer cancel()
	pr := e.progress(what)
	st := rpc.OpenStream[json.RawMessage, json.RawMessage](ctx, e.client, method, params)
	for item, err := range st.All() {
		if err != nil {
			pr.done()
			if errors.Is(err, context.Canceled) && e.ctx.Err() != nil {
				fmt.Fprintf(e.stderr, "nvmerpc: stopped waiting; the %s goes on on the drive ('nvmerpc wait %s' waits again)\n", what, dev)
				return errInterrupted
			}
			return err
		}
		if e.outputMode() == "jsonl" {
			fmt.Fprintf(e.stdout, "%s\n", item)
		}
		var it struct {
			Percent *float64 `json:"percent"`
		}
		if json.Unmarshal(item, &it) == nil && it.Percent != nil {
			pr.percent(*it.Percent)
		}
	}
	pr.done()
	res, err := st.Result()
	if err != nil {
		return err
	}
	return e.show(*res, nil)
}

func longVerbs() []*verb {
	return []*verb{
		{name: "format", args: "DEV", help: "Format NVM (destructive)",
			flags: func(fs *flag.FlagSet, p *pflags) {
				fs.StringVar(&p.nsid, "n", "", "namespace id (default: the namespace DEV names)")
				fs.StringVar(&p.nsid, "namespace-id", "", "namespace id")
				fs.StringVar(&p.lbaf, "l", "0", "LBA format index")
				fs.StringVar(&p.lbaf, "lbaf", "0", "LBA format index")
				fs.StringVar(&p.ses, "s", "", "secure erase: 0 none, 1 user data, 2 crypto")
				fs.StringVar(&p.ses, "ses", "", "secure erase setting")
				fs.BoolVar(&p.wait, "wait", false, "show progress until done")
			},
			run: func(e *env, p *pflags, pos []string) error {
				if err := needDev(pos, 1, "format DEV [--lbaf N] [--confirm SERIAL]"); err != nil {
					return err
				}
				params := map[string]any{"device": pos[0]}
				if err := errs(setInt(params, "nsid", p.nsid), setInt(params, "lbaf", p.lbaf), setInt(params, "ses", p.ses)); err != nil {
					return err
				}
				if err := e.confirmFor(pos[0], params, "every block of the namespace"); err != nil {
					return err
				}
				if p.wait {
					params["wait"] = true
					return e.waitStream("nvme.format", "format", pos[0], params)
				}
				raw, err := e.call("nvme.format", params)
				if err != nil {
					return err
				}
				return e.show(raw, nil)
			}},
		{name: "sanitize", args: "DEV -a ACTION", help: "Sanitize: block, overwrite, crypto, exit_failure (destructive)",
			flags: func(fs *flag.FlagSet, p *pflags) {
				fs.StringVar(&p.action, "a", "", "block, overwrite, crypto or exit_failure")
				fs.StringVar(&p.action, "sanact", "", "same as -a")
				fs.BoolVar(&p.wait, "wait", false, "show progress until done")
			},
			run: func(e *env, p *pflags, pos []string) error {
				if err := needDev(pos, 1, "sanitize DEV -a ACTION"); err != nil {
					return err
				}
				if p.action == "" {
					return usageErr("sanitize: -a ACTION is required (block, overwrite, crypto, exit_failure)")
				}
				params := map[string]any{"device": pos[0], "action": p.action}
				if err := e.confirmFor(pos[0], params, "all user data on every namespace of the controller"); err != nil {
					return err
				}
				if p.wait {
					params["wait"] = true
					return e.waitStream("nvme.sanitize", "sanitize", pos[0], params)
				}
				raw, err := e.call("nvme.sanitize", params)
				if err != nil {
					return err
				}
				return e.show(raw, nil)
			}},
		{name: "self-test", args: "DEV -s short|extended|abort", help: "Device Self-test",
			flags: func(fs *flag.FlagSet, p *pflags) {
				fs.StringVar(&p.action, "s", "short", "short, extended or abort")
				fs.StringVar(&p.action, "self-test-code", "short", "same as -s")
				fs.StringVar(&p.nsid, "n", "", "namespace id")
				fs.BoolVar(&p.wait, "wait", false, "show progress until done")
			},
			run: func(e *env, p *pflags, pos []string) error {
				if err := needDev(pos, 1, "self-test DEV -s short|extended|abort"); err != nil {
					return err
				}
				params := map[string]any{"device": pos[0], "action": p.action}
				if err := setInt(params, "nsid", p.nsid); err != nil {
					return err
				}
				if p.wait {
					params["wait"] = true
					return e.waitStream("nvme.self_test", "self-test", pos[0], params)
				}
				raw, err := e.call("nvme.self_test", params)
				if err != nil {
					return err
				}
				return e.show(raw, nil)
			}},
		{name: "wait", args: "DEV", help: "Wait for a running sanitize or self-test, with progress",
			run: func(e *env, p *pflags, pos []string) error {
				if err := needDev(pos, 1, "wait DEV"); err != nil {
					return err
				}
				return e.waitOperation(pos[0])
			}},
		{name: "fw-download", args: "DEV -f FILE", help: "Firmware Image Download",
			flags: func(fs *flag.FlagSet, p *pflags) {
				fs.StringVar(&p.file, "f", "", "firmware image file")
				fs.StringVar(&p.file, "fw", "", "same as -f")
				fs.StringVar(&p.xfer, "x", "", "bytes per call, a multiple of the FWUG granularity (default: the whole image, 256 KiB pieces when showing progress)")
				fs.StringVar(&p.xfer, "xfer", "", "same as -x")
			},
			run: func(e *env, p *pflags, pos []string) error {
				if err := needDev(pos, 1, "fw-download DEV -f FILE"); err != nil {
					return err
				}
				if p.file == "" {
					return usageErr("fw-download: -f FILE is required")
				}
				pr := e.progress("fw-download")
				xfer := 1 << 30
				if pr.on() {
					xfer = 256 << 10
				}
				if p.xfer != "" {
					v, err := strconv.Atoi(p.xfer)
					if err != nil || v <= 0 || v%4 != 0 {
						return usageErr("--xfer: %q is not a positive multiple of 4", p.xfer)
					}
					xfer = v
				}
				chunks, total, err := readImage(p.file, xfer)
				if err != nil {
					return err
				}
				var raw json.RawMessage
				off := 0
				for _, c := range chunks {
					raw, err = e.call("nvme.fw_download", map[string]any{"device": pos[0], "image": c, "offset": off})
					if err != nil {
						pr.done()
						return err
					}
					off += len(c) / 4 * 3
					if strings.HasSuffix(c, "==") {
						off -= 2
					} else if strings.HasSuffix(c, "=") {
						off--
					}
					pr.line(fmt.Sprintf("%d of %d bytes sent", off, total))
				}
				pr.done()
				return e.show(raw, nil)
			}},
		{name: "fw-commit", args: "DEV -s SLOT -a ACTION", help: "Firmware Commit (destructive)",
			flags: func(fs *flag.FlagSet, p *pflags) {
				fs.StringVar(&p.slot, "s", "", "firmware slot")
				fs.StringVar(&p.slot, "slot", "", "firmware slot")
				fs.StringVar(&p.action, "a", "", "replace, replace_activate, activate, replace_activate_immediate (or 0-3)")
				fs.StringVar(&p.action, "action", "", "same as -a")
			},
			run: func(e *env, p *pflags, pos []string) error {
				if err := needDev(pos, 1, "fw-commit DEV -s SLOT -a ACTION"); err != nil {
					return err
				}
				if p.slot == "" || p.action == "" {
					return usageErr("fw-commit: -s SLOT and -a ACTION are required")
				}
				params := map[string]any{"device": pos[0]}
				if err := setInt(params, "slot", p.slot); err != nil {
					return err
				}
				if v, err := strconv.Atoi(p.action); err == nil {
					params["action"] = v
				} else {
					params["action"] = p.action
				}
				if err := e.confirmFor(pos[0], params, "the firmware in slot "+p.slot); err != nil {
					return err
				}
				raw, err := e.call("nvme.fw_commit", params)
				if err != nil {
					return err
				}
				return e.show(raw, nil)
			}},
		{name: "zns report-zones", args: "DEV", help: "Zone Management Receive: report zones",
			flags: func(fs *flag.FlagSet, p *pflags) {
				fs.StringVar(&p.slba, "s", "", "first zone's start LBA")
				fs.StringVar(&p.slba, "start-lba", "", "same as -s")
				fs.StringVar(&p.state, "S", "", "only zones in this state (empty, implicitly_open, explicitly_open, closed, full, read_only, offline)")
				fs.StringVar(&p.state, "state", "", "same as -S")
				fs.StringVar(&p.limit, "d", "", "at most this many zones")
				fs.StringVar(&p.limit, "descs", "", "same as -d")
				fs.BoolVar(&p.extended, "e", false, "extended report")
			},
			run: runReportZones},
	}
}

func runReportZones(e *env, p *pflags, pos []string) error {
	if err := needDev(pos, 1, "zns report-zones DEV"); err != nil {
		return err
	}
	params := map[string]any{"device": pos[0]}
	if err := errs(setInt(params, "slba", p.slba), setInt(params, "limit", p.limit)); err != nil {
		return err
	}
	if p.state != "" {
		params["state"] = p.state
	}
	if p.extended {
		params["extended"] = true
	}
	mode := e.outputMode()
	if mode == "json" { // the daemon's result exactly: one answer, not a stream
		raw, err := e.call("nvme.zns.report_zones", params)
		if err != nil {
			return err
		}
		return e.show(raw, nil)
	}
	if mode != "table" && mode != "jsonl" {
		return usageErr("-o %s: one of table, json, jsonl", mode)
	}
	if e.dryRun {
		params["stream"] = true
		return e.printDry("nvme.zns.report_zones", params)
	}
	if err := e.connect(); err != nil {
		return err
	}
	ctx, cancel := e.callCtx()
	defer cancel()
	pr := e.progress("report-zones")
	t := &table{cols: []string{"SLBA", "WP", "CAP", "STATE", "TYPE", "ATTRS"}}
	n := 0
	st := rpc.OpenStream[json.RawMessage, rpc.NvmeZnsReportZonesResult](ctx, e.client, "nvme.zns.report_zones", params)
	for item, err := range st.All() {
		if err != nil {
			pr.done()
			if errors.Is(err, context.Canceled) && e.ctx.Err() != nil {
				return errInterrupted
			}
			return err
		}
		n++
		if n%1000 == 0 {
			pr.line(fmt.Sprintf("%d zones so far", n))
		}
		if mode == "jsonl" {
			fmt.Fprintf(e.stdout, "%s\n", item)
			continue
		}
		var z rpc.ZoneDescriptor
		if err := json.Unmarshal(item, &z); err != nil {
			return err
		}
		wp := fmt.Sprintf("%#x", uint64(z.Wp))
		if z.Wp.IsAllOnes() {
			wp = "-"
		}
		t.add(fmt.Sprintf("%#x", uint64(z.Slba)), wp, fmt.Sprintf("%#x", uint64(z.Cap)), z.State, z.Type, fmt.Sprintf("%#x", z.Attrs))
	}
	pr.done()
	if _, err := st.Result(); err != nil {
		return err
	}
	if mode == "table" {
		return t.write(e.stdout, e.noHeaders, e.columns)
	}
	return nil
}

func zoneVerb(action string) *verb {
	return &verb{name: "zns " + action, args: "DEV -s SLBA | -a", help: "Zone Management Send: " + action + " a zone (or all)",
		flags: func(fs *flag.FlagSet, p *pflags) {
			fs.StringVar(&p.slba, "s", "", "the zone's start LBA")
			fs.StringVar(&p.slba, "start-lba", "", "same as -s")
			fs.BoolVar(&p.all, "a", false, "every zone")
			fs.BoolVar(&p.all, "select-all", false, "same as -a")
		},
		run: func(e *env, p *pflags, pos []string) error {
			if err := needDev(pos, 1, "zns "+action+" DEV -s SLBA | -a"); err != nil {
				return err
			}
			if (p.slba == "") == !p.all {
				return usageErr("zns %s: give either -s SLBA or -a", action)
			}
			params := map[string]any{"device": pos[0], "action": action}
			if err := setInt(params, "slba", p.slba); err != nil {
				return err
			}
			if p.all {
				params["all"] = true
			}
			if isDestructive("zns " + action) {
				if err := e.confirmFor(pos[0], params, "the data of the zone(s)"); err != nil {
					return err
				}
			}
			raw, err := e.call("nvme.zns.mgmt_send", params)
			if err != nil {
				return err
			}
			return e.show(raw, nil)
		}}
}

func otherVerbs() []*verb {
	return []*verb{
		zoneVerb("open"), zoneVerb("close"), zoneVerb("finish"), zoneVerb("reset"),
		{name: "mi endpoints", help: "NVMe-MI endpoints the daemon knows",
			run: func(e *env, p *pflags, pos []string) error {
				raw, err := e.call("mi.endpoints", nil)
				if err != nil {
					return err
				}
				return e.show(raw, func(r json.RawMessage) *table {
					var l struct{ Endpoints []json.RawMessage }
					_ = json.Unmarshal(r, &l)
					return rowsTable(l.Endpoints, []string{"name", "net", "eid", "state", "source", "controllers"})
				})
			}},
		{name: "mi health", args: "DEV", help: "NVMe-MI Subsystem Health Status Poll",
			run: func(e *env, p *pflags, pos []string) error {
				if err := needDev(pos, 1, "mi health DEV"); err != nil {
					return err
				}
				raw, err := e.call("mi.health_status_poll", map[string]any{"device": pos[0]})
				if err != nil {
					return err
				}
				return e.show(raw, smartTable)
			}},
		{name: "methods", help: "The daemon's methods (rpc.discover)",
			run: func(e *env, p *pflags, pos []string) error {
				raw, err := e.call("rpc.discover", nil)
				if err != nil {
					return err
				}
				return e.show(raw, func(r json.RawMessage) *table {
					var d struct {
						Methods []struct {
							Name      string `json:"name"`
							Class     string `json:"x-class"`
							Streaming bool   `json:"x-streaming"`
							Summary   string `json:"summary"`
						}
					}
					_ = json.Unmarshal(r, &d)
					t := &table{cols: []string{"METHOD", "CLASS", "STREAMING", "SUMMARY"}}
					for _, m := range d.Methods {
						s := m.Summary
						if i := strings.IndexAny(s, ".:("); i > 0 {
							s = s[:i]
						}
						t.add(m.Name, m.Class, map[bool]string{true: "yes", false: "no"}[m.Streaming], s)
					}
					return t
				})
			}},
		{name: "call", args: "METHOD [KEY=VALUE...]", help: "Call any method; values are JSON, or strings when not JSON",
			run: func(e *env, p *pflags, pos []string) error {
				if len(pos) < 1 {
					return usageErr("usage: nvmerpc call METHOD [KEY=VALUE...]")
				}
				var params map[string]any
				for _, kvs := range pos[1:] {
					k, v, ok := strings.Cut(kvs, "=")
					if !ok || k == "" {
						return usageErr("call: %q is not KEY=VALUE", kvs)
					}
					if params == nil {
						params = map[string]any{}
					}
					var j any
					dec := json.NewDecoder(strings.NewReader(v))
					dec.UseNumber()
					if dec.Decode(&j) == nil && !dec.More() {
						params[k] = j
					} else {
						params[k] = v
					}
				}
				raw, err := e.call(pos[0], params)
				if err != nil {
					return err
				}
				return e.show(raw, nil)
			}},
		{name: "completion", args: "bash", help: "Print the bash completion script",
			run: func(e *env, p *pflags, pos []string) error {
				if len(pos) != 1 || pos[0] != "bash" {
					return usageErr("usage: nvmerpc completion bash")
				}
				return bashCompletion(e.stdout)
			}},
	}
}

// waitOperation polls the Sanitize Status and Device Self-test logs until
// neither operation runs.
func (e *env) waitOperation(dev string) error {
	if err := e.connect(); err != nil {
		return err
	}
	var pr *progress
	for {
		ctx, cancel := e.callCtx()
		san, err := e.client.NvmeSanitizeLog(ctx, rpc.NvmeSanitizeLogParams{Device: dev})
		var st *rpc.SelfTestLog
		if err == nil {
			st, err = e.client.NvmeSelfTestLog(ctx, rpc.NvmeSelfTestLogParams{Device: dev})
		}
		cancel()
		if err != nil {
			if pr != nil {
				pr.done()
			}
			if e.ctx.Err() != nil {
				fmt.Fprintf(e.stderr, "nvmerpc: stopped waiting; the operation goes on on the drive\n")
				return errInterrupted
			}
			return err
		}
		switch {
		case san.Status == "in_progress":
			if pr == nil || pr.what != "sanitize" {
				pr = e.progress("sanitize")
			}
			pr.percent(float64(san.Sprog) * 100 / 65536)
		case st.CurrentOperation != 0:
			if pr == nil || pr.what != "self-test" {
				pr = e.progress("self-test")
			}
			pr.percent(float64(st.Completion))
		default:
			if pr != nil {
				pr.done()
			}
			fmt.Fprintf(e.stdout, "%s: no sanitize or self-test in progress\n", dev)
			return nil
		}
		select {
		case <-e.ctx.Done():
			pr.done()
			fmt.Fprintf(e.stderr, "nvmerpc: stopped waiting; the operation goes on on the drive\n")
			return errInterrupted
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func bashCompletion(w io.Writer) error {
	var top []string
	sub := map[string][]string{}
	for _, v := range verbs {
		if a, b, ok := strings.Cut(v.name, " "); ok {
			if len(sub[a]) == 0 {
				top = append(top, a)
			}
			sub[a] = append(sub[a], b)
		} else {
			top = append(top, v.name)
		}
	}
	fmt.Fprintf(w, `# bash completion for nvmerpc (generated by: nvmerpc completion bash)
_nvmerpc() {
    local cur=${COMP_WORDS[COMP_CWORD]} verb=${COMP_WORDS[1]}
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=($(compgen -W %q -- "$cur")); return
    fi
    case "$verb" in
`, strings.Join(top, " ")+" help")
	for _, a := range []string{"zns", "mi"} {
		fmt.Fprintf(w, "    %s) if [ \"$COMP_CWORD\" -eq 2 ]; then COMPREPLY=($(compgen -W %q -- \"$cur\")); return; fi ;;\n", a, strings.Join(sub[a], " "))
	}
	fmt.Fprintf(w, `    esac
    case "$cur" in
        -*) COMPREPLY=($(compgen -W "--socket --ssh --timeout -o --output --no-headers --columns --quiet --dry-run --confirm --wait --help" -- "$cur")) ;;
        *) local devs; devs=$(nvmerpc list -o json 2>/dev/null | grep -o '"name":"[^"]*"' | cut -d'"' -f4)
           COMPREPLY=($(compgen -W "$devs" -- "$cur")) ;;
    esac
}
complete -F _nvmerpc nvmerpc
`)
	return nil
}
