package pgpipe

import "fmt"

// txState is where the connection's transaction stands: the server's
// status from the last ReadyForQuery, and a BEGIN that BeginTx deferred
// to the transaction's first command (tx.go, exec.go's queueBegin).
//
//	        BeginTx               first command queued       ReadyForQuery 'T'
//	none ────────────▶ deferred ───────────────────────▶ sent ──────────────▶ open
//	 ▲  ◀──────────────   │                               │ retried flight       │ 'E'
//	 │  Commit/Rollback   │                               ▼ (restart)            ▼
//	 │  (nothing sent)    ◀──────────────────────────── deferred              failed
//	 │                          ReadyForQuery 'I' (COMMIT, ROLLBACK, ...)        │
//	 └───────────────────────────────────────────────────────────────────────────┘
//
// A BEGIN run as a plain statement moves from none to open without a
// deferred step; ResetSession refuses to hand such a connection to the
// pool (conn.go). The core changes the state only through the methods
// below; the server's status is the truth for none, open and failed.
type txState struct {
	status  byte   // from the last ReadyForQuery: 'I', 'T' or 'E'
	pending string // a BEGIN deferred by BeginTx and not yet queued
	sent    string // the BEGIN queued last, to defer again for a retry
	// opening is set from the BEGIN's queueing to the next ReadyForQuery:
	// the commands queued meanwhile run inside the block.
	opening bool
	// failure is the error that failed the open transaction, for Commit's
	// message.
	failure error
}

// none reports that no transaction block is open, opening or deferred.
func (t *txState) none() bool { return t.status == 'I' && t.pending == "" && !t.opening }

// inBlock reports that a transaction block is open, failed, or about to be
// begun by a deferred BEGIN.
func (t *txState) inBlock() bool { return !t.none() }

// failed reports a transaction block the server aborted: only a
// ROLLBACK (or a COMMIT, which rolls back) ends it.
func (t *txState) failed() bool { return t.status == 'E' }

// serverIdle reports that the server is outside a transaction block,
// whatever was deferred.
func (t *txState) serverIdle() bool { return t.status == 'I' }

// retryable reports, after a flight whose statement the server lost
// before running anything, whether re-running it cannot run anything
// twice: no transaction block was open before the flight (hadBegin: its
// BEGIN was sent in it, and a failed block is rolled back first).
func (t *txState) retryable(hadBegin bool) bool {
	return t.serverIdle() || (hadBegin && t.failed())
}

// deferBegin records BeginTx's BEGIN: none → deferred.
func (t *txState) deferBegin(begin string) {
	t.pending = begin
	t.failure = nil
}

// deferred reports a BEGIN not yet queued.
func (t *txState) deferred() bool { return t.pending != "" }

// takeBegin hands the deferred BEGIN to the command being queued:
// deferred → sent. "" when none is deferred.
func (t *txState) takeBegin() string {
	b := t.pending
	if b != "" {
		t.sent, t.pending, t.opening = b, "", true
	}
	return b
}

// dropDeferred ends a transaction whose BEGIN was never sent (Commit or
// Rollback of a transaction with no command): deferred → none. It reports
// whether there was one.
func (t *txState) dropDeferred() bool {
	had := t.pending != ""
	t.pending = ""
	return had
}

// restart defers the BEGIN sent in a flight that failed before anything
// ran and was rolled back, so the retry begins afresh: sent → deferred.
func (t *txState) restart() { t.pending = t.sent }

// ready applies a ReadyForQuery: the server's status; on entering the
// failed state, cause (the segment's first error) is kept for Commit.
func (t *txState) ready(status byte, cause error) {
	t.status, t.opening = status, false
	if status == 'E' && t.failure == nil {
		t.failure = cause
	}
}

// note adds, to an error that left a transaction block aborted, what that
// means for the caller.
func (t *txState) note(err error) error {
	if t.failed() {
		return fmt.Errorf("%w (the open transaction is now aborted: it can only be rolled back)", err)
	}
	return err
}
