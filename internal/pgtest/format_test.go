package pgtest

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"
)

func TestFormatMessageShowsTypeAndNonZeroFields(t *testing.T) {
	long := strings.Repeat("x", 100)
	tests := []struct {
		msg  any
		want string
	}{
		{&pgproto3.Sync{}, "Sync{}"},
		{&pgproto3.Parse{Name: "x", Query: "select 1"}, `Parse{Name:"x", Query:"select 1"}`},
		{&pgproto3.Parse{Query: "select $1", ParameterOIDs: []uint32{23}}, `Parse{Query:"select $1", ParameterOIDs:[23]}`},
		{&pgproto3.Bind{Parameters: [][]byte{[]byte("1"), nil}}, `Bind{Parameters:["1" NULL]}`},
		{&pgproto3.Describe{ObjectType: 'S', Name: "s1"}, `Describe{ObjectType:'S', Name:"s1"}`},
		{&pgproto3.Query{String: long}, `Query{String:"` + long[:64] + `"…(100 bytes)}`},
		{&pgproto3.Bind{ResultFormatCodes: make([]int16, 10)}, `Bind{ResultFormatCodes:[0 0 0 0 0 0 0 0 …(10 in all)]}`},
		{&pgproto3.StartupMessage{ProtocolVersion: 196608, Parameters: map[string]string{"user": "bob", "database": "db"}},
			`StartupMessage{ProtocolVersion:196608, Parameters:{"database":"db" "user":"bob"}}`},
		{&pgproto3.AuthenticationMD5Password{Salt: [4]byte{1, 2, 3, 'A'}}, `AuthenticationMD5Password{Salt:[1 2 3 'A']}`},
		{(*pgproto3.Bind)(nil), "nil"},
	}
	for _, tt := range tests {
		if got := formatMessage(tt.msg); got != tt.want {
			t.Errorf("formatMessage(%T)\n\tgot  %s\n\twant %s", tt.msg, got, tt.want)
		}
	}
}

func TestCopyMessageSharesNoMemory(t *testing.T) {
	orig := &pgproto3.Bind{
		PreparedStatement: "s1",
		Parameters:        [][]byte{[]byte("abc"), nil, {}},
		ResultFormatCodes: []int16{1},
	}
	c := copyMessage(orig)
	orig.Parameters[0][0] = 'X'
	orig.ResultFormatCodes[0] = 0
	if got := string(c.Parameters[0]); got != "abc" {
		t.Errorf("copy's parameter changed with the original: %q", got)
	}
	if c.ResultFormatCodes[0] != 1 {
		t.Errorf("copy's ResultFormatCodes changed with the original")
	}
	if c.Parameters[1] != nil || c.Parameters[2] == nil {
		t.Errorf("copy lost NULL vs empty: %s", formatMessage(c))
	}

	sm := &pgproto3.StartupMessage{Parameters: map[string]string{"user": "bob"}}
	sc := copyMessage(sm)
	sm.Parameters["user"] = "eve"
	if sc.Parameters["user"] != "bob" {
		t.Errorf("copy's map changed with the original")
	}
}
