package rpc

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Error is a JSON-RPC error answer of the daemon. Data holds error.data as
// sent (it always carries "name"). errors.Is(err, ErrDeviceNotFound) and the
// other sentinels match by code; errors.As gives *NvmeStatusError for -32004
// and *MiStatusError for -32005.
type Error struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// Name is data.name, or the schema's name for the code.
func (e *Error) Name() string {
	if n := e.DataString("name"); n != "" {
		return n
	}
	if n, ok := errorNames[e.Code]; ok {
		return n
	}
	return "RpcError"
}

// DataMap decodes data as an object (nil when it is not one).
func (e *Error) DataMap() map[string]any {
	var m map[string]any
	if len(e.Data) == 0 || json.Unmarshal(e.Data, &m) != nil {
		return nil
	}
	return m
}

// DataString returns data[key] when it is a string.
func (e *Error) DataString(key string) string {
	s, _ := e.DataMap()[key].(string)
	return s
}

// Field is data.field: the JSON path of the offending parameter (InvalidParams).
func (e *Error) Field() string { return e.DataString("field") }

// Error gives one line: name, message, then the field and reason or status.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%d): %s", e.Name(), e.Code, e.Message)
	m := e.DataMap()
	for _, k := range []string{"field", "reason", "status", "limit", "class", "param", "errno_name"} {
		if v, ok := m[k]; ok {
			fmt.Fprintf(&b, "; %s: %v", k, v)
		}
	}
	return b.String()
}

// Is matches the sentinels (ErrDeviceNotFound...) by code.
func (e *Error) Is(target error) bool {
	var s *Sentinel
	return errors.As(target, &s) && s.Code == e.Code
}

// Unwrap gives the typed details of NvmeStatus and MiStatus errors.
func (e *Error) Unwrap() error {
	switch e.Code {
	case ErrNvmeStatus.Code:
		d := &NvmeStatusError{}
		if json.Unmarshal(e.Data, d) == nil {
			return d
		}
	case ErrMiStatus.Code:
		d := &MiStatusError{}
		if json.Unmarshal(e.Data, d) == nil {
			return d
		}
	}
	return nil
}

// Sentinel is an error value for errors.Is: one per code of the schema
// (ErrDeviceNotFound, ErrPermissionDenied, ErrConfirmationRequired...).
type Sentinel struct {
	Code int
	Name string
}

func (s *Sentinel) Error() string { return fmt.Sprintf("%s (%d)", s.Name, s.Code) }

// NvmeStatusError is the data of a -32004 NvmeStatus error: the completion's
// Status Code Type, Status Code, Do Not Retry, More, Command Retry Delay, the
// raw status field and the status name (e.g. "INVALID_FIELD").
type NvmeStatusError struct {
	SCT    int    `json:"sct"`
	SC     int    `json:"sc"`
	DNR    bool   `json:"dnr"`
	More   bool   `json:"more"`
	CRD    int    `json:"crd"`
	Raw    int    `json:"raw"`
	Status string `json:"status"`
}

func (e *NvmeStatusError) Error() string {
	return fmt.Sprintf("NVMe status %s (sct %#x sc %#x dnr %t)", e.Status, e.SCT, e.SC, e.DNR)
}

// MiStatusError is the data of a -32005 MiStatus error: the NVMe-MI response
// status and its name.
type MiStatusError struct {
	MIStatus int    `json:"mi_status"`
	Status   string `json:"status"`
}

func (e *MiStatusError) Error() string {
	return fmt.Sprintf("NVMe-MI status %s (%#x)", e.Status, e.MIStatus)
}

// ErrClosed is returned by calls on a connection that was closed or lost;
// errors.Is(err, ErrClosed) holds for the wrapped reason.
var ErrClosed = errors.New("rpc: connection closed")

// ErrStreamStopped is Result's error after the loop over All broke early
// (the stream was cancelled on the server).
var ErrStreamStopped = errors.New("rpc: stream stopped before its end")
