package pgpipe

import (
	"slices"
	"testing"
)

// TestColumnsSlicesAreTheCallers keeps the names of one query, changes
// and appends to those of the next: neither sees the other's changes,
// though both come from one slab.
func TestColumnsSlicesAreTheCallers(t *testing.T) {
	var r rows
	r.res.cols = []column{{name: "a"}, {name: "b"}}
	first := r.Columns()
	r.res.cols = []column{{name: "c"}, {name: "d"}}
	second := r.Columns()
	second[0] = "changed"
	_ = append(first, "appended")
	if !slices.Equal(first, []string{"a", "b"}) || !slices.Equal(second, []string{"changed", "d"}) {
		t.Fatalf("first %q, second %q", first, second)
	}
	r.res.cols = nil
	if names := r.Columns(); names == nil || len(names) != 0 {
		t.Fatalf("no columns: %#v, want an empty slice", names)
	}
}

// TestColumnsAllocatesOncePerSlab: database/sql calls Columns for every
// query.
func TestColumnsAllocatesOncePerSlab(t *testing.T) {
	var r rows
	r.res.cols = []column{{name: "a"}, {name: "b"}}
	if allocs := testing.AllocsPerRun(1000, func() { r.Columns() }); allocs > 0.1 {
		t.Fatalf("%.2f allocations per call", allocs)
	}
}
