package codec

import (
	"database/sql/driver"
	"encoding/binary"
	"math"
	"strconv"
	"time"
	"unsafe"
)

// Boxer boxes row values without an allocation per value.
//
// database/sql receives each column as a driver.Value, an interface. Go
// stores an int64, a float64, a string header or a time.Time held in an
// interface in a heap object of its own: four allocations per row of
// (int8, text, float8, timestamptz), plus the string's bytes. A Boxer
// instead stores values in slabs of boxSlab slots and makes interfaces that
// point into them, one allocation per slab.
//
// This is sound because of how interfaces are laid out (a type word and a
// pointer to the value, for every type that is not pointer-shaped, which
// int64, float64, string and time.Time are not) and because a slab slot is
// written exactly once, before the interface pointing at it is handed out,
// and never again: the slot is as immutable as the object the compiler
// would have allocated. The garbage collector keeps a slab alive while any
// interface points into it; a value kept in an `any` keeps at most its
// slab (about 1.5 KiB) alive.
//
// The bytes of short strings (up to shortString bytes) are copied into
// blocks of strBlock bytes, the way the runtime's tiny allocator packs
// small objects, so a column of names or codes costs one allocation per
// block instead of one per value. The bytes are written once, before the
// string is handed out, and never again. A short string kept from one row
// keeps its block alive: at most strBlock bytes, which hold other values
// of the same result. Longer strings are allocated one by one.
//
// Each slab is used from its start by an index of its own: taking a slot
// writes no pointer into the Boxer, so it costs no write barrier while the
// garbage collector marks, as reslicing the slab after each value did.
type Boxer struct {
	ints   []int64
	floats []float64
	strs   []string
	times  []time.Time
	// The next free slot of each slab.
	nInt, nFloat, nStr, nTime int
	// strBytes is the block short strings' bytes are copied to; its
	// bytes from nStrBytes on are free.
	strBytes  []byte
	nStrBytes int
}

// boxSlab is the number of slots allocated at a time.
const boxSlab = 64

const (
	// strBlock is the size of the blocks short strings share.
	strBlock = 256
	// shortString is the longest string that shares a block: a block
	// then holds at least 8 of them, and wastes at most 31 bytes.
	shortString = 32
)

// eface is the layout of an empty interface.
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

// typeWord returns the type word of an interface holding a value of v's type.
func typeWord(v any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&v)).typ }

var (
	int64Word   = typeWord(int64(0))
	float64Word = typeWord(float64(0))
	stringWord  = typeWord("")
	timeWord    = typeWord(time.Time{})
)

// iface makes an interface of type typ whose value is *p.
func iface(typ, p unsafe.Pointer) (v driver.Value) {
	e := (*eface)(unsafe.Pointer(&v))
	e.typ, e.data = typ, p
	return v
}

func (b *Boxer) int64(v int64) driver.Value {
	if v >= 0 && v < 256 {
		return v // the runtime boxes these without allocating
	}
	if b.nInt == len(b.ints) {
		b.ints, b.nInt = make([]int64, boxSlab), 0
	}
	p := &b.ints[b.nInt]
	b.nInt++
	*p = v
	return iface(int64Word, unsafe.Pointer(p))
}

func (b *Boxer) float64(v float64) driver.Value {
	if b.nFloat == len(b.floats) {
		b.floats, b.nFloat = make([]float64, boxSlab), 0
	}
	p := &b.floats[b.nFloat]
	b.nFloat++
	*p = v
	return iface(float64Word, unsafe.Pointer(p))
}

func (b *Boxer) string(src []byte) driver.Value {
	if len(src) == 0 {
		return ""
	}
	if b.nStr == len(b.strs) {
		b.strs, b.nStr = make([]string, boxSlab), 0
	}
	p := &b.strs[b.nStr]
	b.nStr++
	*p = b.copyString(src)
	return iface(stringWord, unsafe.Pointer(p))
}

// copyString returns a string of src's bytes: in the current block when
// src is short, else allocated on its own. src is not empty.
func (b *Boxer) copyString(src []byte) string {
	if len(src) > shortString {
		return string(src)
	}
	if len(src) > len(b.strBytes)-b.nStrBytes {
		b.strBytes, b.nStrBytes = make([]byte, strBlock), 0
	}
	dst := b.strBytes[b.nStrBytes : b.nStrBytes+len(src)]
	b.nStrBytes += copy(dst, src)
	return unsafe.String(&dst[0], len(dst))
}

func (b *Boxer) time(v time.Time) driver.Value {
	if b.nTime == len(b.times) {
		b.times, b.nTime = make([]time.Time, boxSlab), 0
	}
	p := &b.times[b.nTime]
	b.nTime++
	*p = v
	return iface(timeWord, unsafe.Pointer(p))
}

// FastKind selects a decoding of a column that boxes with a Boxer; 0
// means the column's decoder is used.
type FastKind uint8

const (
	FastNone FastKind = iota
	fastInt2
	fastInt4
	fastInt8
	fastFloat4
	fastFloat8
	fastText // text types, in either format: the bytes are the string
	fastTimestamp
	fastTimestamptz
	// The text format of the common types that are not strings.
	fastTextInt
	fastTextFloat4
	fastTextFloat8
	fastTextTimestamp
	fastTextTimestamptz
)

// FastKindFor picks the fast decoding for a column, if it has one.
func FastKindFor(oid uint32, format int16) FastKind {
	switch oid {
	case OIDText, OIDVarchar, OIDBPChar, OIDName, OIDUnknown:
		return fastText
	}
	if format != 1 {
		return textFastKind(oid)
	}
	switch oid {
	case OIDInt2:
		return fastInt2
	case OIDInt4:
		return fastInt4
	case OIDInt8:
		return fastInt8
	case OIDFloat4:
		return fastFloat4
	case OIDFloat8:
		return fastFloat8
	case OIDTimestamp:
		return fastTimestamp
	case OIDTimestamptz:
		return fastTimestamptz
	}
	return FastNone
}

// textFastKind picks the fast decoding of a text-format column.
func textFastKind(oid uint32) FastKind {
	switch oid {
	case OIDInt2, OIDInt4, OIDInt8, OIDOID:
		return fastTextInt
	case OIDFloat4:
		return fastTextFloat4
	case OIDFloat8:
		return fastTextFloat8
	case OIDTimestamp:
		return fastTextTimestamp
	case OIDTimestamptz:
		return fastTextTimestamptz
	case OIDNumeric:
		return fastText // the exact decimal text is the value
	}
	return FastNone
}

// DecodeFast decodes src for a column of kind k; ok is false when src is
// not what the kind expects (a wrong length), and the column's decoder
// must report it.
func (b *Boxer) DecodeFast(k FastKind, src []byte, loc *time.Location) (driver.Value, bool) {
	switch k {
	case fastText:
		return b.string(src), true
	case fastInt2:
		if len(src) == 2 {
			return b.int64(int64(int16(binary.BigEndian.Uint16(src)))), true
		}
	case fastInt4:
		if len(src) == 4 {
			return b.int64(int64(int32(binary.BigEndian.Uint32(src)))), true
		}
	case fastInt8:
		if len(src) == 8 {
			return b.int64(int64(binary.BigEndian.Uint64(src))), true
		}
	case fastFloat4:
		if len(src) == 4 {
			return b.float64(float64(math.Float32frombits(binary.BigEndian.Uint32(src)))), true
		}
	case fastFloat8:
		if len(src) == 8 {
			return b.float64(math.Float64frombits(binary.BigEndian.Uint64(src))), true
		}
	case fastTextInt, fastTextFloat4, fastTextFloat8, fastTextTimestamp, fastTextTimestamptz:
		return b.decodeText(k, src, loc)
	case fastTimestamp, fastTimestamptz:
		if len(src) != 8 {
			return nil, false
		}
		t, inf := pgMicros(src)
		switch {
		case inf != nil:
			return inf, true
		case k == fastTimestamptz && loc != nil:
			return b.time(t.In(loc)), true
		default:
			return b.time(t.UTC()), true
		}
	}
	return nil, false
}

// decodeText decodes the text form of a column of kind k; ok is false for
// what the column's decoder must handle (infinite times, malformed text).
func (b *Boxer) decodeText(k FastKind, src []byte, loc *time.Location) (driver.Value, bool) {
	switch k {
	case fastTextInt:
		if n, ok := parseInt(src); ok {
			return b.int64(n), true
		}
	case fastTextFloat4:
		if f, err := strconv.ParseFloat(string(src), 32); err == nil {
			return b.float64(f), true
		}
	case fastTextFloat8:
		if f, ok := parseFloat8(src); ok {
			return b.float64(f), true
		}
	case fastTextTimestamp:
		if sec, nsec, _, ok := parseTimestamp(src, false); ok {
			return b.time(time.Unix(sec, nsec).UTC()), true
		}
	case fastTextTimestamptz:
		sec, nsec, offset, ok := parseTimestamp(src, true)
		if !ok {
			return nil, false
		}
		if loc == nil {
			loc = time.FixedZone("", offset)
		}
		return b.time(time.Unix(sec, nsec).In(loc)), true
	}
	return nil, false
}
