// Package otel shows how to turn pgpipe's tracer hooks into OpenTelemetry
// spans. It lives in a module of its own, so pgpipe's go.mod does not
// depend on OpenTelemetry; copy Tracer into your code base, or import this
// package.
//
//	cfg, _ := pgpipe.ParseDSN(dsn)
//	cfg.Tracer = otel.NewTracer(otelapi.GetTracerProvider())
//	connector, _ := pgpipe.NewConnectorConfig(cfg)
//	db := sql.OpenDB(connector)
package otel

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/pgpipe/pgpipe"
)

// Tracer makes a span per statement (db.query), connection (db.connect)
// and Prepare (db.prepare). It implements pgpipe.QueryTracer,
// pgpipe.ConnectTracer and pgpipe.PrepareTracer.
type Tracer struct {
	t trace.Tracer
}

// NewTracer returns a Tracer using tp.
func NewTracer(tp trace.TracerProvider) *Tracer {
	return &Tracer{t: tp.Tracer("github.com/pgpipe/pgpipe")}
}

// TraceQueryStart starts the statement's span.
func (t *Tracer) TraceQueryStart(ctx context.Context, q pgpipe.TraceQuery) context.Context {
	ctx, _ = t.t.Start(ctx, "db.query", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("db.system", "postgresql"),
		attribute.String("db.query.text", q.SQL),
		attribute.Int("pgpipe.args", q.Args),
		attribute.Bool("pgpipe.pipelined", q.Pipelined),
		attribute.Bool("pgpipe.copy", q.Copy),
	))
	return ctx
}

// TraceQueryEnd ends it.
func (t *Tracer) TraceQueryEnd(ctx context.Context, _ pgpipe.TraceQuery, e pgpipe.TraceQueryEnd) {
	span := trace.SpanFromContext(ctx)
	span.SetAttributes(attribute.Int64("db.response.returned_rows", e.Rows), attribute.Bool("pgpipe.prepared", e.Prepared))
	end(span, e.Err)
}

// TraceConnectStart starts a connection's span.
func (t *Tracer) TraceConnectStart(ctx context.Context) context.Context {
	ctx, _ = t.t.Start(ctx, "db.connect", trace.WithSpanKind(trace.SpanKindClient))
	return ctx
}

// TraceConnectEnd ends it.
func (t *Tracer) TraceConnectEnd(ctx context.Context, host string, _ time.Duration, err error) {
	span := trace.SpanFromContext(ctx)
	span.SetAttributes(attribute.String("server.address", host))
	end(span, err)
}

// TracePrepareStart starts a Prepare's span.
func (t *Tracer) TracePrepareStart(ctx context.Context, sql string) context.Context {
	ctx, _ = t.t.Start(ctx, "db.prepare", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("db.query.text", sql)))
	return ctx
}

// TracePrepareEnd ends it.
func (t *Tracer) TracePrepareEnd(ctx context.Context, _ string, _ time.Duration, err error) {
	end(trace.SpanFromContext(ctx), err)
}

func end(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
