package cache

import (
	"strconv"
	"strings"
	"testing"
)

// run executes sql once and returns the plan.
func run(m *Manager[int], sql string) Plan {
	p, e := m.Lookup(sql, Auto)
	if p == PrepareNamed {
		e.Ready = true
	}
	return p
}

func TestThresholdEdges(t *testing.T) {
	for _, tc := range []struct {
		threshold int
		want      []Plan // plans of executions 1, 2, ...
	}{
		{0, []Plan{PrepareNamed, UseNamed, UseNamed}},
		{1, []Plan{Unnamed, PrepareNamed, UseNamed}},
		{5, []Plan{Unnamed, Unnamed, Unnamed, Unnamed, Unnamed, PrepareNamed, UseNamed}},
		{-1, []Plan{Unnamed, Unnamed, Unnamed, Unnamed, Unnamed, Unnamed, Unnamed, Unnamed}},
	} {
		m := New[int](tc.threshold, 10)
		for i, want := range tc.want {
			if got := run(m, "SELECT 1"); got != want {
				t.Errorf("threshold %d: execution %d: plan %d, want %d", tc.threshold, i+1, got, want)
			}
		}
	}
}

func TestForceOverridesThresholdButNotNone(t *testing.T) {
	m := New[int](5, 10)
	if p, _ := m.Lookup("q", Always); p != PrepareNamed {
		t.Fatalf("Always on first execution: plan %d, want PrepareNamed", p)
	}
	if p, _ := m.Lookup("other", Never); p != Unnamed {
		t.Fatalf("Never: plan %d, want Unnamed", p)
	}
	none := New[int](-1, 10)
	if p, _ := none.Lookup("q", Always); p != Unnamed {
		t.Fatalf("Always with threshold none: plan %d, want Unnamed", p)
	}
}

func TestNeverDoesNotCount(t *testing.T) {
	m := New[int](2, 10)
	for range 5 {
		m.Lookup("q", Never)
	}
	if got := run(m, "q"); got != Unnamed {
		t.Fatalf("first counted execution after Never ones: plan %d, want Unnamed", got)
	}
}

func TestLRUEvictsLeastRecentlyUsedAndQueuesClose(t *testing.T) {
	m := New[int](0, 3)
	names := map[string]string{}
	for _, q := range []string{"a", "b", "c"} {
		_, e := m.Lookup(q, Auto)
		names[q] = e.Name
	}
	m.Lookup("a", Auto) // a is now the most recent; b the least
	m.Lookup("d", Auto)
	if got := m.Closing(); len(got) != 1 || got[0] != names["b"] {
		t.Fatalf("closing %v, want [%s] (b's name)", got, names["b"])
	}
	m.ClearClosing()
	if p, _ := m.Lookup("b", Auto); p != PrepareNamed {
		t.Fatalf("b after eviction: plan %d, want PrepareNamed", p)
	}
	if s := m.Stats(); s.Prepared != 3 || s.Evictions != 2 {
		t.Fatalf("stats %+v, want 3 prepared, 2 evictions", s)
	}
}

func TestManyDistinctQueriesStayWithinBound(t *testing.T) {
	m := New[int](0, 10)
	for i := range 1000 {
		for range 7 {
			run(m, "SELECT "+strconv.Itoa(i))
		}
		m.ClearClosing()
	}
	if s := m.Stats(); s.Prepared != 10 {
		t.Fatalf("prepared %d, want 10", s.Prepared)
	}
}

func TestCountersAreBounded(t *testing.T) {
	m := New[int](5, 10)
	for i := range 100_000 {
		m.Lookup("SELECT "+strconv.Itoa(i), Auto)
	}
	if n := len(m.counts) + len(m.oldCounts); n > 2*m.countLimit {
		t.Fatalf("%d counters kept, bound %d", n, 2*m.countLimit)
	}
}

func TestCountSurvivesOneGenerationChange(t *testing.T) {
	m := New[int](3, 10)
	for range 3 {
		m.Lookup("hot", Auto)
	}
	for i := range m.countLimit { // push "hot" into the old generation
		m.Lookup("cold "+strconv.Itoa(i), Auto)
	}
	if p, _ := m.Lookup("hot", Auto); p != PrepareNamed {
		t.Fatalf("4th execution of hot after a generation change: plan %d, want PrepareNamed", p)
	}
}

func TestNamesAreUniqueAndWithinNamedatalen(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		m := New[int](0, 10)
		for range 100 {
			n := m.NewName()
			if seen[n] {
				t.Fatalf("name %s returned twice", n)
			}
			seen[n] = true
			if len(n) > 63 || !strings.HasPrefix(n, "pgpipe_") {
				t.Fatalf("bad name %q", n)
			}
		}
	}
}

func TestDropForgetsAndQueuesCloseOnlyWhenItMayExist(t *testing.T) {
	m := New[int](0, 10)
	_, a := m.Lookup("a", Auto)
	_, b := m.Lookup("b", Auto)
	m.Drop(a, false)
	m.Drop(b, true)
	if got := m.Closing(); len(got) != 1 || got[0] != b.Name {
		t.Fatalf("closing %v, want only %s", got, b.Name)
	}
	if p, e := m.Lookup("a", Auto); p != PrepareNamed || e.Name == a.Name {
		t.Fatalf("after Drop: plan %d name %s; want a fresh PrepareNamed", p, e.Name)
	}
}

func TestResetAndDisable(t *testing.T) {
	m := New[int](0, 10)
	run(m, "a")
	m.Reset()
	if len(m.Closing()) != 0 || m.Stats().Prepared != 0 {
		t.Fatalf("Reset: closing %v, prepared %d", m.Closing(), m.Stats().Prepared)
	}
	run(m, "b")
	m.Disable()
	if len(m.Closing()) != 1 {
		t.Fatalf("Disable: closing %v, want b's name", m.Closing())
	}
	if p, _ := m.Lookup("c", Always); p != Unnamed || !m.Disabled() {
		t.Fatalf("after Disable: plan %d", p)
	}
}

func TestLearnedDataIsBoundedAndForgottenWithStatements(t *testing.T) {
	m := New[int](5, 10)
	m.Learn("q", 7)
	if d, ok := m.Learned("q"); !ok || d != 7 {
		t.Fatalf("Learned(q) = %d, %v; want 7, true", d, ok)
	}
	for i := range 3 * m.countLimit {
		m.Learn(strconv.Itoa(i), i)
	}
	if n := len(m.learned) + len(m.oldLearned); n > 2*m.countLimit {
		t.Fatalf("%d learned entries kept, bound %d", n, 2*m.countLimit)
	}
	m.Learn("q", 8)
	m.Forget("q")
	if _, ok := m.Learned("q"); ok {
		t.Fatal("Forget kept the entry")
	}
	m.Learn("q", 9)
	m.Invalidate()
	if _, ok := m.Learned("q"); ok {
		t.Fatal("Invalidate (a changed search_path) kept learned data")
	}
	m.Learn("q", 9)
	m.Reset()
	if _, ok := m.Learned("q"); ok {
		t.Fatal("Reset kept learned data")
	}
}
