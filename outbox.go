package pgpipe

import (
	"database/sql/driver"
	"net"

	"github.com/jackc/pgx/v5/pgproto3"
)

// outbox is where a command's bytes are written: it puts frontend
// messages into pgproto3's send buffer (one reused value per message type;
// pgproto3 copies it on Send), encodes the arguments of the next Bind, and
// keeps an estimate of what is buffered. It does not write to the socket:
// core.flush does, and it knows nothing of the queue of commands whose
// replies are expected (the core pushes those beside each message it has
// written here).
type outbox struct {
	fe *pgproto3.Frontend // the core's; its send buffer is written here
	wr dropWriter         // what fe writes to on a flush

	msgParse    pgproto3.Parse
	msgBind     pgproto3.Bind
	msgDescribe pgproto3.Describe
	msgExecute  pgproto3.Execute
	msgClose    pgproto3.Close

	// The encoded arguments of the next Bind (encodeArgs): argValues
	// alias argBuf; argFormats is empty when all are text.
	argBuf     []byte
	argFormats []int16
	argValues  [][]byte
	spans      []span

	unflushed int // bytes queued since the last flush, estimated
	// wrote is set once a byte of the current command reached the socket
	// (conn.begin clears it): a later write failure must not be
	// driver.ErrBadConn, the statement may have run.
	wrote bool
}

// msgSync is the one Sync message every flight ends with; pgproto3 only
// reads it.
var msgSync pgproto3.Sync

// msgFlush is the one Flush message; pgproto3 only reads it.
var msgFlush pgproto3.Flush

// queued records the bytes a Send added (estimated), to bound what a
// pipeline buffers before flushing.
func (o *outbox) queued(n int) { o.unflushed += n + 5 }

// buffered is about how many bytes are queued and not yet written.
func (o *outbox) buffered() int { return o.unflushed }

// parse writes a Parse of query under name (unnamed when empty), with the
// given parameter types (nil: the server infers them).
func (o *outbox) parse(name, query string, oids []uint32) {
	o.msgParse.Name = name
	o.msgParse.Query = query
	o.msgParse.ParameterOIDs = oids
	o.fe.SendParse(&o.msgParse)
}

// describe writes a Describe of a statement ('S') or portal ('P').
func (o *outbox) describe(kind byte, name string) {
	o.msgDescribe.ObjectType = kind
	o.msgDescribe.Name = name
	o.fe.SendDescribe(&o.msgDescribe)
}

// bindArgs writes a Bind of the unnamed portal to statement name with the
// arguments encodeArgs encoded, asking for results in the given formats
// (nil: all text).
func (o *outbox) bindArgs(name string, results []int16) {
	o.msgBind.PreparedStatement = name
	o.msgBind.ParameterFormatCodes = o.argFormats
	o.msgBind.Parameters = o.argValues
	o.msgBind.ResultFormatCodes = results
	o.fe.SendBind(&o.msgBind)
	o.queued(len(o.argBuf) + len(name) + 4*len(o.argValues))
}

// bindNoArgs writes a Bind of the unnamed portal to the unnamed statement,
// without arguments and with text results.
func (o *outbox) bindNoArgs() {
	o.msgBind.PreparedStatement = ""
	o.msgBind.ParameterFormatCodes = nil
	o.msgBind.Parameters = nil
	o.msgBind.ResultFormatCodes = nil
	o.fe.SendBind(&o.msgBind)
}

// execute writes an Execute of the unnamed portal, without a row limit.
func (o *outbox) execute() {
	o.msgExecute.Portal = ""
	o.msgExecute.MaxRows = 0
	o.fe.SendExecute(&o.msgExecute)
}

// closeStmt writes a Close of the named statement.
func (o *outbox) closeStmt(name string) {
	o.msgClose.ObjectType = 'S'
	o.msgClose.Name = name
	o.fe.SendClose(&o.msgClose)
	o.queued(len(name))
}

// sync writes a Sync: the end of a unit of work, after which the server
// sends ReadyForQuery.
func (o *outbox) sync() {
	o.fe.SendSync(&msgSync)
	o.queued(0)
}

// queueFlush writes a Flush: the server sends what it holds for the
// commands so far without waiting for a Sync (a pipeline reading a result
// before its sync point).
func (o *outbox) queueFlush() { o.fe.Send(&msgFlush) }

// query writes a simple-protocol Query.
func (o *outbox) query(sql string) {
	o.fe.SendQuery(&pgproto3.Query{String: sql})
	o.queued(len(sql))
}

// drop discards what pgproto3 buffered and not yet wrote.
func (o *outbox) drop() {
	o.wr.drop = true
	_ = o.fe.Flush()
	o.wr.drop = false
	o.unflushed = 0
}

// encodeArgs encodes args for the next Bind into the outbox's scratch
// buffers (argValues aliases argBuf; both valid until the next call).
// oids, when known, are the statement's parameter types: an argument whose
// Go type matches its parameter's type exactly is sent in binary.
func (o *outbox) encodeArgs(args []driver.NamedValue, oids []uint32) error {
	o.argBuf = o.argBuf[:0]
	o.argFormats = o.argFormats[:0]
	o.spans = o.spans[:0]
	binary := false
	for i := range args {
		start := len(o.argBuf)
		oid := uint32(0)
		if i < len(oids) {
			oid = oids[i]
		}
		buf, format, null, err := encodeArg(o.argBuf, args[i].Value, oid)
		if err != nil {
			return &ArgError{Position: i + 1, Err: err}
		}
		o.argBuf = buf
		end := len(o.argBuf)
		if null {
			end = -1
		}
		o.spans = append(o.spans, span{start, end})
		o.argFormats = append(o.argFormats, format)
		binary = binary || format != 0
	}
	if !binary {
		o.argFormats = o.argFormats[:0]
	}
	o.argValues = o.argValues[:0]
	for _, s := range o.spans {
		o.argValues = append(o.argValues, spanValue(o.argBuf, s))
	}
	return nil
}

// dropWriter is what pgproto3 writes to: the socket, unless drop is set,
// which discards a flush (commands queued in a pipeline whose context
// ended are never sent).
type dropWriter struct {
	conn net.Conn
	drop bool
}

func (w *dropWriter) Write(p []byte) (int, error) {
	if w.drop {
		return len(p), nil
	}
	return w.conn.Write(p)
}
