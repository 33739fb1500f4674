package pgpipe

// segment is the sync segment being read: the commands since the last
// ReadyForQuery, up to the Sync that ends them. Without a transaction
// block the server runs a segment as one implicit transaction, so a
// result's outcome is final only at the segment's ReadyForQuery: an error
// at the Sync (a deferred constraint, a failed commit) belongs to every
// result of the segment that looked successful.
type segment struct {
	// ended lists the results ended since the last ReadyForQuery.
	ended []*result
	// err is the segment's first error, a failed transaction's cause.
	err error
	// aborting is the command whose error made the server skip the
	// commands after it, up to the Sync; nil until an ErrorResponse.
	aborting *abortCause
}

// abortCause remembers the command whose error made the server skip the
// commands after it, up to the next Sync.
type abortCause struct {
	query string
	err   error
}

// add records a result that ended in the segment.
func (s *segment) add(res *result) { s.ended = append(s.ended, res) }

// failed records an error of a command in the segment; the first is
// kept.
func (s *segment) failed(err error) {
	if s.err == nil {
		s.err = err
	}
}

// settle marks the results ended so far final (synced): a transaction
// block ended inside the segment, so what came before is committed or
// rolled back already, whatever the Sync says.
func (s *segment) settle() {
	for i, res := range s.ended {
		res.synced = true
		s.ended[i] = nil
	}
	s.ended = s.ended[:0]
}

// end closes the segment at its ReadyForQuery: every result is final.
func (s *segment) end() {
	s.settle()
	s.err, s.aborting = nil, nil
}

// commitFailed applies an error the server reported at Sync: the implicit
// transaction of the segment failed to commit (a deferred constraint, a
// serialization failure), so nothing of the segment took effect. Every
// result of the segment that looked successful gets the error; one whose
// success was already seen is marked late, so a pipeline reports it.
func (s *segment) commitFailed(pgErr *Error) {
	for _, res := range s.ended {
		if res.err != nil {
			continue
		}
		res.err = pgErr
		res.late = true
		resultDone(res)
	}
}
