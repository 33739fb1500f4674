package pgpipe

// binaryEncoder appends the binary send format of v for one column type.
// (Placeholder until the binary COPY encoders land: with none, COPY from
// Go values uses the text format.)
type binaryEncoder func(buf []byte, v any) ([]byte, error)

// binaryEncoderFor returns the encoder for a column type, or nil.
func binaryEncoderFor(oid uint32) binaryEncoder { return nil }
