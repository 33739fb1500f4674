package scram

import (
	"bytes"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// saslprepTests are inputs with their SASLprep form or the reason PostgreSQL
// rejects them (and then uses the raw password).
var saslprepTests = []struct {
	name, in, want string
	wantErr        string // saslprepStrict's error; saslprep then returns in
}{
	// ASCII is never changed, not even control characters.
	{"ASCII", "pencil", "pencil", ""},
	{"ASCII with control character", "pen\x07cil\x7f", "pen\x07cil\x7f", ""},
	{"empty", "", "", ""},

	// Mapping (RFC 4013 section 2.1).
	{"no-break space", "pass\u00a0word", "pass word", ""},
	{"ideographic space", "pass\u3000word", "pass word", ""},
	{"zero width space is C.1.2 first", "a\u200bb", "a b", ""},
	{"soft hyphen", "I\u00adX", "IX", ""},
	{"variation selector and BOM", "x\ufe0fy\ufeffz", "xyz", ""},

	// NFKC.
	{"roman numeral nine", "\u2168", "IX", ""},
	{"feminine ordinal", "\u00aa", "a", ""},
	{"ligature", "\ufb01x", "fix", ""},
	{"fullwidth", "\uff30\uff47", "Pg", ""},
	{"combining accent composes", "e\u0301t\u00e9", "\u00e9t\u00e9", ""},
	{"Hangul jamo compose", "\u1100\u1161", "\uac00", ""},
	{"already normalized", "pässwörd", "pässwörd", ""},

	// Prohibited output (checked after mapping, before NFKC).
	{"ASCII control next to non-ASCII", "p\u00e4\x07", "", "prohibited code point U+0007"},
	{"C1 control", "p\u00e4\u0085", "", "prohibited code point U+0085"},
	{"private use", "p\u00e4\ue000", "", "prohibited code point U+E000"},
	{"non-character", "p\u00e4\ufdd0", "", "prohibited code point U+FDD0"},
	{"replacement character", "p\u00e4\ufffd", "", "prohibited code point U+FFFD"},
	{"ideographic description", "\u2ff0", "", "prohibited code point U+2FF0"},
	{"deprecated combining tone", "a\u0340", "", "prohibited code point U+0340"},
	{"tagging character", "a\U000e0041", "", "prohibited code point U+E0041"},
	{"line separator", "a\u2028b", "", "prohibited code point U+2028"},
	{"supplementary private use", "\U00100000", "", "prohibited code point U+100000"},

	// Unassigned in Unicode 3.2 (A.1).
	{"unassigned in 3.2", "a\u0221", "", "U+0221, unassigned in Unicode 3.2"},
	{"emoji", "secret\U0001f600", "", "U+1F600, unassigned in Unicode 3.2"},
	// NFKC would turn U+1F100 into "0.", but PostgreSQL checks before
	// normalizing and so uses the raw password.
	{"unassigned that normalizes to assigned", "\U0001f100", "", "U+1F100, unassigned in Unicode 3.2"},

	// Bidirectional rules (RFC 3454 section 6).
	{"Hebrew", "\u05e9\u05dc\u05d5\u05dd", "\u05e9\u05dc\u05d5\u05dd", ""},
	{"Arabic with digits inside", "\u0627\u0661\u0031\u0628", "\u0627\u0661\u0031\u0628", ""},
	{"RandAL not last", "\u0627\u0031", "", errSASLprepBidi.Error()},
	{"RandAL not first", "1\u0627", "", errSASLprepBidi.Error()},
	{"RandAL mixed with L", "\u0627a\u0628", "", errSASLprepBidi.Error()},
	// U+2122 is a neutral that NFKC turns into L letters; PostgreSQL checks
	// before normalizing and so accepts the string.
	{"RandAL with neutral that normalizes to L", "\u0627\u2122\u0628", "\u0627TM\u0628", ""},

	// Neither UTF-8 nor anything left after mapping.
	{"invalid UTF-8", "pass\xffword", "", errSASLprepInvalidUTF8.Error()},
	{"truncated UTF-8", "pass\xc3", "", errSASLprepInvalidUTF8.Error()},
	{"encoded surrogate", "\xed\xa0\x80", "", errSASLprepInvalidUTF8.Error()},
	{"overlong encoding", "\xc0\xaf\u00e4", "", errSASLprepInvalidUTF8.Error()},
	{"only mapped to nothing", "\u00ad\u200d", "", errSASLprepEmpty.Error()},
}

func TestSASLprepPreparesPasswordsLikePostgreSQL(t *testing.T) {
	for _, tt := range saslprepTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := saslprepStrict(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("saslprepStrict(%+q) = %+q, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				if fallback := saslprep(tt.in); fallback != tt.in {
					t.Fatalf("saslprep(%+q) = %+q, want the raw password", tt.in, fallback)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("saslprepStrict(%+q) = %+q, %v; want %+q", tt.in, got, err, tt.want)
			}
			if got := saslprep(tt.in); got != tt.want {
				t.Fatalf("saslprep(%+q) = %+q, want %+q", tt.in, got, tt.want)
			}
		})
	}
}

// TestSASLprepMatchesPostgreSQLVerifiers checks passwords against SCRAM
// verifiers (rolpassword in pg_authid) that PostgreSQL 15 computed with
// CREATE ROLE ... PASSWORD in a SQL_ASCII cluster, so that PostgreSQL itself
// applied pg_saslprep to the bytes given.
func TestSASLprepMatchesPostgreSQLVerifiers(t *testing.T) {
	tests := []struct {
		password string
		verifier string
		notAs    string // a plausible but wrong preparation the verifier must reject
	}{
		{"pencil",
			"SCRAM-SHA-256$4096:LNN88O9MxE8JFIrBXl3a8Q==$t5WC4HQY0S9nsc6Fcy383LR7tnjhqNj9kmtUOIRz/ZY=:MOq6aVa8wL0T0qsFFXiZ9S5TGxFwdE3gs2T7y5ruPDM=", ""},
		{"pässwörd",
			"SCRAM-SHA-256$4096:vnoeXnKO7CI79eqBaqHtew==$j8Ghnw8oGjEWJkGRIy5IWq6HrqYbz6fTGqhVuo/zKXs=:hJ4c9xlbSKFXLVB0ISftfJMwNYKj6KOc47QOzuJoHaM=", ""},
		{"pa\u0308sswo\u0308rd",
			"SCRAM-SHA-256$4096:j1coBSU9HwWCtIuFVqDIGw==$nKDPIwdPNEI1BJ0zwVgNGkoibQACgvPkrVPqfFwPZ78=:sXjhZOLOJtNInqlsMODybu54f5tsHKKrmrdvmavtbYs=", "pa\u0308sswo\u0308rd"},
		{"I\u00adX\u2168",
			"SCRAM-SHA-256$4096:pFXASI3D17b8DHB/mZIfow==$0VqXjwKytKodlpp5/Ei0+DVblyOTmOX3YdhPYI1fPLs=:VGD/Ekb6IASTzmXjvlZ3XFofzc1Ks6gGFxlWdS0z1kU=", "I\u00adX\u2168"},
		{"\u00aa\u3000b",
			"SCRAM-SHA-256$4096:KeBZLyzNTRC30JPRcCzJiA==$ggFYkdLSXUzYHRqfq1/P+mBV6SBt/jn7YTgKZNfM7MA=:jXn/No3w7wKlzB3L8GWXqkDsJMjwt0/sxYj9ddJ/dsg=", "\u00aa\u3000b"},
		{"p\u00e4\x07",
			"SCRAM-SHA-256$4096:fsS0I/8ud8sgi7U7/Mjx+A==$y09skIISk13/1TAMpYSc21Zr/JJiaPCk0a/HGcW+Feg=:/Hp7jYpsnVgc3zVQ36+2T2G3Kf2XZEVynn/Jy5D3iJE=", ""},
		{"\U0001f100", // PostgreSQL checks A.1 before NFKC: raw bytes, not "0."
			"SCRAM-SHA-256$4096:+0DdxT51bOvbT0M4nUuT7A==$qool6DxXo5JL/YrGOpWZbVpfCnriG7ysj4l8kemiSas=:pyT0pAhr0jlyupgBGN4zOibXRKF+zjEDFqAwwqtK0R8=", "0."},
		{"\u0627\u0031",
			"SCRAM-SHA-256$4096:hq9jlll1stIKJry/Xet+9A==$RtU9Ds2gjxleAhwAhSR/VKpZatE+3KIfb6GvQsXmb+U=:vgsWZ8KC+VyIC6yB5OV2YRvRRlHUcKmHTrqEuwhRqQ8=", ""},
		{"pass\xffword",
			"SCRAM-SHA-256$4096:dxauKHVw0QYT+ANh/IO8Gg==$TDBbix3Q8UGjVKwTZWKTZR7Wx2lmKKMU73Knq6OsjXQ=:pEVAhhgfkYGnJY/CT0VpVE2+xXDlD0GwSmwuCT1ffbo=", ""},
		{"\u00ad",
			"SCRAM-SHA-256$4096:WvwJcqK8KxLqCMuH8PpTiw==$OF7vSG14D00IsVaChhMwMQn7VGSB2v6I81IbPwF9AWI=:jWbcW6/HF74xZk9JtbHz2YOQdgoXNXf3PZV+ur7nKXA=", ""},
		{"a\u200bb", // C.1.2 wins over B.1: "a b", not "ab"
			"SCRAM-SHA-256$4096:WIZQ0wkJdnFkLh/NcHntFA==$CcE5LF/2fy6DPlYFfdHRPwziN2SdhlLmtKnDPrLRdJ4=:H2UgrCzphGXV9ABfeGKroxAW9FOGcPaalJxYiy8Huaw=", "ab"},
		{"\ufb01\uff30",
			"SCRAM-SHA-256$4096:AjjnYBAYtZSiGWHhdH/dxg==$QoQTwUrrZiFBaTHQU8PkDMmL0V2uTAl/mQFOMJqYGio=:NPD3HrL8w+PS9V22gwRKFsUqllJrMHnGd3S2dlMvG0g=", "\ufb01\uff30"},
		{"\U0001f600",
			"SCRAM-SHA-256$4096:LlRFbHKR7A78FKn6ZytSZw==$Ph1PmK3WNe1DV0I+FNofB7xNfsC/DqZmCydcEa2uq2c=:X9OQNdUeJOfzx8tjFE8DmkZfWiRflvkKJrPQf+oemdU=", ""},
		{"\u0627\u2122\u0628", // bidi checked before NFKC: "\u0627TM\u0628", not the raw bytes
			"SCRAM-SHA-256$4096:X9jnZVTO6qmgf0nvbAXbNw==$XVcMWO8oKdIvKobM4bWphhbrrUljeu+PaGpdsnxuMdM=:XgGzKK+fJloJP+NqbwIcIUUNXzuK2ciJGOKrmmUINrc=", "\u0627\u2122\u0628"},
		{"\u05e9\u05dc\u05d5\u05dd",
			"SCRAM-SHA-256$4096:alTOu7ZY5e0m/I/XjV455A==$tK42nzDYi8MKDCM2jxjLi7wkfFQSg6t6OPvYNnVEYro=:4gME46EiXRW3FHKf1JP6qQL0EIrxzfPf1SJ9rPACfyw=", ""},
	}
	for _, tt := range tests {
		if !scramVerifierMatches(t, tt.verifier, saslprep(tt.password)) {
			t.Errorf("saslprep(%+q) = %+q does not match PostgreSQL's verifier", tt.password, saslprep(tt.password))
		}
		if tt.notAs != "" && scramVerifierMatches(t, tt.verifier, tt.notAs) {
			t.Errorf("PostgreSQL's verifier for %+q also matches %+q", tt.password, tt.notAs)
		}
	}
}

// scramVerifierMatches reports whether a PostgreSQL SCRAM-SHA-256 verifier
// ("SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey") was computed from
// the prepared password.
func scramVerifierMatches(t *testing.T, verifier, prepared string) bool {
	t.Helper()
	rest, ok := strings.CutPrefix(verifier, "SCRAM-SHA-256$")
	iter, rest, ok2 := strings.Cut(rest, ":")
	salt64, rest, ok3 := strings.Cut(rest, "$")
	stored64, server64, ok4 := strings.Cut(rest, ":")
	iterations, err := strconv.Atoi(iter)
	if !ok || !ok2 || !ok3 || !ok4 || err != nil {
		t.Fatalf("malformed verifier %q", verifier)
	}
	salt, err1 := base64.StdEncoding.DecodeString(salt64)
	stored, err2 := base64.StdEncoding.DecodeString(stored64)
	server, err3 := base64.StdEncoding.DecodeString(server64)
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatalf("verifier %q: %v", verifier, err)
	}
	salted, err := pbkdf2.Key(sha256.New, prepared, salt, iterations, sha256.Size)
	if err != nil {
		t.Fatal(err)
	}
	gotStored := sha256.Sum256(scramHMAC(salted, "Client Key"))
	return bytes.Equal(gotStored[:], stored) && bytes.Equal(scramHMAC(salted, "Server Key"), server)
}

func TestStringprepTablesAreSortedRangeTables(t *testing.T) {
	tables := map[string]*unicode.RangeTable{
		"C.1.2": stringprepC12, "B.1": stringprepB1, "prohibited": stringprepProhibited,
		"A.1": stringprepA1, "D.1": stringprepD1, "D.2": stringprepD2,
	}
	for name, tab := range tables {
		prev, latin := rune(-1), 0
		for _, r := range tab.R16 {
			if r.Lo > r.Hi || rune(r.Lo) <= prev || r.Stride != 1 {
				t.Errorf("%s: bad or unsorted range %#x-%#x/%d", name, r.Lo, r.Hi, r.Stride)
			}
			if r.Hi <= unicode.MaxLatin1 {
				latin++
			}
			prev = rune(r.Hi)
		}
		if tab.LatinOffset != latin {
			t.Errorf("%s: LatinOffset %d, want %d", name, tab.LatinOffset, latin)
		}
		for _, r := range tab.R32 {
			if r.Lo > r.Hi || rune(r.Lo) <= prev || r.Lo <= 0xFFFF || r.Stride != 1 {
				t.Errorf("%s: bad or unsorted range %#x-%#x/%d", name, r.Lo, r.Hi, r.Stride)
			}
			prev = rune(r.Hi)
		}
	}
}

func TestStringprepTablesHoldRFC3454Entries(t *testing.T) {
	tests := []struct {
		name    string
		tab     *unicode.RangeTable
		in, out []rune
	}{
		{"A.1", stringprepA1,
			[]rune{0x0221, 0x0234, 0x024F, 0x07B2, 0x0900, 0x18AA, 0x1DFF, 0x2B00, 0xFFEF, 0x1D7CA, 0x2A6D7, 0xE0000, 0xE0080, 0xEFFFD},
			[]rune{'a', 0x00E4, 0x0220, 0x0250, 0x4E00, 0xFFFE, 0x1FFFE, 0xE0001, 0xF0000, 0x10FFFF}},
		{"B.1", stringprepB1,
			[]rune{0x00AD, 0x034F, 0x1806, 0x180B, 0x180D, 0x200B, 0x200D, 0x2060, 0xFE00, 0xFE0F, 0xFEFF},
			[]rune{' ', 0x00A0, 0x180E, 0x200E, 0xFE10}},
		{"C.1.2", stringprepC12,
			[]rune{0x00A0, 0x1680, 0x2000, 0x200B, 0x202F, 0x205F, 0x3000},
			[]rune{' ', 0x200C, 0x2060}},
		{"prohibited", stringprepProhibited,
			[]rune{0x0000, 0x001F, 0x007F, 0x0080, 0x009F, 0x06DD, 0x070F, 0x180E, 0x200C, 0x200E, 0x2029, 0x202A,
				0x2061, 0x206F, 0x2FFB, 0xD800, 0xDFFF, 0xE000, 0xF8FF, 0xFDEF, 0xFFF9, 0xFFFD, 0xFFFF, 0x1D173,
				0x1D17A, 0x1FFFE, 0x10FFFF, 0xE0001, 0xE0020, 0xE007F, 0xF0000, 0x100000},
			[]rune{' ', '~', 0x00A1, 0x0342, 0x2010, 0x2064, 0x2FFC, 0xF900, 0xFFF8, 0x1D172, 0x1FFFD, 0xE0002, 0xE0080}},
		{"D.1", stringprepD1,
			[]rune{0x05BE, 0x05D0, 0x05EA, 0x0627, 0x200F, 0xFB1D, 0xFDF0, 0xFE76, 0xFEFC},
			[]rune{'a', '1', 0x0660, 0x200E, 0xFB1E}},
		{"D.2", stringprepD2,
			[]rune{'A', 'z', 0x00AA, 0x00F8, 0x0220, 0x200E, 0x3400, 0xD800, 0xFA2D, 0x1D552, 0x20000, 0x2FA1D, 0x100000, 0x10FFFD},
			[]rune{'0', ' ', 0x0221, 0x05D0, 0x200F, 0xFFFD, 0x10FFFE}},
	}
	for _, tt := range tests {
		for _, r := range tt.in {
			if !unicode.Is(tt.tab, r) {
				t.Errorf("%s lacks %U", tt.name, r)
			}
		}
		for _, r := range tt.out {
			if unicode.Is(tt.tab, r) {
				t.Errorf("%s holds %U", tt.name, r)
			}
		}
	}
}

func FuzzSASLprep(f *testing.F) {
	for _, s := range []string{"pencil", "I\u00adX", "\u2168", "\u0627\u0031", "pass\xffword", "\U0001f100", "a\u200bb\u3000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := saslprepStrict(in)
		if err != nil {
			if saslprep(in) != in {
				t.Fatalf("saslprep(%+q) is not the raw password after %v", in, err)
			}
			if !errors.Is(err, errSASLprepInvalidUTF8) && !utf8.ValidString(in) {
				t.Fatalf("invalid UTF-8 %+q rejected with %v", in, err)
			}
			return
		}
		if !utf8.ValidString(got) {
			t.Fatalf("saslprepStrict(%+q) = %+q, not UTF-8", in, got)
		}
		if saslprep(in) != got {
			t.Fatalf("saslprep(%+q) differs from saslprepStrict", in)
		}
	})
}
