package sqltext

import "testing"

// Statements that leave state in the session but Shareable lets through.
func TestShareableRefusesPgTempAndSetseed(t *testing.T) {
	for _, q := range []string{
		"CREATE TABLE pg_temp.t (a int)",    // a temporary table, schema-qualified
		"SELECT 1 AS a INTO pg_temp.t2",     // idem
		"CREATE VIEW pg_temp.v AS SELECT 1", // a temporary view
		"SELECT setseed(0.5)",               // random()'s seed for the session
	} {
		if Shareable(q) {
			t.Errorf("Shareable(%q) = true", q)
		}
	}
}
