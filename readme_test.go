package pgpipe

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEKeywordTable keeps README.md's DSN keyword table equal to the
// keyword table the parser uses. UPDATE_README=1 rewrites it.
func TestREADMEKeywordTable(t *testing.T) {
	const begin, end = "<!-- keywords:begin", "<!-- keywords:end -->"
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatal("README.md lacks the keyword table markers")
	}
	i += strings.Index(s[i:], "\n") + 1
	want := keywordTableMarkdown()
	if s[i:j] == want {
		return
	}
	if os.Getenv("UPDATE_README") != "" {
		if err := os.WriteFile("README.md", []byte(s[:i]+want+s[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("README.md's keyword table is stale; run UPDATE_README=1 go test -run TestREADMEKeywordTable .\nwant:\n%s", want)
}
