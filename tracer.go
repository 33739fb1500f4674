package pgpipe

import (
	"context"
	"log/slog"
	"time"
)

// QueryTracer observes every statement a Connector's connections run:
// queries and statements through database/sql, pipeline commands, and
// COPY. Set it as Config.Tracer. A tracer may also implement
// [ConnectTracer] and [PrepareTracer]; the driver calls the methods the
// value has. Methods run on the goroutine using the connection and must
// not use it; they should be quick.
//
// TraceQueryStart returns the context passed to TraceQueryEnd, so a
// tracer can carry a span from one to the other (see the OpenTelemetry
// example in examples/otel).
type QueryTracer interface {
	TraceQueryStart(ctx context.Context, q TraceQuery) context.Context
	TraceQueryEnd(ctx context.Context, q TraceQuery, end TraceQueryEnd)
}

// TraceQuery describes a statement that starts.
type TraceQuery struct {
	SQL       string
	Args      int  // the number of arguments
	Pipelined bool // queued in a pipeline
	Copy      bool // a COPY run through the COPY extension
}

// TraceQueryEnd describes how a statement ended.
type TraceQueryEnd struct {
	Duration time.Duration
	// Rows is the number of rows affected (the command tag's count), or,
	// for a query, the number of rows read.
	Rows int64
	Err  error
	// Prepared reports that the statement ran as a named prepared
	// statement (prepared now or earlier), rather than unnamed.
	Prepared bool
}

// ConnectTracer observes connection attempts (a Config.Tracer may
// implement it).
type ConnectTracer interface {
	TraceConnectStart(ctx context.Context) context.Context
	// TraceConnectEnd reports the end of Connect: err is nil on success,
	// host the server connected to (or tried last).
	TraceConnectEnd(ctx context.Context, host string, d time.Duration, err error)
}

// PrepareTracer observes explicit Prepare calls (a Config.Tracer may
// implement it). Automatic preparation shows as TraceQueryEnd.Prepared.
type PrepareTracer interface {
	TracePrepareStart(ctx context.Context, sql string) context.Context
	TracePrepareEnd(ctx context.Context, sql string, d time.Duration, err error)
}

// traceSpan is one statement being traced.
type traceSpan struct {
	t     QueryTracer
	ctx   context.Context
	q     TraceQuery
	start time.Time
}

// startTrace begins tracing a statement, or returns nil without a tracer.
func (c *core) startTrace(ctx context.Context, q TraceQuery) *traceSpan {
	return startTrace(c.cfg.Tracer, ctx, q)
}

// startTrace starts the span of one statement for t; nil when t is nil.
func startTrace(t QueryTracer, ctx context.Context, q TraceQuery) *traceSpan {
	if t == nil {
		return nil
	}
	return &traceSpan{t: t, ctx: t.TraceQueryStart(ctx, q), q: q, start: time.Now()}
}

// end reports the statement's end; a nil span does nothing.
func (s *traceSpan) end(res *result, rows int64, err error) {
	if s == nil {
		return
	}
	e := TraceQueryEnd{Duration: time.Since(s.start), Rows: rows, Err: err}
	if res != nil {
		e.Prepared = res.named
	}
	s.t.TraceQueryEnd(s.ctx, s.q, e)
}

// LogTracer returns a QueryTracer that logs every statement at level
// with its duration, rows and error, and connection attempts too.
func LogTracer(logger *slog.Logger, level slog.Level) QueryTracer {
	return &logTracer{l: logger, level: level}
}

type logTracer struct {
	l     *slog.Logger
	level slog.Level
}

func (t *logTracer) TraceQueryStart(ctx context.Context, _ TraceQuery) context.Context { return ctx }

func (t *logTracer) TraceQueryEnd(ctx context.Context, q TraceQuery, e TraceQueryEnd) {
	level := t.level
	if e.Err != nil && level < slog.LevelWarn {
		level = slog.LevelWarn
	}
	t.l.Log(ctx, level, "pgpipe: query", "sql", q.SQL, "args", q.Args, "duration", e.Duration,
		"rows", e.Rows, "prepared", e.Prepared, "pipelined", q.Pipelined, "copy", q.Copy, "err", e.Err)
}

func (t *logTracer) TraceConnectStart(ctx context.Context) context.Context { return ctx }

func (t *logTracer) TraceConnectEnd(ctx context.Context, host string, d time.Duration, err error) {
	t.l.Log(ctx, t.level, "pgpipe: connect", "host", host, "duration", d, "err", err)
}
