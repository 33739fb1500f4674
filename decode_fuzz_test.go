package pgpipe

import (
	"context"
	"database/sql/driver"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/pgpipe/pgpipe/internal/codec"
)

// knownOIDs are the column types the row fuzzer draws from.
var knownOIDs = []uint32{
	codec.OIDBool, codec.OIDBytea, codec.OIDChar, codec.OIDName, codec.OIDInt8, codec.OIDInt2, codec.OIDInt4, codec.OIDText, codec.OIDOID, codec.OIDJSON, codec.OIDXML,
	codec.OIDFloat4, codec.OIDFloat8, codec.OIDUnknown, codec.OIDMoney, codec.OIDBPChar, codec.OIDVarchar, codec.OIDDate, codec.OIDTime, codec.OIDTimestamp,
	codec.OIDTimestamptz, codec.OIDInterval, codec.OIDTimetz, codec.OIDNumeric, codec.OIDUUID, codec.OIDJSONB, codec.OIDVoid, codec.OIDInt4Array, 999999,
}

// FuzzResultDecoder describes random columns and decodes random values for
// them through both decoding paths of rows (the boxing fast path and the
// column decoders): no input may panic.
func FuzzResultDecoder(f *testing.F) {
	f.Add([]byte{4, 1, 0, 0, 0, 0, 0, 0, 0, 7}, []byte("hello"))
	f.Add([]byte{20, 0, 21, 1, 22, 1}, binary.BigEndian.AppendUint64(nil, 1<<62))
	f.Add([]byte{18, 1}, []byte{0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, desc, data []byte) {
		var fields []pgproto3.FieldDescription
		for i := 0; i+1 < len(desc) && len(fields) < 16; i += 2 {
			fields = append(fields, pgproto3.FieldDescription{
				Name:        []byte{'c', desc[i]},
				DataTypeOID: knownOIDs[int(desc[i])%len(knownOIDs)],
				Format:      int16(desc[i+1] & 1),
			})
		}
		c := &core{cfg: &Config{}}
		cols := c.describeColumns(nil, fields)
		values := make([][]byte, len(cols))
		for i := range values {
			if len(data) == 0 {
				break
			}
			n := int(data[0]) % (len(data))
			values[i], data = data[1:1+n], data[1+n:]
		}
		r := &rows{c: &conn{core: c}, env: &c.env}
		r.res.cols = cols
		dest := make([]driver.Value, len(cols))
		for _, loc := range []*time.Location{nil, time.UTC} {
			c.env.loc = loc
			_ = r.decode(values, dest)
		}
	})
}

// FuzzServerReplies answers a query with random bytes and closes: the
// driver must return (an error, or rows it read), never panic or hang.
func FuzzServerReplies(f *testing.F) {
	ok := func(msgs ...pgproto3.BackendMessage) []byte {
		var b []byte
		for _, m := range msgs {
			b, _ = m.Encode(b)
		}
		return b
	}
	f.Add(ok(&pgproto3.ParseComplete{}, &pgproto3.BindComplete{},
		&pgproto3.RowDescription{Fields: []pgproto3.FieldDescription{{Name: []byte("n"), DataTypeOID: 23}}},
		&pgproto3.DataRow{Values: [][]byte{[]byte("1")}}, &pgproto3.CommandComplete{CommandTag: []byte("SELECT 1")},
		&pgproto3.ReadyForQuery{TxStatus: 'I'}))
	f.Add([]byte{'Z', 0x7f, 0xff, 0xff, 0xff})
	f.Add([]byte{'D', 0, 0, 0, 4})
	f.Add([]byte{'E', 0, 0, 0, 5, 0})
	f.Fuzz(func(t *testing.T, reply []byte) {
		client, server := net.Pipe()
		go func() {
			go io.Copy(io.Discard, server)
			server.Write(reply)
			server.Close()
		}()
		c := newCore(&Config{PrepareThreshold: PrepareNone, PreparedMax: 1, CancelGrace: time.Second}, client, client)
		c.fe.SetMaxBodyLen(1 << 20)
		cn := &conn{core: c}
		defer cn.Close()
		done := make(chan struct{})
		go func() {
			defer close(done)
			rs, err := cn.QueryContext(context.Background(), "SELECT $1", []driver.NamedValue{{Ordinal: 1, Value: int64(1)}})
			if err != nil {
				return
			}
			dest := make([]driver.Value, len(rs.Columns()))
			for rs.Next(dest) == nil {
			}
			rs.Close()
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("the driver hangs on a reply that ended")
		}
	})
}
