package main

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"nvmerpc.dev/client/rpc"
)

// listTable is nvme list's table: one row per namespace.
func listTable(raw json.RawMessage) *table {
	var topo rpc.Topology
	_ = json.Unmarshal(raw, &topo)
	t := &table{cols: []string{"Node", "Generic", "SN", "Model", "Namespace", "Usage", "Format", "FW Rev"}}
	for _, s := range topo.Subsystems {
		ctrl := map[string]rpc.TopologySubsystemsItemControllersItem{}
		for _, c := range s.Controllers {
			ctrl[c.Name] = c
		}
		for _, n := range s.Namespaces {
			c := ctrl[n.Controllers[0]]
			lba := float64(n.LbaSize)
			generic := ""
			if n.Generic != nil {
				generic = *n.Generic
			}
			t.add(n.Name, generic, c.Sn, c.Mn, fmt.Sprintf("%#x", n.Nsid),
				fmt.Sprintf("%s / %s", si(float64(n.Nuse)*lba), si(float64(n.Nsze)*lba)),
				fmt.Sprintf("%d B + 0 B", n.LbaSize), c.Fr)
		}
	}
	return t
}

// smartTable is the SMART log as FIELD/VALUE, temperatures in °C (the
// daemon sends Kelvin, as the log does) and data units in bytes.
func smartTable(raw json.RawMessage) *table {
	return kvTable(raw, func(key, val string) string {
		if key == "temperature" || strings.HasPrefix(key, "temperature_sensor_") || key == "ctemp" {
			if k, err := strconv.ParseInt(val, 10, 64); err == nil && k > 0 {
				return fmt.Sprintf("%d °C (%d K)", k-273, k)
			}
		}
		if key == "data_units_read" || key == "data_units_written" {
			u := rpc.U128(val).Big()
			f, _ := new(big.Float).SetInt(u).Float64()
			return fmt.Sprintf("%s (%s)", val, si(f*512000))
		}
		if key == "avail_spare" || key == "spare_thresh" || key == "percent_used" {
			return val + " %"
		}
		return val
	})
}
