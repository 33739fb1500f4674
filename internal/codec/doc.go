// Package codec converts between Go values and PostgreSQL's text and binary
// formats: the arguments of a statement and of COPY (CheckArg, AppendArg,
// AppendTypedParam, AppendBinaryParam, BinaryEncoderFor), the values of a
// result column (DecoderFor, and Boxer's allocation-free fast path), the
// scanning of those values into Go variables (ConvertAssign; ScanArray and
// ArrayValue behind pgpipe.Array) and what database/sql asks about a
// column's type (TypeName, ScanType, ColumnLength, PrecisionScale). It does
// no I/O and knows nothing of the connection; its errors start with
// "pgpipe: ", as the driver's do, since they reach users as they are.
package codec
