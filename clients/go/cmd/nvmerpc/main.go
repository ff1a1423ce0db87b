// Command nvmerpc is an nvme-cli-like tool over nvmerpcd: the same verbs
// (list, id-ctrl, smart-log, format, sanitize, zns report-zones...) sent as
// JSON-RPC calls to the daemon's socket, or to `nvmerpcd --stdio` over ssh.
//
// Exit codes: 0 ok, 1 the daemon answered an error, 2 usage (and refusals),
// 3 no connection, 130 interrupted while waiting.
package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"nvmerpc.dev/client/rpc"
)

const (
	exitOK        = 0
	exitRPC       = 1
	exitUsage     = 2
	exitConn      = 3
	exitInterrupt = 130
)

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErr(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

type connError struct{ err error }

func (e *connError) Error() string { return e.err.Error() }
func (e *connError) Unwrap() error { return e.err }

var errInterrupted = errors.New("interrupted")

// env is what a verb runs with.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	stdinTTY       bool
	stdoutTTY      bool
	stderrTTY      bool

	socket, ssh string
	timeout     time.Duration
	output      string
	noHeaders   bool
	columns     string
	quiet       bool
	dryRun      bool
	confirm     string

	ctx    context.Context
	client *rpc.Client
}

// isTTY is isatty(3): a terminal answers TCGETS (/dev/null, a character
// device too, does not).
func isTTY(f *os.File) bool {
	var t syscall.Termios
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TCGETS, uintptr(unsafe.Pointer(&t)))
	return errno == 0
}

func main() {
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr,
		stdinTTY: isTTY(os.Stdin), stdoutTTY: isTTY(os.Stdout), stderrTTY: isTTY(os.Stderr)}
	os.Exit(run(e, os.Args[1:]))
}

func run(e *env, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	e.ctx = ctx
	err := dispatch(e, args)
	if e.client != nil {
		e.client.Close()
	}
	var ue *usageError
	var ce *connError
	var re *rpc.Error
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, errInterrupted):
		return exitInterrupt
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "nvmerpc: %s\nRun 'nvmerpc --help' for usage.\n", ue.msg)
		return exitUsage
	case errors.As(err, &re):
		fmt.Fprintf(e.stderr, "nvmerpc: %s\n", describe(re))
		return exitRPC
	case errors.As(err, &ce), errors.Is(err, rpc.ErrClosed):
		fmt.Fprintf(e.stderr, "nvmerpc: no connection: %v\n", err)
		return exitConn
	case errors.Is(err, context.DeadlineExceeded):
		fmt.Fprintf(e.stderr, "nvmerpc: timed out after %v\n", e.timeout)
		return exitRPC
	default:
		fmt.Fprintf(e.stderr, "nvmerpc: %v\n", err)
		return exitRPC
	}
}

// describe is the one line for a daemon error: name, message, field.
func describe(re *rpc.Error) string {
	s := re.Name() + ": " + re.Message
	if f := re.Field(); f != "" {
		s += " (field " + f + ")"
	}
	if r := re.DataString("reason"); r != "" && !strings.Contains(re.Message, r) {
		s += ": " + r
	}
	return s
}

// common flags, accepted before the verb and after it.
func (e *env) flags(fs *flag.FlagSet) {
	// The defaults are the values so far: flags before the verb carry over.
	if e.socket == "" {
		e.socket = envOr("NVMERPC_SOCKET", rpc.DefaultSocket)
	}
	fs.StringVar(&e.socket, "socket", e.socket, "daemon `socket` (also $NVMERPC_SOCKET)")
	fs.StringVar(&e.ssh, "ssh", e.ssh, "run nvmerpcd --stdio on `HOST` over ssh instead of the socket")
	fs.DurationVar(&e.timeout, "timeout", e.timeout, "give up after this long (e.g. 30s); 0: never")
	fs.StringVar(&e.output, "o", e.output, "`format`: table, json, jsonl (default table on a terminal, json otherwise)")
	fs.StringVar(&e.output, "output", e.output, "same as -o")
	fs.BoolVar(&e.noHeaders, "no-headers", e.noHeaders, "tables without the header line")
	fs.StringVar(&e.columns, "columns", e.columns, "comma-separated `columns` of a table, in that order")
	fs.BoolVar(&e.quiet, "quiet", e.quiet, "no progress output")
	fs.BoolVar(&e.dryRun, "dry-run", e.dryRun, "print the request that would be sent, send nothing")
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

// parse parses flags interleaved with positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageErr("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func (e *env) connect() error {
	if e.client != nil {
		return nil
	}
	var c *rpc.Client
	var err error
	if e.ssh != "" {
		c, err = rpc.DialStdio(e.ctx, "ssh", e.ssh, "nvmerpcd", "--stdio")
	} else {
		c, err = rpc.Dial(e.ctx, e.socket)
	}
	if err != nil {
		return &connError{err}
	}
	e.client = c
	return nil
}

func (e *env) callCtx() (context.Context, context.CancelFunc) {
	if e.timeout > 0 {
		return context.WithTimeout(e.ctx, e.timeout)
	}
	return context.WithCancel(e.ctx)
}

// call sends method with params, or prints it with --dry-run.
func (e *env) call(method string, params map[string]any) (json.RawMessage, error) {
	if e.dryRun {
		return nil, e.printDry(method, params)
	}
	if err := e.connect(); err != nil {
		return nil, err
	}
	ctx, cancel := e.callCtx()
	defer cancel()
	raw, err := e.client.Call(ctx, method, params)
	if err != nil && errors.Is(err, context.Canceled) && e.ctx.Err() != nil {
		fmt.Fprintln(e.stderr, "nvmerpc: interrupted")
		return nil, errInterrupted
	}
	return raw, err
}

func (e *env) printDry(method string, params map[string]any) error {
	req := map[string]any{"jsonrpc": "2.0", "id": 1, "method": method}
	if params != nil {
		req["params"] = params
	}
	b, _ := json.Marshal(req)
	fmt.Fprintf(e.stdout, "%s\n", b)
	return nil
}

func (e *env) outputMode() string {
	if e.output != "" {
		return e.output
	}
	if e.stdoutTTY {
		return "table"
	}
	return "json"
}

// show prints a result: exactly the daemon's JSON, or the verb's table.
func (e *env) show(raw json.RawMessage, tab func(json.RawMessage) *table) error {
	if e.dryRun {
		return nil
	}
	switch e.outputMode() {
	case "json", "jsonl":
		_, err := fmt.Fprintf(e.stdout, "%s\n", raw)
		return err
	case "table":
		if tab == nil {
			tab = func(r json.RawMessage) *table { return kvTable(r, nil) }
		}
		return tab(raw).write(e.stdout, e.noHeaders, e.columns)
	default:
		return usageErr("-o %s: one of table, json, jsonl", e.output)
	}
}

// ---- verbs ----

type verb struct {
	name, args, help string
	flags            func(fs *flag.FlagSet, p *pflags)
	run              func(e *env, p *pflags, pos []string) error
}

// pflags holds every verb's own options.
type pflags struct {
	nsid, fid, sel, value, nsze, ncap, flbas, blockSize, csi, ctrls  string
	lbaf, ses, action, slot, file, slba, state, limit, entries, xfer string
	save, wait, all, extended                                        bool
}

func intP(s string) (any, error) {
	v, err := strconv.ParseInt(s, 0, 64)
	if err != nil {
		return nil, usageErr("%q is not a number", s)
	}
	return v, nil
}

// setInt puts key: s into params when s is set.
func setInt(params map[string]any, key, s string) error {
	if s == "" {
		return nil
	}
	v, err := intP(s)
	if err != nil {
		return usageErr("--%s: %q is not a number", key, s)
	}
	params[key] = v
	return nil
}

func needDev(pos []string, n int, usage string) error {
	if len(pos) != n {
		return usageErr("usage: nvmerpc %s", usage)
	}
	return nil
}

var verbs []*verb

func init() {
	simple := func(name, method, help string, tab func(json.RawMessage) *table) *verb {
		return &verb{name: name, args: "DEV", help: help,
			run: func(e *env, p *pflags, pos []string) error {
				if err := needDev(pos, 1, name+" DEV"); err != nil {
					return err
				}
				params := map[string]any{"device": pos[0]}
				if err := setInt(params, "nsid", p.nsid); err != nil {
					return err
				}
				raw, err := e.call(method, params)
				if err != nil {
					return err
				}
				return e.show(raw, tab)
			}}
	}
	nsidFlag := func(fs *flag.FlagSet, p *pflags) {
		fs.StringVar(&p.nsid, "n", "", "namespace id")
		fs.StringVar(&p.nsid, "namespace-id", "", "namespace id")
	}
	v := simple("id-ctrl", "nvme.id_ctrl", "Identify Controller", nil)
	verbs = append(verbs, &verb{name: "list", help: "List the controllers' namespaces (nvme list)",
		run: func(e *env, p *pflags, pos []string) error {
			if len(pos) != 0 {
				return usageErr("usage: nvmerpc list")
			}
			raw, err := e.call("nvme.list", nil)
			if err != nil {
				return err
			}
			return e.show(raw, listTable)
		}}, v)
	v = simple("id-ns", "nvme.id_ns", "Identify Namespace (DEV a namespace, or a controller with -n)", nil)
	v.flags = nsidFlag
	verbs = append(verbs, v)
	v = simple("smart-log", "nvme.smart_log", "SMART / Health Information log", smartTable)
	v.flags = nsidFlag
	verbs = append(verbs, v)
	verbs = append(verbs, &verb{name: "error-log", args: "DEV", help: "Error Information log",
		flags: func(fs *flag.FlagSet, p *pflags) {
			fs.StringVar(&p.entries, "e", "", "number of entries")
			fs.StringVar(&p.entries, "log-entries", "", "number of entries")
		},
		run: func(e *env, p *pflags, pos []string) error {
			if err := needDev(pos, 1, "error-log DEV [-e N]"); err != nil {
				return err
			}
			params := map[string]any{"device": pos[0]}
			if err := setInt(params, "entries", p.entries); err != nil {
				return err
			}
			raw, err := e.call("nvme.error_log", params)
			if err != nil {
				return err
			}
			return e.show(raw, func(r json.RawMessage) *table {
				var l struct{ Errors []json.RawMessage }
				_ = json.Unmarshal(r, &l)
				return rowsTable(l.Errors, []string{"error_count", "sqid", "cmdid", "status_field", "parm_error_location", "lba", "nsid", "vs", "cs"})
			})
		}})
	verbs = append(verbs, simple("fw-log", "nvme.fw_log", "Firmware Slot Information log", nil))
	verbs = append(verbs, &verb{name: "get-feature", args: "DEV -f FID", help: "Get Features",
		flags: func(fs *flag.FlagSet, p *pflags) {
			fs.StringVar(&p.fid, "f", "", "feature id")
			fs.StringVar(&p.fid, "feature-id", "", "feature id")
			fs.StringVar(&p.sel, "s", "", "select: current, default, saved, supported")
			fs.StringVar(&p.sel, "sel", "", "select")
			nsidFlag(fs, p)
		},
		run: func(e *env, p *pflags, pos []string) error {
			if err := needDev(pos, 1, "get-feature DEV -f FID"); err != nil {
				return err
			}
			if p.fid == "" {
				return usageErr("get-feature: -f FID is required")
			}
			params := map[string]any{"device": pos[0]}
			if err := errs(setInt(params, "fid", p.fid), setInt(params, "nsid", p.nsid)); err != nil {
				return err
			}
			if p.sel != "" {
				params["sel"] = p.sel
			}
			raw, err := e.call("nvme.get_feature", params)
			if err != nil {
				return err
			}
			return e.show(raw, nil)
		}})
	verbs = append(verbs, &verb{name: "set-feature", args: "DEV -f FID -v VALUE", help: "Set Features",
		flags: func(fs *flag.FlagSet, p *pflags) {
			fs.StringVar(&p.fid, "f", "", "feature id")
			fs.StringVar(&p.fid, "feature-id", "", "feature id")
			fs.StringVar(&p.value, "v", "", "value (dword 11)")
			fs.StringVar(&p.value, "value", "", "value (dword 11)")
			fs.BoolVar(&p.save, "save", false, "make it persist across resets")
			nsidFlag(fs, p)
		},
		run: func(e *env, p *pflags, pos []string) error {
			if err := needDev(pos, 1, "set-feature DEV -f FID -v VALUE"); err != nil {
				return err
			}
			if p.fid == "" || p.value == "" {
				return usageErr("set-feature: -f FID and -v VALUE are required")
			}
			params := map[string]any{"device": pos[0]}
			if err := errs(setInt(params, "fid", p.fid), setInt(params, "value", p.value), setInt(params, "nsid", p.nsid)); err != nil {
				return err
			}
			if p.save {
				params["save"] = true
			}
			raw, err := e.call("nvme.set_feature", params)
			if err != nil {
				return err
			}
			return e.show(raw, nil)
		}})
	verbs = append(verbs, &verb{name: "create-ns", args: "DEV --nsze BLOCKS", help: "Namespace Management: create",
		flags: func(fs *flag.FlagSet, p *pflags) {
			fs.StringVar(&p.nsze, "nsze", "", "size in blocks")
			fs.StringVar(&p.ncap, "ncap", "", "capacity in blocks (default nsze)")
			fs.StringVar(&p.flbas, "flbas", "", "LBA format index")
			fs.StringVar(&p.blockSize, "block-size", "", "block size in bytes (instead of --flbas)")
			fs.StringVar(&p.csi, "csi", "", "command set: 0 NVM, 2 zoned")
		},
		run: func(e *env, p *pflags, pos []string) error {
			if err := needDev(pos, 1, "create-ns DEV --nsze BLOCKS"); err != nil {
				return err
			}
			if p.nsze == "" {
				return usageErr("create-ns: --nsze is required")
			}
			if p.flbas == "" && p.blockSize == "" {
				p.flbas = "0"
			}
			params := map[string]any{"device": pos[0]}
			if err := errs(setInt(params, "nsze", p.nsze), setInt(params, "ncap", p.ncap), setInt(params, "flbas", p.flbas),
				setInt(params, "lba_size", p.blockSize), setInt(params, "csi", p.csi)); err != nil {
				return err
			}
			raw, err := e.call("nvme.ns_create", params)
			if err != nil {
				return err
			}
			return e.show(raw, nil)
		}})
	nsVerb := func(name, method, help string, destructive bool) *verb {
		return &verb{name: name, args: "DEV -n NSID", help: help,
			flags: func(fs *flag.FlagSet, p *pflags) {
				nsidFlag(fs, p)
				fs.StringVar(&p.ctrls, "c", "", "controller ids, comma-separated")
				fs.StringVar(&p.ctrls, "controllers", "", "controller ids, comma-separated")
			},
			run: func(e *env, p *pflags, pos []string) error {
				if err := needDev(pos, 1, name+" DEV -n NSID"); err != nil {
					return err
				}
				if p.nsid == "" {
					return usageErr("%s: -n NSID is required", name)
				}
				params := map[string]any{"device": pos[0]}
				if err := setInt(params, "nsid", p.nsid); err != nil {
					return err
				}
				if p.ctrls != "" && method != "nvme.ns_delete" {
					var ids []int64
					for _, s := range strings.Split(p.ctrls, ",") {
						v, err := strconv.ParseInt(strings.TrimSpace(s), 0, 64)
						if err != nil {
							return usageErr("-c: %q is not a controller id", s)
						}
						ids = append(ids, v)
					}
					params["controllers"] = ids
				}
				if destructive {
					if err := e.confirmFor(pos[0], params, fmt.Sprintf("namespace %s and all its data", p.nsid)); err != nil {
						return err
					}
				}
				raw, err := e.call(method, params)
				if err != nil {
					return err
				}
				return e.show(raw, nil)
			}}
	}
	verbs = append(verbs, nsVerb("delete-ns", "nvme.ns_delete", "Namespace Management: delete (destructive)", true),
		nsVerb("attach-ns", "nvme.ns_attach", "Namespace Attachment: attach", false),
		nsVerb("detach-ns", "nvme.ns_detach", "Namespace Attachment: detach (destructive)", true))
	verbs = append(verbs, longVerbs()...)
	verbs = append(verbs, otherVerbs()...)
	verbs = append(verbs, watchVerbs()...)
	sort.Slice(verbs, func(i, j int) bool { return verbs[i].name < verbs[j].name })
}

func errs(list ...error) error {
	for _, err := range list {
		if err != nil {
			return err
		}
	}
	return nil
}

// confirmFor fills params.confirm: --confirm, or the serial typed at the
// prompt when stdin is a terminal; refuses otherwise.
func (e *env) confirmFor(dev string, params map[string]any, lost string) error {
	if e.confirm != "" {
		params["confirm"] = e.confirm
		return nil
	}
	if e.dryRun {
		params["confirm"] = "SERIAL"
		return nil
	}
	if !e.stdinTTY {
		return usageErr("refusing a destructive command without --confirm SERIAL (stdin is not a terminal)")
	}
	raw, err := e.call("nvme.list", nil)
	if err != nil {
		return err
	}
	var topo rpc.Topology
	if err := json.Unmarshal(raw, &topo); err != nil {
		return err
	}
	var model, serial string
	for _, s := range topo.Subsystems {
		for _, c := range s.Controllers {
			match := c.Name == dev || strings.TrimPrefix(dev, "/dev/") == c.Name
			for _, n := range c.Namespaces {
				match = match || n == strings.TrimPrefix(dev, "/dev/")
			}
			if match && serial == "" {
				model, serial = c.Mn, c.Sn
			}
		}
	}
	if serial == "" {
		return usageErr("%s: no such controller or namespace", dev)
	}
	fmt.Fprintf(e.stderr, "Device %s: model %q, serial %q.\nThis destroys %s.\nType the serial number to go on: ", dev, model, serial, lost)
	line, _ := bufio.NewReader(e.stdin).ReadString('\n')
	if strings.TrimSpace(line) != serial {
		fmt.Fprintln(e.stderr, "nvmerpc: the serial number does not match; nothing was sent")
		return usageErr("not confirmed")
	}
	params["confirm"] = serial
	return nil
}

func dispatch(e *env, args []string) error {
	fs := flag.NewFlagSet("nvmerpc", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	e.flags(fs)
	help := fs.Bool("help", false, "")
	fs.BoolVar(help, "h", false, "")
	if err := fs.Parse(args); err != nil {
		return usageErr("%v", err)
	}
	args = fs.Args()
	if *help || (len(args) > 0 && args[0] == "help" && len(args) == 1) {
		mainUsage(e.stdout)
		return nil
	}
	if len(args) == 0 {
		mainUsage(e.stderr)
		return usageErr("no command given")
	}
	name := args[0]
	args = args[1:]
	if (name == "zns" || name == "mi") && len(args) > 0 {
		name += " " + args[0]
		args = args[1:]
	}
	if name == "help" {
		name = strings.Join(args, " ")
		args = []string{"--help"}
	}
	var v *verb
	for _, c := range verbs {
		if c.name == name {
			v = c
		}
	}
	if v == nil {
		return usageErr("unknown command %q", name)
	}
	vfs := flag.NewFlagSet(v.name, flag.ContinueOnError)
	vfs.SetOutput(io.Discard)
	e.flags(vfs)
	p := &pflags{}
	if v.flags != nil {
		v.flags(vfs, p)
	}
	if isDestructive(v.name) {
		vfs.StringVar(&e.confirm, "confirm", "", "the controller's serial number (otherwise asked for on a terminal)")
	}
	pos, err := parse(vfs, args)
	if errors.Is(err, flag.ErrHelp) {
		verbUsage(e.stdout, v, vfs)
		return nil
	}
	if err != nil {
		return err
	}
	return v.run(e, p, pos)
}

func isDestructive(name string) bool {
	switch name {
	case "delete-ns", "detach-ns", "format", "sanitize", "fw-commit", "zns reset", "zns offline", "reset":
		return true
	}
	return false
}

func mainUsage(w io.Writer) {
	fmt.Fprintf(w, "usage: nvmerpc <command> [<device>] [<args>]\n\n")
	fmt.Fprintf(w, "The following are all implemented sub-commands, sent to nvmerpcd:\n")
	for _, v := range verbs {
		fmt.Fprintf(w, "  %-18s %s\n", v.name, v.help)
	}
	fmt.Fprintf(w, "  %-18s %s\n", "help", "Display this help")
	fmt.Fprintf(w, "\nSee 'nvmerpc help <command>' or 'nvmerpc <command> --help' for more information on a sub-command.\n")
	fmt.Fprintf(w, "\nOptions of every command:\n")
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	(&env{}).flags(fs)
	printFlags(w, fs)
	fmt.Fprintf(w, "\nExit status: 0 ok, 1 the daemon answered an error, 2 usage or refused, 3 no connection.\n")
}

func verbUsage(w io.Writer, v *verb, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: nvmerpc %s %s [OPTIONS]\n\n%s\n\nOptions:\n", v.name, v.args, v.help)
	printFlags(w, fs)
}

func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		dash := "--"
		if len(f.Name) == 1 {
			dash = "-"
		}
		name, usage := flag.UnquoteUsage(f)
		arg := ""
		if name != "" {
			arg = " <" + strings.ToUpper(name) + ">"
		}
		fmt.Fprintf(w, "  %-26s %s\n", dash+f.Name+arg, usage)
	})
}

// readImage reads a firmware file as base64 chunks of at most xfer bytes
// (a multiple of 4, as the command needs).
func readImage(path string, xfer int) ([]string, int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, usageErr("%v", err)
	}
	if len(data)%4 != 0 {
		return nil, 0, usageErr("%s: %d bytes, not a multiple of 4", path, len(data))
	}
	var out []string
	for off := 0; off < len(data); off += xfer {
		end := min(off+xfer, len(data))
		out = append(out, base64.StdEncoding.EncodeToString(data[off:end]))
	}
	return out, len(data), nil
}
