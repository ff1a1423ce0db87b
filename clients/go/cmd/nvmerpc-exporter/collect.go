package main

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"nvmerpc.dev/client/rpc"
)

// Identify Controller bits the exporter consults before reading anything
// optional: a read the controller does not support would add an entry to its
// Error Information log on every poll.
const (
	oacsSelfTest = 1 << 4 // OACS bit 4: Device Self-test
	fidTempThres = 0x04   // Temperature Threshold (mandatory)
	thselUnder   = 1 << 20
	pollParallel = 8 // controllers read at once (each has its own FIFO in the daemon)
)

// Controller is what one poll learnt of one controller. A piece whose read
// failed is nil: its series are dropped, the controller's others stay.
type Controller struct {
	Name, Serial, Model, Firmware, Backend, Transport, Address string

	Smart      *rpc.SmartLog
	SmartErr   error
	OverTemp   *int64 // Kelvin, Temperature Threshold feature (composite)
	UnderTemp  *int64
	WarnTemp   int64 // Identify WCTEMP, Kelvin (0: not reported)
	CritTemp   int64 // Identify CCTEMP
	SelfTest   *selfTest
	MiHealth   *miHealth // NVMe-MI health poll, for controllers reached over MI
	Namespaces []Namespace
}

// miHealth is the NVM Subsystem Health Data Structure (NVMe-MI 1.2) of the
// controller's subsystem, as mi.health_status_poll decodes it.
type miHealth struct {
	Nss, Sw, Pdlu, Ccs int64
	Ctemp              *int64 // Celsius; nil: no reading (80h) or a sensor failure
}

// Namespace sizes in bytes, as nvme.list reports them.
type Namespace struct {
	Name                  string
	Nsid                  int64
	Size, Capacity, Usage float64
}

type selfTest struct {
	InProgress bool
	LastResult int64 // the newest result's code (0: completed without error); -1: none
}

// View is the cached state a scrape renders: never built during a scrape.
type View struct {
	DaemonUp     bool
	DaemonErr    string
	Controllers  []*Controller
	PollDuration time.Duration
	PollTime     time.Time
	Stats        *daemonStats
}

// ident is what Identify Controller says once per controller (by serial):
// the capabilities the polls consult.
type ident struct {
	oacs, lpa      int64
	wctemp, cctemp int64
}

// Collector polls the daemon at an interval and keeps the last View.
type Collector struct {
	Socket string
	dial   func(ctx context.Context, path string) (*rpc.Client, error)

	mu     sync.RWMutex
	view   *View
	client *rpc.Client
	idents map[string]ident // by serial number
}

// NewCollector returns a collector for the daemon at socket.
func NewCollector(socket string) *Collector {
	return &Collector{Socket: socket, dial: rpc.Dial, idents: map[string]ident{}, view: &View{}}
}

// View returns the last poll's view (never nil).
func (c *Collector) View() *View {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.view
}

// Run polls every interval until ctx ends. A poll the daemon does not
// finish within max(interval, 30s) fails: the view says the daemon is down.
func (c *Collector) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	limit := max(interval, 30*time.Second)
	for {
		pctx, cancel := context.WithTimeout(ctx, limit)
		c.Poll(pctx)
		cancel()
		select {
		case <-ctx.Done():
			if c.client != nil {
				c.client.Close()
			}
			return
		case <-t.C:
		}
	}
}

// connect returns the open client, dialling when there is none or the last
// one ended.
func (c *Collector) connect(ctx context.Context) (*rpc.Client, error) {
	if c.client != nil {
		select {
		case <-c.client.Done():
			c.client = nil
		default:
			return c.client, nil
		}
	}
	cl, err := c.dial(ctx, c.Socket)
	if err != nil {
		return nil, err
	}
	c.client = cl
	return cl, nil
}

// Poll reads everything once and replaces the view. Not concurrent with itself.
func (c *Collector) Poll(ctx context.Context) {
	start := time.Now()
	v := &View{PollTime: start}
	cl, err := c.connect(ctx)
	if err == nil {
		err = c.pollAll(ctx, cl, v)
	}
	if err != nil {
		v.DaemonErr = err.Error()
		if c.client != nil {
			c.client.Close()
			c.client = nil
		}
	} else {
		v.DaemonUp = true
	}
	v.PollDuration = time.Since(start)
	c.mu.Lock()
	c.view = v
	c.mu.Unlock()
}

func (c *Collector) pollAll(ctx context.Context, cl *rpc.Client, v *View) error {
	topo, err := cl.NvmeList(ctx)
	if err != nil {
		return err
	}
	v.Stats, err = readStats(ctx, cl)
	if err != nil {
		return err
	}
	for _, sub := range topo.Subsystems {
		for _, ctrl := range sub.Controllers {
			v.Controllers = append(v.Controllers, newController(sub, ctrl))
		}
	}
	sem := make(chan struct{}, pollParallel)
	var wg sync.WaitGroup
	for _, ctrl := range v.Controllers {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			c.pollController(ctx, cl, ctrl)
			<-sem
		}()
	}
	wg.Wait()
	return nil
}

func newController(sub rpc.TopologySubsystemsItem, ctrl rpc.TopologySubsystemsItemControllersItem) *Controller {
	out := &Controller{Name: ctrl.Name, Serial: ctrl.Sn, Model: ctrl.Mn, Firmware: ctrl.Fr,
		Backend: ctrl.Backend, Transport: ctrl.Transport, Address: ctrl.Address}
	for _, ns := range sub.Namespaces {
		if !contains(ns.Controllers, ctrl.Name) {
			continue
		}
		bs := float64(ns.LbaSize)
		out.Namespaces = append(out.Namespaces, Namespace{Name: ns.Name, Nsid: ns.Nsid,
			Size: float64(uint64(ns.Nsze)) * bs, Capacity: float64(uint64(ns.Ncap)) * bs,
			Usage: float64(uint64(ns.Nuse)) * bs})
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// identOf returns the controller's capabilities, read once per serial.
func (c *Collector) identOf(ctx context.Context, cl *rpc.Client, ctrl *Controller) (ident, error) {
	c.mu.RLock()
	id, ok := c.idents[ctrl.Serial]
	c.mu.RUnlock()
	if ok {
		return id, nil
	}
	r, err := cl.NvmeIdCtrl(ctx, rpc.NvmeIdCtrlParams{Device: ctrl.Name})
	if err != nil {
		return ident{}, err
	}
	id = ident{oacs: r.Oacs, lpa: r.Lpa, wctemp: r.Wctemp, cctemp: r.Cctemp}
	c.mu.Lock()
	c.idents[ctrl.Serial] = id
	c.mu.Unlock()
	return id, nil
}

// pollController reads one controller: the SMART / Health log (mandatory),
// the composite temperature thresholds (mandatory feature), and the self-test
// log only when OACS says the controller has Device Self-test.
func (c *Collector) pollController(ctx context.Context, cl *rpc.Client, ctrl *Controller) {
	id, err := c.identOf(ctx, cl, ctrl)
	if err != nil {
		ctrl.SmartErr = err
		return
	}
	ctrl.WarnTemp, ctrl.CritTemp = id.wctemp, id.cctemp
	ctrl.Smart, ctrl.SmartErr = cl.NvmeSmartLog(ctx, rpc.NvmeSmartLogParams{Device: ctrl.Name})
	if ctrl.SmartErr != nil {
		return // the device does not answer: its other reads would fail too
	}
	ctrl.OverTemp = readThreshold(ctx, cl, ctrl.Name, 0)
	ctrl.UnderTemp = readThreshold(ctx, cl, ctrl.Name, thselUnder)
	if id.oacs&oacsSelfTest != 0 {
		ctrl.SelfTest = readSelfTest(ctx, cl, ctrl.Name)
	}
	if ctrl.Backend == "mi" {
		ctrl.MiHealth = readMiHealth(ctx, cl, ctrl.Name)
	}
}

// readMiHealth sends the NVM Subsystem Health Status Poll without clearing
// anything (a read: the change flags stay for the BMC's own software).
func readMiHealth(ctx context.Context, cl *rpc.Client, dev string) *miHealth {
	r, err := cl.MiHealthStatusPoll(ctx, rpc.MiHealthStatusPollParams{Device: dev})
	if err != nil {
		return nil
	}
	h := &miHealth{Nss: r.Nss, Sw: r.Sw, Pdlu: r.Pdlu, Ccs: r.Ccs}
	var c *int64
	if json.Unmarshal(r.Ctemp, &c) == nil {
		h.Ctemp = c
	}
	return h
}

func readThreshold(ctx context.Context, cl *rpc.Client, dev string, cdw11 int64) *int64 {
	f, err := cl.NvmeGetFeature(ctx, rpc.NvmeGetFeatureParams{Device: dev, Fid: fidTempThres, Cdw11: &cdw11})
	if err != nil {
		return nil
	}
	k := f.Value & 0xffff
	return &k
}

func readSelfTest(ctx context.Context, cl *rpc.Client, dev string) *selfTest {
	raw, err := cl.Call(ctx, "nvme.self_test_log", map[string]any{"device": dev})
	if err != nil {
		return nil
	}
	var log struct {
		CurrentOperation int64 `json:"current_operation"`
		Results          []struct {
			Result int64 `json:"result"`
		} `json:"results"`
	}
	if json.Unmarshal(raw, &log) != nil {
		return nil
	}
	st := &selfTest{InProgress: log.CurrentOperation != 0, LastResult: -1}
	if len(log.Results) > 0 && log.Results[0].Result != 0xf { // Fh: entry not used
		st.LastResult = log.Results[0].Result
	}
	return st
}

// daemonStats is what server.stats says, for the daemon's own metrics (read
// class: the unprivileged exporter gets them).
type daemonStats struct {
	Connections int64
	InFlight    int64
	Methods     map[string]methodStats
	Queues      map[string]int64
}

type methodStats struct {
	Ok, Errors int64     // answered with a result; error answers (refusals included)
	Bounds     []float64 // histogram upper bounds, seconds; nil: no histogram
	Buckets    []int64   // cumulative counts per bound, then every call (+Inf)
	SumSeconds float64
}

func readStats(ctx context.Context, cl *rpc.Client) (*daemonStats, error) {
	raw, err := cl.Call(ctx, "server.stats", nil)
	if err != nil {
		return nil, err
	}
	var s struct {
		Scope       string `json:"scope"`
		Connections *int64 `json:"connections"`
		InFlight    int64  `json:"in_flight"`
		Methods     map[string]struct {
			Calls    int64  `json:"calls"`
			Errors   int64  `json:"errors"`
			Ok       *int64 `json:"ok"`
			Duration *struct {
				Buckets  []int64 `json:"buckets"`
				BoundsUs []int64 `json:"bounds_us"`
				SumUs    int64   `json:"sum_us"`
			} `json:"duration"`
		} `json:"methods"`
		Queues map[string]int64 `json:"queues"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	if s.Scope != "server" {
		return nil, nil // only its own connection's counters: nothing to say of the daemon
	}
	out := &daemonStats{InFlight: s.InFlight, Methods: map[string]methodStats{}, Queues: s.Queues}
	if s.Connections != nil {
		out.Connections = *s.Connections
	}
	for name, m := range s.Methods {
		ms := methodStats{Ok: m.Calls - m.Errors, Errors: m.Errors}
		if m.Ok != nil {
			ms.Ok = *m.Ok
		}
		if d := m.Duration; d != nil && len(d.Buckets) == len(d.BoundsUs)+1 {
			ms.Buckets = d.Buckets
			for _, us := range d.BoundsUs {
				ms.Bounds = append(ms.Bounds, float64(us)/1e6)
			}
			ms.SumSeconds = float64(d.SumUs) / 1e6
		}
		out.Methods[name] = ms
	}
	return out, nil
}
