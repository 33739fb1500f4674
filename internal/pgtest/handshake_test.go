package pgtest

import (
	"errors"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"
)

func TestHandshakeSendsDefaultsAndRecordsStartupParams(t *testing.T) {
	s := start(t, Handshake())
	c := dial(t, s)
	got := c.startup()
	want := []pgproto3.BackendMessage{
		&pgproto3.AuthenticationOk{},
		&pgproto3.ParameterStatus{Name: "server_version", Value: "15.0"},
		&pgproto3.ParameterStatus{Name: "server_encoding", Value: "UTF8"},
		&pgproto3.ParameterStatus{Name: "client_encoding", Value: "UTF8"},
		&pgproto3.ParameterStatus{Name: "DateStyle", Value: "ISO, MDY"},
		&pgproto3.ParameterStatus{Name: "TimeZone", Value: "UTC"},
		&pgproto3.ParameterStatus{Name: "integer_datetimes", Value: "on"},
		&pgproto3.ParameterStatus{Name: "standard_conforming_strings", Value: "on"},
		&pgproto3.BackendKeyData{ProcessID: 4242, SecretKey: []byte{0, 0, 4, 210}},
		&pgproto3.ReadyForQuery{TxStatus: 'I'},
	}
	wantMessages(t, got, want)
	if err := s.Wait(safetyNet); err != nil {
		t.Fatal(err)
	}
	wantParams := map[string]string{"user": "bob", "database": "db"}
	if p := s.StartupParams(); !reflect.DeepEqual(p, wantParams) {
		t.Fatalf("StartupParams() = %v, want %v", p, wantParams)
	}
}

func wantMessages(t *testing.T, got, want []pgproto3.BackendMessage) {
	t.Helper()
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			t.Fatalf("message %d: missing, want %s", i, formatMessage(want[i]))
		case i >= len(want):
			t.Fatalf("message %d: got extra %s", i, formatMessage(got[i]))
		case !reflect.DeepEqual(got[i], want[i]):
			t.Fatalf("message %d: got %s want %s", i, formatMessage(got[i]), formatMessage(want[i]))
		}
	}
}

func TestStartupParamsIsNilBeforeHandshake(t *testing.T) {
	s := start(t, Handshake())
	if p := s.StartupParams(); p != nil {
		t.Fatalf("StartupParams() = %v before any client", p)
	}
}

func TestHandshakeAnswersSSLRequestWithN(t *testing.T) {
	s := start(t, Handshake())
	c := dial(t, s)
	c.send(&pgproto3.SSLRequest{})
	b := make([]byte, 1)
	if _, err := c.conn.Read(b); err != nil || b[0] != 'N' {
		t.Fatalf("SSLRequest answered %q, %v; want 'N'", b, err)
	}
	c.startup()
	if err := s.Wait(safetyNet); err != nil {
		t.Fatal(err)
	}
}

func TestHandshakeOptionsChangeStatusAndKey(t *testing.T) {
	s := start(t, Handshake(
		WithParameterStatus("TimeZone", "Europe/Paris"),
		WithParameterStatus("application_name", "app"),
		WithoutParameterStatus("integer_datetimes"),
		WithBackendKey(7, 0x01020304),
	))
	c := dial(t, s)
	got := c.startup()
	want := []pgproto3.BackendMessage{
		&pgproto3.AuthenticationOk{},
		&pgproto3.ParameterStatus{Name: "server_version", Value: "15.0"},
		&pgproto3.ParameterStatus{Name: "server_encoding", Value: "UTF8"},
		&pgproto3.ParameterStatus{Name: "client_encoding", Value: "UTF8"},
		&pgproto3.ParameterStatus{Name: "DateStyle", Value: "ISO, MDY"},
		&pgproto3.ParameterStatus{Name: "TimeZone", Value: "Europe/Paris"},
		&pgproto3.ParameterStatus{Name: "standard_conforming_strings", Value: "on"},
		&pgproto3.ParameterStatus{Name: "application_name", Value: "app"},
		&pgproto3.BackendKeyData{ProcessID: 7, SecretKey: []byte{1, 2, 3, 4}},
		&pgproto3.ReadyForQuery{TxStatus: 'I'},
	}
	wantMessages(t, got, want)
}

func TestMD5PasswordMatchesPostgreSQL(t *testing.T) {
	// "md5" + md5("postgres" + "postgres") is what PostgreSQL stores for
	// user postgres with password postgres; the salted value was computed
	// independently (Python hashlib).
	got := md5Password("postgres", "postgres", [4]byte{1, 2, 3, 4})
	if want := "md568be9ed08db75f318087ab337aaea044"; got != want {
		t.Fatalf("md5Password = %s, want %s", got, want)
	}
}

func TestHandshakeChecksPassword(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		auth     pgproto3.BackendMessage
		answer   string
		mismatch bool
	}{
		{"cleartext right", "cleartext", &pgproto3.AuthenticationCleartextPassword{}, "secret", false},
		{"cleartext wrong", "cleartext", &pgproto3.AuthenticationCleartextPassword{}, "guess", true},
		{"md5 right", "md5", &pgproto3.AuthenticationMD5Password{Salt: [4]byte{1, 2, 3, 4}}, "md5f21dfe33ff3a9e03dbc3e008251fe5cc", false},
		{"md5 wrong", "md5", &pgproto3.AuthenticationMD5Password{Salt: [4]byte{1, 2, 3, 4}}, "md5" + "00000000000000000000000000000000", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, Handshake(WithPassword(tt.method, "secret")))
			c := dial(t, s)
			c.send(&pgproto3.StartupMessage{
				ProtocolVersion: pgproto3.ProtocolVersionNumber,
				Parameters:      map[string]string{"user": "bob"},
			})
			if got := c.receive(); !reflect.DeepEqual(got, tt.auth) {
				t.Fatalf("got %s, want %s", formatMessage(got), formatMessage(tt.auth))
			}
			c.send(&pgproto3.PasswordMessage{Password: tt.answer})
			err := s.Wait(safetyNet)
			if !tt.mismatch {
				if err != nil {
					t.Fatal(err)
				}
				c.receiveUntilReady()
				return
			}
			if !errors.Is(err, ErrPasswordMismatch) {
				t.Fatalf("Wait() = %v, want ErrPasswordMismatch", err)
			}
			m := c.receive()
			if e, ok := m.(*pgproto3.ErrorResponse); !ok || e.Severity != "FATAL" || e.Code != "28P01" ||
				e.Message != `password authentication failed for user "bob"` {
				t.Fatalf("got %s, want FATAL 28P01", formatMessage(m))
			}
			c.expectEOF()
		})
	}
}

func TestHandshakeRefusesStartupWithoutUser(t *testing.T) {
	s := start(t, Handshake())
	c := dial(t, s)
	c.send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber, Parameters: map[string]string{"database": "db"}})
	m := c.receive()
	if e, ok := m.(*pgproto3.ErrorResponse); !ok || e.Code != "28000" {
		t.Fatalf("got %s, want FATAL 28000", formatMessage(m))
	}
	c.expectEOF()
	wantErr(t, s.Wait(safetyNet), `pgtest: step 0 Handshake: StartupMessage has no "user" parameter`)
}

func TestHandshakeRejectsMessageOtherThanStartup(t *testing.T) {
	s := start(t, Handshake())
	c := dial(t, s)
	c.send(&pgproto3.GSSEncRequest{})
	b := make([]byte, 1)
	if _, err := c.conn.Read(b); err != nil || b[0] != 'N' {
		t.Fatalf("GSSEncRequest answered %q, %v; want 'N'", b, err)
	}
	c.send(&pgproto3.CancelRequest{ProcessID: 1, SecretKey: []byte{1, 2, 3, 4}})
	wantErr(t, s.Wait(safetyNet), "pgtest: step 0 Handshake: got CancelRequest{ProcessID:1, SecretKey:\"\\x01\\x02\\x03\\x04\"}, want StartupMessage")
}
