// Package rpc is the Go client of nvmerpcd: JSON-RPC 2.0 over a Unix socket
// or a command's stdin and stdout (ssh host nvmerpcd --stdio), one JSON text
// per line. One Client carries many concurrent calls, matched by id, and is
// safe for use by many goroutines. The typed methods (one per schema method)
// are generated into methods_gen.go by tools/gen_go_client.py.
package rpc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"time"
)

// DefaultSocket is where the daemon listens unless told otherwise.
const DefaultSocket = "/run/nvmerpcd.sock"

// Client is one connection to the daemon.
type Client struct {
	r       io.Reader
	w       io.Writer
	closeFn func() error

	wmu sync.Mutex // one line written at a time

	mu      sync.Mutex
	pending map[int64]*Call
	nextID  int64
	err     error         // why the connection ended, once done is closed
	done    chan struct{} // closed when the reader stops
	closing bool
	once    sync.Once
}

// Call is one request in flight (see Client.Go).
type Call struct {
	ID     int64
	Method string
	resp   chan response // buffered, receives the final answer once
	stream *streamQueue  // non-nil for streamed calls
}

type response struct {
	result json.RawMessage
	err    *Error
}

type streamQueue struct {
	mu     sync.Mutex
	items  []json.RawMessage
	notify chan struct{} // cap 1: items were added
}

// Dial connects to the daemon's Unix socket (DefaultSocket when path is "").
func Dial(ctx context.Context, path string) (*Client, error) {
	if path == "" {
		path = DefaultSocket
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, err
	}
	return NewClient(conn, conn, conn.Close), nil
}

// DialStdio runs a command that speaks the protocol on its stdin and stdout,
// e.g. DialStdio(ctx, "ssh", "host", "nvmerpcd", "--stdio"). Its stderr goes
// to this process's stderr. Close ends its input and waits for it.
func DialStdio(ctx context.Context, name string, args ...string) (*Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	return NewStdio(cmd)
}

// NewStdio starts cmd (not yet started, Stdin and Stdout unset) and talks to
// it over its stdin and stdout.
func NewStdio(cmd *exec.Cmd) (*Client, error) {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	var c *Client
	closeFn := func() error {
		stdin.Close()
		select { // the command exits once it answered everything
		case <-c.done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-c.done
		}
		werr := cmd.Wait()
		var ee *exec.ExitError
		if errors.As(werr, &ee) {
			return fmt.Errorf("rpc: %s: %w", cmd.Path, werr)
		}
		return werr
	}
	c = NewClient(stdout, stdin, closeFn)
	return c, nil
}

// NewClient runs the protocol over any reader and writer; closeFn (may be
// nil) is called by Close and must make reads on r end.
func NewClient(r io.Reader, w io.Writer, closeFn func() error) *Client {
	c := &Client{r: r, w: w, closeFn: closeFn, pending: map[int64]*Call{}, done: make(chan struct{})}
	go c.readLoop()
	return c
}

// Close closes the connection; calls in flight return ErrClosed.
func (c *Client) Close() error {
	var err error
	c.once.Do(func() {
		c.mu.Lock()
		c.closing = true
		c.mu.Unlock()
		if c.closeFn != nil {
			err = c.closeFn()
		}
	})
	return err
}

// Done is closed when the connection has ended (Err says why).
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is why the connection ended (wraps ErrClosed), or nil while it is up.
func (c *Client) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

type wireMsg struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *Error          `json:"error"`
}

type streamParams struct {
	ID    int64             `json:"id"`
	Seq   int64             `json:"seq"`
	Items []json.RawMessage `json:"items"`
}

func (c *Client) readLoop() {
	br := bufio.NewReaderSize(c.r, 64<<10)
	var rerr error
	for {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			c.dispatch(line)
		}
		if err != nil {
			rerr = err
			break
		}
	}
	c.mu.Lock()
	if c.closing || rerr == io.EOF {
		c.err = ErrClosed
	} else {
		c.err = fmt.Errorf("%w: %v", ErrClosed, rerr)
	}
	c.pending = map[int64]*Call{}
	c.mu.Unlock()
	close(c.done)
}

func (c *Client) dispatch(line []byte) {
	line = bytes.TrimSpace(line)
	if line[0] == '[' { // a batch answer: the client sends none, but accept it
		var msgs []json.RawMessage
		if json.Unmarshal(line, &msgs) == nil {
			for _, m := range msgs {
				c.dispatch(m)
			}
		}
		return
	}
	var m wireMsg
	if json.Unmarshal(line, &m) != nil {
		return
	}
	if m.Method != "" {
		if m.Method != "rpc.stream" {
			return
		}
		var p streamParams
		if json.Unmarshal(m.Params, &p) != nil {
			return
		}
		c.mu.Lock()
		call := c.pending[p.ID]
		c.mu.Unlock()
		if call == nil || call.stream == nil {
			return
		}
		q := call.stream
		q.mu.Lock()
		q.items = append(q.items, p.Items...)
		q.mu.Unlock()
		select {
		case q.notify <- struct{}{}:
		default:
		}
		return
	}
	var id int64
	if json.Unmarshal(m.ID, &id) != nil {
		return // id null: an answer to no call of ours
	}
	c.mu.Lock()
	call := c.pending[id]
	delete(c.pending, id)
	c.mu.Unlock()
	if call == nil || call.resp == nil {
		return // abandoned (cancelled) or a fire-and-forget rpc.cancel
	}
	r := response{result: m.Result, err: m.Error}
	if m.Error == nil && m.Result == nil {
		r.result = json.RawMessage("null")
	}
	call.resp <- r
}

func (c *Client) send(method string, params any, stream bool, wantAnswer bool) (*Call, error) {
	var praw []byte
	if params != nil {
		var err error
		if praw, err = json.Marshal(params); err != nil {
			return nil, fmt.Errorf("rpc: %s params: %w", method, err)
		}
		if bytes.Equal(praw, []byte("null")) {
			praw = nil
		}
	}
	if stream {
		switch {
		case praw == nil || bytes.Equal(praw, []byte("{}")):
			praw = []byte(`{"stream":true}`)
		case praw[0] == '{':
			praw = append(praw[:len(praw)-1:len(praw)-1], []byte(`,"stream":true}`)...)
		default:
			return nil, fmt.Errorf("rpc: %s: a stream needs object params", method)
		}
	}
	call := &Call{Method: method}
	if wantAnswer {
		call.resp = make(chan response, 1)
	}
	if stream {
		call.stream = &streamQueue{notify: make(chan struct{}, 1)}
	}
	c.mu.Lock()
	select {
	case <-c.done:
		c.mu.Unlock()
		return nil, c.err
	default:
	}
	c.nextID++
	call.ID = c.nextID
	c.pending[call.ID] = call
	c.mu.Unlock()

	var b bytes.Buffer
	b.WriteString(`{"jsonrpc":"2.0","id":`)
	fmt.Fprint(&b, call.ID)
	b.WriteString(`,"method":`)
	m, _ := json.Marshal(method)
	b.Write(m)
	if praw != nil {
		b.WriteString(`,"params":`)
		b.Write(praw)
	}
	b.WriteString("}\n")
	c.wmu.Lock()
	_, err := c.w.Write(b.Bytes())
	c.wmu.Unlock()
	if err != nil {
		c.forget(call.ID)
		return nil, fmt.Errorf("%w: %v", ErrClosed, err)
	}
	return call, nil
}

func (c *Client) forget(id int64) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

// cancelRemote abandons the call here and sends rpc.cancel for it; the
// daemon's answers to both are dropped.
func (c *Client) cancelRemote(id int64) {
	c.forget(id)
	_, _ = c.send("rpc.cancel", map[string]int64{"id": id}, false, false)
}

// Go sends a request and returns without waiting; Wait collects the answer.
func (c *Client) Go(method string, params any) (*Call, error) {
	return c.send(method, params, false, true)
}

// Wait waits for the call's answer. When ctx ends first the call is
// cancelled on the server (rpc.cancel) and ctx.Err() is returned.
func (c *Client) Wait(ctx context.Context, call *Call) (json.RawMessage, error) {
	select {
	case r := <-call.resp:
		return r.unpack()
	default:
	}
	select {
	case r := <-call.resp:
		return r.unpack()
	case <-ctx.Done():
		c.cancelRemote(call.ID)
		return nil, ctx.Err()
	case <-c.done:
		select { // answered just before the end
		case r := <-call.resp:
			return r.unpack()
		default:
			return nil, c.err
		}
	}
}

func (r response) unpack() (json.RawMessage, error) {
	if r.err != nil {
		return nil, r.err
	}
	return r.result, nil
}

// Call calls method with params (a struct or map, or nil) and returns the
// result as the daemon sent it. Errors: *Error for an error answer,
// ctx.Err() when ctx ended (the call is cancelled on the server), ErrClosed.
func (c *Client) Call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	call, err := c.Go(method, params)
	if err != nil {
		return nil, err
	}
	return c.Wait(ctx, call)
}

// CallInto is Call decoding the result into out.
func (c *Client) CallInto(ctx context.Context, method string, params any, out any) error {
	raw, err := c.Call(ctx, method, params)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("rpc: %s result: %w", method, err)
	}
	return nil
}
