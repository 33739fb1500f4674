package integration_test

// sqlx on pgpipe. sqlx picks its bindvar style from the driver name and
// knows "postgres" and "pgx" but not "pgpipe": with sqlx.Open("pgpipe", dsn)
// and nothing else, Rebind leaves "?" alone and named queries compile to
// "?" placeholders, which PostgreSQL rejects. Register the name once,
// sqlx.BindDriver("pgpipe", sqlx.DOLLAR), or wrap the *sql.DB with
// sqlx.NewDb(db, "postgres"). Both are tested.

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/pgpipe/pgpipe"
)

// SQLXAddress and SQLXAudit are exported because sqlx must allocate the
// embedded *SQLXAudit, which reflect forbids for an unexported type.
type SQLXAddress struct {
	Street string `db:"street"`
	City   string `db:"city"`
}

type SQLXAudit struct {
	CreatedAt time.Time `db:"created_at"`
}

type sqlxPerson struct {
	ID       int64           `db:"id"`
	Name     string          `db:"name"`
	Email    string          `db:"email"`
	Age      sql.NullInt64   `db:"age"`
	Nickname *string         `db:"nickname"`
	Balance  string          `db:"balance"` // numeric, exact
	Born     sql.NullTime    `db:"born"`    // date
	Meta     json.RawMessage `db:"meta"`    // jsonb
	SQLXAddress
	*SQLXAudit
}

const sqlxColumns = `id bigserial PRIMARY KEY, name text NOT NULL, email text NOT NULL UNIQUE,
	age int, nickname text, balance numeric(20,4) NOT NULL DEFAULT 0, born date, meta jsonb NOT NULL DEFAULT '{}',
	street text NOT NULL DEFAULT '', city text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL DEFAULT '2020-01-02 03:04:05.678901+00'`

var sqlxCreated = time.Date(2020, 1, 2, 3, 4, 5, 678901000, time.UTC)

func TestSQLX(t *testing.T) {
	t.Parallel()
	opens := []struct {
		name string
		open func(t *testing.T, dsn string) *sqlx.DB
	}{
		{"open-bind-driver", func(t *testing.T, dsn string) *sqlx.DB {
			sqlx.BindDriver("pgpipe", sqlx.DOLLAR)
			db, err := sqlx.Open("pgpipe", dsn)
			if err != nil {
				t.Fatal(err)
			}
			return db
		}},
		{"newdb-connector", func(t *testing.T, dsn string) *sqlx.DB {
			cn, err := pgpipe.NewConnector(dsn)
			if err != nil {
				t.Fatal(err)
			}
			return sqlx.NewDb(sql.OpenDB(cn), "postgres")
		}},
	}
	for _, o := range opens {
		t.Run(o.name, func(t *testing.T) {
			t.Parallel()
			ormTargets(t, true, func(t *testing.T, tg ormTarget) {
				db := o.open(t, tg.dsn)
				t.Cleanup(func() { _ = db.Close() })
				if got := db.Rebind("a = ? AND b IN (?, ?)"); got != "a = $1 AND b IN ($2, $3)" {
					t.Fatalf("Rebind: %q", got)
				}
				tbl := ormPrefix(t, "sqlx") + "people"
				db.MustExec("CREATE TABLE " + tbl + " (" + sqlxColumns + ")")
				people := sqlxInsert(t, db, tbl)
				sqlxRead(t, db, tbl, people)
				sqlxIn(t, db, tbl, people)
				sqlxPrepared(t, db, tbl, people)
				sqlxTx(t, db, tbl)
				sqlxUniqueViolation(t, db, tbl)
			})
		})
	}
}

// sqlxPeople are the rows sqlxInsert writes, in id order.
func sqlxPeople() []sqlxPerson {
	nick := "ally"
	return []sqlxPerson{
		{Name: "Alice", Email: "alice@x.test", Age: sql.NullInt64{Int64: 31, Valid: true}, Nickname: &nick,
			Balance: "1234567890123456.7891", Born: sql.NullTime{Time: time.Date(1993, 5, 17, 0, 0, 0, 0, time.UTC), Valid: true},
			Meta: json.RawMessage(`{"tags": ["a", "b"]}`), SQLXAddress: SQLXAddress{"1 Main St", "Paris"}},
		{Name: "Bob", Email: "bob@x.test", Balance: "-0.0001", Meta: json.RawMessage(`{"tags": []}`),
			SQLXAddress: SQLXAddress{"2 High St", "London"}},
		{Name: "Carol", Email: "carol@x.test", Age: sql.NullInt64{Int64: 0, Valid: true}, Balance: "0.0000",
			Meta: json.RawMessage(`{}`), SQLXAddress: SQLXAddress{"3 Rue", "Paris"}},
		{Name: "Dan", Email: "dan@x.test", Balance: "42.0000", Meta: json.RawMessage(`{"tags": ["d"]}`),
			SQLXAddress: SQLXAddress{"4 Way", "Berlin"}},
	}
}

const sqlxInsertNamed = `INSERT INTO %s (name, email, age, nickname, balance, born, meta, street, city)
	VALUES (:name, :email, :age, :nickname, :balance, :born, :meta, :street, :city)`

// sqlxInsert writes the people: one with NamedQuery ... RETURNING, two
// with a batch NamedExec of a slice, one with NamedExec of a map.
func sqlxInsert(t *testing.T, db *sqlx.DB, tbl string) []sqlxPerson {
	t.Helper()
	people := sqlxPeople()
	rows, err := db.NamedQuery(fmt.Sprintf(sqlxInsertNamed, tbl)+" RETURNING id, created_at", &people[0])
	if err != nil {
		t.Fatalf("NamedQuery INSERT ... RETURNING: %v", err)
	}
	var audit SQLXAudit
	if !rows.Next() || rows.Scan(&people[0].ID, &audit.CreatedAt) != nil || people[0].ID == 0 {
		t.Fatalf("RETURNING id: %d, %v", people[0].ID, rows.Err())
	}
	rows.Close()
	res, err := db.NamedExec(fmt.Sprintf(sqlxInsertNamed, tbl), people[1:3])
	if n, _ := res.RowsAffected(); err != nil || n != 2 {
		t.Fatalf("batch NamedExec of a slice: %d rows, %v", n, err)
	}
	if _, err := res.LastInsertId(); err == nil {
		t.Fatal("LastInsertId returned no error; PostgreSQL has no such thing (use RETURNING)")
	}
	d := people[3]
	res, err = db.NamedExec(fmt.Sprintf(sqlxInsertNamed, tbl), map[string]any{
		"name": d.Name, "email": d.Email, "age": nil, "nickname": nil, "balance": d.Balance,
		"born": nil, "meta": d.Meta, "street": d.Street, "city": d.City,
	})
	if n, _ := res.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("NamedExec of a map: %d rows, %v", n, err)
	}
	var ids []int64
	if err := db.Select(&ids, "SELECT id FROM "+tbl+" ORDER BY id"); err != nil || len(ids) != 4 || ids[0] != people[0].ID {
		t.Fatalf("ids %v (%v): want 4 starting with %d", ids, err, people[0].ID)
	}
	for i := range people {
		people[i].ID = ids[i]
		people[i].SQLXAudit = &SQLXAudit{CreatedAt: sqlxCreated}
	}
	if !audit.CreatedAt.Equal(sqlxCreated) {
		t.Fatalf("RETURNING created_at %v, want %v", audit.CreatedAt, sqlxCreated)
	}
	return people
}

// sqlxSame fails unless got and want hold the same values.
func sqlxSame(t *testing.T, got, want sqlxPerson) {
	t.Helper()
	gotNick, wantNick := "<nil>", "<nil>"
	if got.Nickname != nil {
		gotNick = *got.Nickname
	}
	if want.Nickname != nil {
		wantNick = *want.Nickname
	}
	same := got.ID == want.ID && got.Name == want.Name && got.Email == want.Email && got.Age == want.Age &&
		gotNick == wantNick && got.Balance == want.Balance && got.Born.Valid == want.Born.Valid &&
		got.Born.Time.Equal(want.Born.Time) && got.SQLXAddress == want.SQLXAddress &&
		got.SQLXAudit != nil && got.CreatedAt.Equal(want.CreatedAt) && sqlxSameJSON(got.Meta, want.Meta)
	if !same {
		t.Fatalf("read %+v (nickname %s, audit %+v, meta %s)\nwant %+v (nickname %s, meta %s)",
			got, gotNick, got.SQLXAudit, got.Meta, want, wantNick, want.Meta)
	}
}

// sqlxSameJSON compares jsonb as the server normalises it.
func sqlxSameJSON(a, b json.RawMessage) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && fmt.Sprint(x) == fmt.Sprint(y)
}

// sqlxRead reads the rows back with Get, Select, Queryx+StructScan and
// MapScan.
func sqlxRead(t *testing.T, db *sqlx.DB, tbl string, people []sqlxPerson) {
	t.Helper()
	var one sqlxPerson
	if err := db.Get(&one, "SELECT * FROM "+tbl+" WHERE email = $1", "alice@x.test"); err != nil {
		t.Fatalf("Get: %v", err)
	}
	sqlxSame(t, one, people[0])
	var all []sqlxPerson
	if err := db.Select(&all, "SELECT * FROM "+tbl+" ORDER BY id"); err != nil || len(all) != len(people) {
		t.Fatalf("Select: %d rows, %v", len(all), err)
	}
	for i := range all {
		sqlxSame(t, all[i], people[i])
	}
	var n int
	if err := db.Get(&n, "SELECT count(*) FROM "+tbl+" WHERE age IS NULL"); err != nil || n != 2 {
		t.Fatalf("Get count: %d, %v", n, err)
	}
	rows, err := db.Queryx("SELECT id, name, balance, created_at, meta, age FROM "+tbl+" WHERE id = $1", people[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	m := map[string]any{}
	if !rows.Next() || rows.MapScan(m) != nil {
		t.Fatalf("MapScan: %v", rows.Err())
	}
	// MapScan shows the driver's own values: lib/pq gives []byte for text
	// and numeric, pgx's stdlib and pgpipe give string.
	created, _ := m["created_at"].(time.Time)
	meta, _ := m["meta"].([]byte)
	if m["id"] != people[1].ID || m["name"] != "Bob" || m["balance"] != "-0.0001" || m["age"] != nil ||
		!created.Equal(sqlxCreated) || !sqlxSameJSON(meta, people[1].Meta) {
		t.Fatalf("MapScan: %#v", m)
	}
}

// sqlxIn expands slices with sqlx.In and Rebind, and passes a slice
// straight to = ANY($1), which pgpipe (like pgx, unlike lib/pq without
// pq.Array) sends as an array.
func sqlxIn(t *testing.T, db *sqlx.DB, tbl string, people []sqlxPerson) {
	t.Helper()
	q, args, err := sqlx.In("SELECT name FROM "+tbl+" WHERE id IN (?) AND city = ? ORDER BY name",
		[]int64{people[0].ID, people[1].ID, people[2].ID}, "Paris")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	if err := db.Select(&names, db.Rebind(q), args...); err != nil || !slices.Equal(names, []string{"Alice", "Carol"}) {
		t.Fatalf("sqlx.In + Rebind: %q, %v", names, err)
	}
	q, args, err = sqlx.Named("SELECT name FROM "+tbl+" WHERE city IN (:cities) AND balance > :min ORDER BY name",
		map[string]any{"cities": []string{"Paris", "Berlin"}, "min": "0"})
	if err == nil {
		q, args, err = sqlx.In(q, args...)
	}
	if err != nil {
		t.Fatal(err)
	}
	names = nil
	if err := db.Select(&names, db.Rebind(q), args...); err != nil || !slices.Equal(names, []string{"Alice", "Dan"}) {
		t.Fatalf("sqlx.Named + In + Rebind: %q, %v", names, err)
	}
	names = nil
	ids := []int64{people[3].ID, people[1].ID}
	if err := db.Select(&names, "SELECT name FROM "+tbl+" WHERE id = ANY($1) ORDER BY name", ids); err != nil ||
		!slices.Equal(names, []string{"Bob", "Dan"}) {
		t.Fatalf("= ANY($1) with []int64: %q, %v", names, err)
	}
}

// sqlxPrepared runs Preparex and PrepareNamed statements many times, past
// pgpipe's preparation threshold.
func sqlxPrepared(t *testing.T, db *sqlx.DB, tbl string, people []sqlxPerson) {
	t.Helper()
	stmt, err := db.Preparex("SELECT * FROM " + tbl + " WHERE id = $1")
	if err != nil {
		t.Fatal(err)
	}
	defer stmt.Close()
	named, err := db.PrepareNamed("SELECT * FROM " + tbl + " WHERE city = :city ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer named.Close()
	for i := 0; i < 12; i++ {
		want := people[i%len(people)]
		var got sqlxPerson
		if err := stmt.Get(&got, want.ID); err != nil {
			t.Fatalf("prepared Get, run %d: %v", i, err)
		}
		sqlxSame(t, got, want)
		var inCity []sqlxPerson
		if err := named.Select(&inCity, map[string]any{"city": want.City}); err != nil || len(inCity) == 0 {
			t.Fatalf("prepared named Select, run %d: %d rows, %v", i, len(inCity), err)
		}
		for _, p := range inCity {
			if p.City != want.City {
				t.Fatalf("prepared named Select for %s returned %s of %s", want.City, p.Name, p.City)
			}
		}
	}
}

// sqlxTx rolls one transaction back and commits another.
func sqlxTx(t *testing.T, db *sqlx.DB, tbl string) {
	t.Helper()
	eve := sqlxPerson{Name: "Eve", Email: "eve@x.test", Balance: "1.5000", Meta: json.RawMessage(`{}`), SQLXAddress: SQLXAddress{"5 Lane", "Rome"}}
	for _, commit := range []bool{false, true} {
		tx, err := db.Beginx()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.NamedExec(fmt.Sprintf(sqlxInsertNamed, tbl), &eve); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := tx.Get(&n, "SELECT count(*) FROM "+tbl+" WHERE email = $1", eve.Email); err != nil || n != 1 {
			t.Fatalf("inside the transaction: %d, %v", n, err)
		}
		if commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
		var after []string
		if err := db.Select(&after, "SELECT balance::text FROM "+tbl+" WHERE email = $1", eve.Email); err != nil {
			t.Fatal(err)
		}
		if commit && !slices.Equal(after, []string{"1.5000"}) || !commit && len(after) != 0 {
			t.Fatalf("after commit=%v: rows %q", commit, after)
		}
	}
}

// sqlxUniqueViolation inserts a duplicate email.
func sqlxUniqueViolation(t *testing.T, db *sqlx.DB, tbl string) {
	t.Helper()
	dup := sqlxPerson{Name: "Alice again", Email: "alice@x.test", Balance: "0", Meta: json.RawMessage(`{}`)}
	_, err := db.NamedExec(fmt.Sprintf(sqlxInsertNamed, tbl), &dup)
	pgErr := ormWantPgError(t, err, "23505")
	if pgErr.TableName != tbl || pgErr.ConstraintName != tbl+"_email_key" {
		t.Fatalf("unique violation on %q, constraint %q", pgErr.TableName, pgErr.ConstraintName)
	}
	ormStillWorks(t, db)
}
