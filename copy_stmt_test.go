package pgpipe

import "testing"

func TestPlainCopyInFindsTableAndColumns(t *testing.T) {
	for _, tc := range []struct {
		sql     string
		table   string
		columns []string
	}{
		{`COPY "t" ("a", "b") FROM STDIN`, `"t"`, []string{"a", "b"}},
		{`copy public.Items (Id, "Na""me") from stdin;`, `public.Items`, []string{"id", `Na"me`}},
		{`COPY t (a) FROM STDIN (FORMAT csv)`, "", nil},
		{`COPY t FROM STDIN`, "", nil},
		{`COPY t ("a,b") FROM STDIN`, `t`, nil},
	} {
		m := plainCopyIn.FindStringSubmatch(tc.sql)
		if tc.table == "" {
			if m != nil {
				t.Errorf("%s: matched as a plain COPY", tc.sql)
			}
			continue
		}
		if m == nil || m[1] != tc.table {
			t.Errorf("%s: table %v, want %s", tc.sql, m, tc.table)
			continue
		}
		var got []string
		ok := true
		for _, part := range splitColumns(m[2]) {
			name, good := unquoteIdent(part)
			ok = ok && good
			got = append(got, name)
		}
		if tc.columns == nil {
			if ok {
				t.Errorf("%s: columns %q accepted", tc.sql, got)
			}
			continue
		}
		if !ok || len(got) != len(tc.columns) || got[0] != tc.columns[0] || got[len(got)-1] != tc.columns[len(tc.columns)-1] {
			t.Errorf("%s: columns %q, want %q", tc.sql, got, tc.columns)
		}
	}
}
