// Package cache decides which statements a connection prepares on the
// server: it counts executions per query, says when a query crossed the
// prepare threshold, keeps at most a fixed number of prepared statements in
// least-recently-used order, and hands back the names of the statements to
// close. It does no I/O: the connection core writes the Parse and Close
// messages and reports back what the server answered.
//
// A Manager belongs to one connection and is used by one goroutine at a time.
package cache

import (
	"crypto/rand"
	"encoding/base32"
	"strconv"
)

// Plan says how to run one execution of a query.
type Plan uint8

const (
	// Unnamed: Parse into the unnamed statement, Bind, Execute.
	Unnamed Plan = iota
	// UseNamed: Bind the entry's named statement (already prepared, or
	// prepared earlier in the same pipeline).
	UseNamed
	// PrepareNamed: Parse under the entry's new name, then Bind it, in the
	// same flight.
	PrepareNamed
)

// Force is a per-execution override of the threshold.
type Force int8

const (
	// Auto follows the threshold.
	Auto Force = iota
	// Always prepares at this execution (unless preparation is disabled on
	// the connection, which wins: it is the PgBouncer safety switch).
	Always
	// Never runs this execution unnamed and does not count it.
	Never
)

// Entry is one named statement. Data is the caller's (the core keeps the
// result columns there once the server has described them).
type Entry[T any] struct {
	SQL  string
	Name string
	// Ready reports that the server confirmed the Parse (ParseComplete).
	Ready bool
	Data  T

	prev, next *Entry[T]
}

// Stats are a connection's counters.
type Stats struct {
	Prepared   int    // statements prepared on the server now
	Hits       uint64 // executions that reused a prepared statement
	Prepares   uint64 // statements prepared (Parse with a name)
	Evictions  uint64 // statements closed to stay within the bound
	Recoveries uint64 // executions retried after the server lost a statement
}

// Manager is the per-connection statement manager.
type Manager[T any] struct {
	threshold int // executions before preparing; < 0 never
	max       int
	prefix    string
	seq       uint64
	disabled  bool

	prepared   map[string]*Entry[T]
	head, tail *Entry[T] // most recently used first

	// counts and oldCounts count executions of unprepared queries in two
	// generations: when counts reaches countLimit it becomes oldCounts and
	// the older generation is dropped, so memory stays bounded however
	// many distinct queries run.
	counts, oldCounts map[string]int
	countLimit        int

	closing []string
	stats   Stats

	// learned and oldLearned keep what the caller learned of queries that
	// are not prepared (their parameter types), in two generations
	// bounded like counts.
	learned, oldLearned map[string]T
}

// New returns a Manager. threshold < 0 disables automatic preparation; limit
// bounds the prepared statements (at least 1).
func New[T any](threshold, limit int) *Manager[T] {
	if limit < 1 {
		limit = 1
	}
	return &Manager[T]{
		threshold:  threshold,
		max:        limit,
		prefix:     newPrefix(),
		prepared:   make(map[string]*Entry[T]),
		counts:     make(map[string]int),
		countLimit: max(1024, 8*limit),
		learned:    make(map[string]T),
	}
}

// newPrefix returns "pgpipe_" and 13 random base32 characters: 64 random
// bits, so two connections a pooler maps onto one server session never
// share a name.
func newPrefix() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("pgpipe bug: crypto/rand failed: " + err.Error())
	}
	s := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])
	return "pgpipe_" + s + "_"
}

// NewName returns a statement name never returned before on this Manager
// (nor, with overwhelming probability, by any other). At most 42 bytes,
// within PostgreSQL's NAMEDATALEN.
func (m *Manager[T]) NewName() string {
	m.seq++
	return m.prefix + strconv.FormatUint(m.seq, 36)
}

// Lookup decides how to run one execution of sql. For UseNamed and
// PrepareNamed it returns the entry. For PrepareNamed the caller sets
// Ready when the server confirms the Parse, and Data when it knows the
// columns, or calls Drop when the Parse failed.
func (m *Manager[T]) Lookup(sql string, force Force) (Plan, *Entry[T]) {
	if force == Never {
		return Unnamed, nil
	}
	if e := m.prepared[sql]; e != nil {
		m.stats.Hits++
		m.touch(e)
		return UseNamed, e
	}
	if m.disabled || m.threshold < 0 {
		return Unnamed, nil
	}
	if force != Always {
		n := m.count(sql)
		if n < m.threshold {
			return Unnamed, nil
		}
	}
	delete(m.counts, sql)
	delete(m.oldCounts, sql)
	e := &Entry[T]{SQL: sql, Name: m.NewName()}
	m.prepared[sql] = e
	m.pushFront(e)
	m.stats.Prepares++
	for len(m.prepared) > m.max {
		m.evict(m.tail)
	}
	return PrepareNamed, e
}

// Peek returns the prepared entry of sql, or nil, without counting an
// execution or touching the LRU order.
func (m *Manager[T]) Peek(sql string) *Entry[T] { return m.prepared[sql] }

// count records one execution of an unprepared query and returns how many
// executions came before it.
func (m *Manager[T]) count(sql string) int {
	n, ok := m.counts[sql]
	if !ok {
		n = m.oldCounts[sql]
		if len(m.counts) >= m.countLimit {
			m.oldCounts, m.counts = m.counts, make(map[string]int, len(m.counts))
		}
	}
	m.counts[sql] = n + 1
	return n
}

// Drop forgets e after the server lost it (26000), refused it, or replied
// ambiguously. mayExist says the statement could still exist on the server
// (an ambiguous failure, or a plan the server invalidated): then a Close is
// queued for it. The name is never used again either way.
func (m *Manager[T]) Drop(e *Entry[T], mayExist bool) {
	if m.prepared[e.SQL] != e {
		return
	}
	m.unlink(e)
	delete(m.prepared, e.SQL)
	if mayExist {
		m.closing = append(m.closing, e.Name)
	}
}

// Learn keeps data the caller learned about sql (such as its parameter
// types, from a Describe of the unnamed statement) whether or not sql is
// ever prepared. At most about twice countLimit queries are remembered;
// the oldest generation is forgotten first.
func (m *Manager[T]) Learn(sql string, data T) {
	if _, ok := m.learned[sql]; !ok && len(m.learned) >= m.countLimit {
		m.oldLearned, m.learned = m.learned, make(map[string]T, len(m.learned))
	}
	m.learned[sql] = data
}

// Learned returns what Learn kept for sql.
func (m *Manager[T]) Learned(sql string) (T, bool) {
	if d, ok := m.learned[sql]; ok {
		return d, true
	}
	d, ok := m.oldLearned[sql]
	return d, ok
}

// Forget drops what Learn kept for sql (it proved wrong).
func (m *Manager[T]) Forget(sql string) {
	delete(m.learned, sql)
	delete(m.oldLearned, sql)
}

// Reset forgets every statement without closing any: the server dropped
// them all (DISCARD ALL, DEALLOCATE ALL). What Learn kept is forgotten too.
func (m *Manager[T]) Reset() {
	clear(m.learned)
	clear(m.oldLearned)
	clear(m.prepared)
	m.head, m.tail = nil, nil
	m.closing = m.closing[:0]
}

// Disable stops automatic preparation on this connection for good, after a
// pooler was seen losing statements. Known statements are queued for
// Close; Lookup returns Unnamed from now on.
func (m *Manager[T]) Disable() {
	m.disabled = true
	m.Invalidate()
	clear(m.counts)
	clear(m.oldCounts)
}

// Disabled reports whether Disable was called.
func (m *Manager[T]) Disabled() bool { return m.disabled }

// Closing returns the names of statements to close, oldest first. The
// caller writes a Close for each in front of its next command and then
// calls ClearClosing. The slice is valid until the next Manager call.
func (m *Manager[T]) Closing() []string { return m.closing }

// ClearClosing empties the list Closing returned.
func (m *Manager[T]) ClearClosing() { m.closing = m.closing[:0] }

// Recovered counts an execution retried after the server lost a statement.
func (m *Manager[T]) Recovered() { m.stats.Recoveries++ }

// Stats returns the counters.
func (m *Manager[T]) Stats() Stats {
	s := m.stats
	s.Prepared = len(m.prepared)
	return s
}

func (m *Manager[T]) evict(e *Entry[T]) {
	m.unlink(e)
	delete(m.prepared, e.SQL)
	m.closing = append(m.closing, e.Name)
	m.stats.Evictions++
}

func (m *Manager[T]) touch(e *Entry[T]) {
	if m.head == e {
		return
	}
	m.unlink(e)
	m.pushFront(e)
}

func (m *Manager[T]) pushFront(e *Entry[T]) {
	e.prev, e.next = nil, m.head
	if m.head != nil {
		m.head.prev = e
	}
	m.head = e
	if m.tail == nil {
		m.tail = e
	}
}

func (m *Manager[T]) unlink(e *Entry[T]) {
	if e.prev != nil {
		e.prev.next = e.next
	} else if m.head == e {
		m.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else if m.tail == e {
		m.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

// CloseLater queues a Close for a statement the cache does not manage (an
// explicitly prepared one), to go out with the next command.
func (m *Manager[T]) CloseLater(name string) { m.closing = append(m.closing, name) }

// Invalidate forgets every statement and queues a Close for each: they
// still exist on the server but may now resolve to other objects (a
// changed search_path). What Learn kept is forgotten too.
func (m *Manager[T]) Invalidate() {
	clear(m.learned)
	clear(m.oldLearned)
	for e := m.head; e != nil; e = e.next {
		m.closing = append(m.closing, e.Name)
	}
	clear(m.prepared)
	m.head, m.tail = nil, nil
}
