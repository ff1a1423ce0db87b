package rpc

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
)

// Stream is a streamed call: All ranges over the items of its rpc.stream
// notifications as they arrive, Result gives the final summary. Items are
// queued without bound while the caller is not reading, so other calls on
// the connection never wait for a slow loop.
type Stream[I, S any] struct {
	c      *Client
	ctx    context.Context
	call   *Call
	method string

	started  bool
	finished bool
	summary  *S
	err      error
}

// OpenStream sends method with params plus "stream": true.
func OpenStream[I, S any](ctx context.Context, c *Client, method string, params any) *Stream[I, S] {
	s := &Stream[I, S]{c: c, ctx: ctx, method: method}
	if err := ctx.Err(); err != nil {
		s.finish(nil, err)
		return s
	}
	call, err := c.send(method, params, true, true)
	if err != nil {
		s.finish(nil, err)
		return s
	}
	s.call = call
	return s
}

// ID is the request id of the stream (0 when it could not be sent).
func (s *Stream[I, S]) ID() int64 {
	if s.call == nil {
		return 0
	}
	return s.call.ID
}

func (s *Stream[I, S]) finish(sum *S, err error) {
	s.finished, s.summary, s.err = true, sum, err
}

// stop cancels the stream on the server and ends it here with err.
func (s *Stream[I, S]) stop(err error) {
	if !s.finished {
		s.c.cancelRemote(s.call.ID)
		s.finish(nil, err)
	}
}

func (s *Stream[I, S]) take() []json.RawMessage {
	q := s.call.stream
	q.mu.Lock()
	items := q.items
	q.items = nil
	q.mu.Unlock()
	return items
}

// All ranges over the streamed items; it can be ranged over once. A final
// error answer, ctx ending or the connection ending is yielded as the last
// (zero item, error) pair. Breaking out of the loop sends rpc.cancel for the
// stream; Result then gives ErrStreamStopped.
func (s *Stream[I, S]) All() iter.Seq2[I, error] {
	return func(yield func(I, error) bool) {
		var zero I
		if s.started {
			if !s.finished {
				yield(zero, fmt.Errorf("rpc: %s: All ranged over twice", s.method))
			}
			return
		}
		s.started = true
		if s.finished {
			if s.err != nil {
				yield(zero, s.err)
			}
			return
		}
		var final *response
		for {
			for _, raw := range s.take() {
				var it I
				if err := json.Unmarshal(raw, &it); err != nil {
					s.stop(fmt.Errorf("rpc: %s item: %w", s.method, err))
					yield(zero, s.err)
					return
				}
				if !yield(it, nil) {
					s.stop(ErrStreamStopped)
					return
				}
			}
			if final != nil {
				s.settle(*final)
				if s.err != nil {
					yield(zero, s.err)
				}
				return
			}
			select {
			case <-s.call.stream.notify:
			case r := <-s.call.resp:
				final = &r // drain what came before it, then settle
			case <-s.ctx.Done():
				s.stop(s.ctx.Err())
				yield(zero, s.err)
				return
			case <-s.c.done:
				select {
				case r := <-s.call.resp:
					final = &r
				default:
					s.finish(nil, s.c.err)
					for _, raw := range s.take() { // what arrived before the end
						var it I
						if json.Unmarshal(raw, &it) != nil || !yield(it, nil) {
							return
						}
					}
					yield(zero, s.err)
					return
				}
			}
		}
	}
}

func (s *Stream[I, S]) settle(r response) {
	raw, err := r.unpack()
	if err != nil {
		s.finish(nil, err)
		return
	}
	var sum S
	if err := json.Unmarshal(raw, &sum); err != nil {
		s.finish(nil, fmt.Errorf("rpc: %s result: %w", s.method, err))
		return
	}
	s.finish(&sum, nil)
}

// Result waits for the final answer (discarding items not ranged over) and
// returns the summary, or the error that ended the stream.
func (s *Stream[I, S]) Result() (*S, error) {
	if !s.started {
		for range s.All() {
		}
	}
	return s.summary, s.err
}
