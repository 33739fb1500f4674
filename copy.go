package pgpipe

import (
	"errors"

	"github.com/jackc/pgx/v5/pgproto3"
)

// This file holds the core's side of the COPY sub-protocol (PostgreSQL
// protocol, "COPY Operations"): what happens when a command turns into a
// COPY. The COPY extension (copy_ext.go) feeds and drains the data.

// errCopyNoSource ends a COPY FROM STDIN that no data source was given for.
var errCopyNoSource = errors.New("pgpipe: COPY FROM STDIN needs data: run it with pgpipe.CopyFrom, or prepare it and Exec one row per call as with lib/pq")

// errCopyNoSink reports a COPY TO STDOUT whose output nobody read.
var errCopyNoSink = errors.New("pgpipe: the output of COPY TO STDOUT was discarded: run it with pgpipe.CopyTo to read it")

// onCopyIn answers a CopyInResponse for a command run without a data
// source: CopyFail, so the server aborts the COPY. In the extended protocol
// the server ignored the flight's Sync while in copy-in mode, so another
// Sync follows; the command's ReadyForQuery is still the one expected.
func (c *core) onCopyIn(r *request, msg pgproto3.BackendMessage) (event, error) {
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
		c.fe.SendSync(&msgSync)
	}
	if err := c.flush(); err != nil {
		return evNone, err
	}
	if r.res.err == nil {
		r.res.err = errCopyNoSource
	}
	return evNone, nil
}

// onCopyOut starts a COPY TO STDOUT: its data is dropped (there is no
// sink), and the command reports that.
func (c *core) onCopyOut(r *request, msg pgproto3.BackendMessage) (event, error) {
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

// onCopyOutData takes CopyData and CopyDone of a COPY TO STDOUT.
func (c *core) onCopyOutData(r *request, msg pgproto3.BackendMessage) (event, error) {
	if r.res == nil || !r.res.copyOut {
		return evNone, c.unexpected(r, msg)
	}
	if d, ok := msg.(*pgproto3.CopyData); ok && r.res.copyWanted && !r.res.discard {
		c.copyData = d.Data
		return evCopyData, nil
	}
	return evNone, nil
}
