package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// table is rows under fixed columns; printed aligned, --columns picks and
// orders columns, --no-headers drops the header line.
type table struct {
	cols []string
	rows [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(w io.Writer, noHeaders bool, columns string) error {
	idx := make([]int, 0, len(t.cols))
	if columns == "" {
		for i := range t.cols {
			idx = append(idx, i)
		}
	} else {
		for _, want := range strings.Split(columns, ",") {
			found := -1
			for i, c := range t.cols {
				if strings.EqualFold(c, strings.TrimSpace(want)) {
					found = i
				}
			}
			if found < 0 {
				return usageErr("unknown column %q (columns: %s)", want, strings.Join(t.cols, ","))
			}
			idx = append(idx, found)
		}
	}
	width := make([]int, len(idx))
	lines := [][]string{}
	if !noHeaders {
		h := []string{}
		for _, i := range idx {
			h = append(h, t.cols[i])
		}
		lines = append(lines, h)
	}
	for _, r := range t.rows {
		l := []string{}
		for _, i := range idx {
			cell := ""
			if i < len(r) {
				cell = r[i]
			}
			l = append(l, cell)
		}
		lines = append(lines, l)
	}
	for _, l := range lines {
		for j, c := range l {
			if n := utf8.RuneCountInString(c); n > width[j] {
				width[j] = n
			}
		}
	}
	for _, l := range lines {
		var b strings.Builder
		for j, c := range l {
			if j == len(l)-1 {
				b.WriteString(c)
			} else {
				b.WriteString(c + strings.Repeat(" ", width[j]-utf8.RuneCountInString(c)+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	return nil
}

// kv is one field of an object, in the daemon's order.
type kv struct {
	key string
	val json.RawMessage
}

// fields decodes an object keeping its key order.
func fields(raw json.RawMessage) ([]kv, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if d, ok := tok.(json.Delim); err != nil || !ok || d != '{' {
		return nil, false
	}
	var out []kv
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, false
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		out = append(out, kv{k.(string), v})
	}
	return out, true
}

// scalar shows a JSON value in a cell: strings bare, numbers as sent, small
// arrays and objects compact.
func scalar(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	var b bytes.Buffer
	if json.Compact(&b, v) == nil {
		return b.String()
	}
	return string(v)
}

// flatten gives FIELD/VALUE rows for an object, nested keys joined by dots;
// a decorate function may rewrite a value (units).
func flatten(t *table, prefix string, raw json.RawMessage, decorate func(key, val string) string) {
	if fs, ok := fields(raw); ok {
		for _, f := range fs {
			flatten(t, prefix+f.key+".", f.val, decorate)
		}
		return
	}
	var arr []json.RawMessage
	if json.Unmarshal(raw, &arr) == nil && len(arr) > 0 {
		if _, isObj := fields(arr[0]); isObj {
			for i, el := range arr {
				flatten(t, fmt.Sprintf("%s%d.", prefix, i), el, decorate)
			}
			return
		}
	}
	key := strings.TrimSuffix(prefix, ".")
	val := scalar(raw)
	if decorate != nil {
		val = decorate(key, val)
	}
	t.add(key, val)
}

func kvTable(raw json.RawMessage, decorate func(key, val string) string) *table {
	t := &table{cols: []string{"FIELD", "VALUE"}}
	flatten(t, "", raw, decorate)
	return t
}

// rowsTable makes one row per element of an array of objects, with cols
// (JSON keys) as columns, headers upper-cased.
func rowsTable(arr []json.RawMessage, cols []string) *table {
	t := &table{}
	for _, c := range cols {
		t.cols = append(t.cols, strings.ToUpper(c))
	}
	for _, el := range arr {
		m := map[string]json.RawMessage{}
		_ = json.Unmarshal(el, &m)
		row := []string{}
		for _, c := range cols {
			if v, ok := m[c]; ok {
				row = append(row, scalar(v))
			} else {
				row = append(row, "")
			}
		}
		t.add(row...)
	}
	return t
}

// si gives bytes in decimal units, as nvme list does ("1.07 GB").
func si(b float64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB", "EB"}
	i := 0
	for b >= 1000 && i < len(units)-1 {
		b /= 1000
		i++
	}
	return fmt.Sprintf("%.2f %s", b, units[i])
}

// iec gives bytes in binary units ("1.00 GiB").
func iec(b float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	i := 0
	for b >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	return fmt.Sprintf("%.2f %s", b, units[i])
}
