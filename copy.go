package pgpipe

import (
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgpipe/pgpipe/internal/sqltext"
)

// copyIO is the core's side of the COPY sub-protocol (PostgreSQL
// protocol, "COPY Operations"): what happens when a command turns into a
// COPY, and the verbs that start one, send its data and end it. The COPY
// extension (copy_ext.go) and lib/pq's COPY idiom (copy_stmt.go) feed and
// drain the data through them. The core holds it as its copy field; it
// uses the core's outbox, queue and reply matching, and is used by the
// connection's goroutine only.
type copyIO struct {
	c *core
	// data is the data of the last evCopyData; valid until the next
	// receive.
	data []byte
}

// errCopyNoSource ends a COPY FROM STDIN that no data source was given for.
var errCopyNoSource = errors.New("pgpipe: COPY FROM STDIN needs data: run it with pgpipe.CopyFrom, or prepare it and Exec one row per call as with lib/pq")

// errCopyNoSink reports a COPY TO STDOUT whose output nobody read.
var errCopyNoSink = errors.New("pgpipe: the output of COPY TO STDOUT was discarded: run it with pgpipe.CopyTo to read it")

// onIn answers a CopyInResponse for a command run without a data
// source: CopyFail, so the server aborts the COPY. In the extended protocol
// the server ignored the flight's Sync while in copy-in mode, so another
// Sync follows; the command's ReadyForQuery is still the one expected.
func (cp *copyIO) onIn(r *request, msg pgproto3.BackendMessage) (event, error) {
	c := cp.c
	if !(r.kind == reqExec && r.stage == stRows) && r.kind != reqSimple {
		return evNone, c.unexpected(r, msg)
	}
	r.res.copyIn = true
	if r.res.copyWanted {
		if m, ok := msg.(*pgproto3.CopyInResponse); ok {
			r.res.copyBinary = m.OverallFormat == 1
		}
		return evCopyIn, nil
	}
	c.fe.Send(&pgproto3.CopyFail{Message: errCopyNoSource.Error()})
	if r.kind == reqExec {
		c.out.sync()
	}
	if err := c.flush(); err != nil {
		return evNone, err
	}
	if r.res.err == nil {
		r.res.err = errCopyNoSource
	}
	return evNone, nil
}

// onOut starts a COPY TO STDOUT: its data is dropped (there is no
// sink), and the command reports that.
func (cp *copyIO) onOut(r *request, msg pgproto3.BackendMessage) (event, error) {
	c := cp.c
	if !(r.kind == reqExec && r.stage == stRows) && r.kind != reqSimple {
		return evNone, c.unexpected(r, msg)
	}
	r.res.copyOut = true
	if r.res.copyWanted {
		return evCopyOut, nil
	}
	if r.res.err == nil {
		r.res.err = errCopyNoSink
	}
	return evNone, nil
}

// onData takes CopyData and CopyDone of a COPY TO STDOUT.
func (cp *copyIO) onData(r *request, msg pgproto3.BackendMessage) (event, error) {
	if r.res == nil || !r.res.copyOut {
		return evNone, cp.c.unexpected(r, msg)
	}
	if d, ok := msg.(*pgproto3.CopyData); ok && r.res.copyWanted && !r.res.discard {
		cp.data = d.Data
		return evCopyData, nil
	}
	return evNone, nil
}

// Verbs for the data of a COPY FROM STDIN (copy_ext.go, copy_stmt.go).

// done ends the data of a COPY FROM STDIN; the server answers
// with the COPY's CommandComplete (or error) and ReadyForQuery.
func (cp *copyIO) done() { cp.c.fe.Send(&pgproto3.CopyDone{}) }

// fail aborts a COPY FROM STDIN with reason as the server's
// error message (made valid UTF-8 without NUL bytes, as the protocol
// requires).
func (cp *copyIO) fail(reason string) {
	cp.c.fe.Send(&pgproto3.CopyFail{Message: strings.ToValidUTF8(strings.ReplaceAll(reason, "\x00", ""), "?")})
}

// send writes one CopyData message that msg already holds whole
// (its 5-byte header filled in), without copying it into the send buffer.
// A write error breaks the connection.
func (cp *copyIO) send(msg []byte) error {
	c := cp.c
	if err := c.fe.SendUnbufferedEncodedCopyData(msg); err != nil {
		c.fail(&ConnError{Op: "sending COPY data", Err: err})
		return c.broken
	}
	c.out.wrote = true
	return nil
}

// poll reads, without blocking, what the server sent while COPY
// data goes out: notices are handled; an ErrorResponse means the COPY
// failed, and comes back as failed (the COPY's result error). err is the
// connection's.
func (cp *copyIO) poll() (failed, err error) {
	c := cp.c
	for c.pendingInput() {
		msg, err := c.fe.Receive()
		if err != nil {
			return nil, c.readFailed(err)
		}
		if c.handleAsync(msg) {
			continue
		}
		e, ok := msg.(*pgproto3.ErrorResponse)
		if !ok {
			return nil, c.violation("unexpected " + msgName(msg) + " during COPY FROM STDIN")
		}
		r := c.q.front()
		res := r.res
		if _, err := c.onError(r, e); err != nil {
			return nil, err
		}
		return res.err, nil
	}
	return nil, nil
}

// start sends a COPY statement and reads until the server starts the
// COPY (want: evCopyIn or evCopyOut), or until the statement ended.
func (cp *copyIO) start(res *result, want event) error {
	c := cp.c
	if sqltext.Classify(res.sql, false).Copy && sqltext.MultipleStatements(res.sql) {
		return errors.New("pgpipe: a COPY must be sent alone, not with other statements")
	}
	c.queueSimple(res)
	if err := c.flush(); err != nil {
		return err
	}
	for res.state != resDone {
		ev, err := c.advance(res)
		if err != nil {
			return err
		}
		if ev == want {
			return nil
		}
		if ev == evCopyIn || ev == evCopyOut {
			return cp.wrongDirection(res, ev)
		}
	}
	return nil
}

// wrongDirection ends a COPY that goes the other way than the call
// expects (CopyFrom given a COPY TO statement, or the reverse).
func (cp *copyIO) wrongDirection(res *result, ev event) error {
	c := cp.c
	err := errors.New("pgpipe: COPY TO STDOUT given to a COPY FROM call")
	if ev == evCopyIn {
		err = errors.New("pgpipe: COPY FROM STDIN given to a COPY TO call")
		cp.fail(err.Error())
		if ferr := c.flush(); ferr != nil {
			return ferr
		}
	}
	res.discard = true
	res.copyWanted = false
	if aerr := c.awaitSync(); aerr != nil {
		return aerr
	}
	return err
}
