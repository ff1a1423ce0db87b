package rpc

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
)

// U64 is a 64-bit unsigned NVMe field. On the wire it is a signed JSON
// integer: values up to 2^63-1 as they are, all ones (a full zone's write
// pointer, "no limit") as -1 and any other value above 2^63-1 as its two's
// complement. U64 holds the unsigned bits: -1 decodes to 0xFFFFFFFFFFFFFFFF.
type U64 uint64

// AllOnes is the value the daemon sends as -1.
const AllOnes U64 = 1<<64 - 1

// UnmarshalJSON accepts the signed wire form (and, leniently, an unsigned one).
func (u *U64) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		*u = U64(uint64(v))
		return nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("rpc: U64: %q is not a 64-bit integer", s)
	}
	*u = U64(v)
	return nil
}

// MarshalJSON writes the signed wire form the daemon accepts.
func (u U64) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, int64(u), 10), nil
}

// IsAllOnes reports whether u is all ones (-1 on the wire).
func (u U64) IsAllOnes() bool { return u == AllOnes }

// U128 is a 128-bit NVMe counter, kept as the daemon's decimal string (JSON
// numbers lose precision above 2^53).
type U128 string

// UnmarshalJSON accepts the decimal string (and, leniently, a JSON integer).
func (u *U128) UnmarshalJSON(b []byte) error {
	var s string
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	} else {
		s = string(b)
	}
	if _, ok := new(big.Int).SetString(s, 10); !ok || s == "" || s[0] == '-' || s[0] == '+' {
		return fmt.Errorf("rpc: U128: %q is not a decimal counter", s)
	}
	*u = U128(s)
	return nil
}

// Big returns the counter as a *big.Int (0 for an empty U128).
func (u U128) Big() *big.Int {
	v, ok := new(big.Int).SetString(string(u), 10)
	if !ok {
		return new(big.Int)
	}
	return v
}

// String returns the decimal string.
func (u U128) String() string { return string(u) }

// Ptr returns a pointer to v: for the optional fields of params structs,
// rpc.NvmeZnsReportZonesParams{Device: "sim0n2", Limit: rpc.Ptr[int64](4)}.
func Ptr[T any](v T) *T { return &v }
