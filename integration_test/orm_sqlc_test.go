package integration_test

// sqlc-style generated code on pgpipe. ent was the other candidate, but
// its client is tens of generated files in packages of their own, which
// would have to live outside this test package. sqlc's output for
// database/sql is small and typical of what teams run: a DBTX interface,
// a Queries type and one method per query, with lib/pq's pq.Array for
// arrays. Below is what sqlc generates for testdata/orm/sqlc (schema.sql,
// query.sql, sqlc.yaml: database/sql, emit_prepared_queries), written out
// by hand; only the type names carry a sqlc prefix and the per-query
// statement fields sit in one struct, to share this package with other
// tests. The table names are fixed in the SQL, so the two targets run one
// after the other.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
)

// ---- db.go ----

type sqlcDBTX interface {
	ExecContext(context.Context, string, ...interface{}) (sql.Result, error)
	PrepareContext(context.Context, string) (*sql.Stmt, error)
	QueryContext(context.Context, string, ...interface{}) (*sql.Rows, error)
	QueryRowContext(context.Context, string, ...interface{}) *sql.Row
}

func sqlcNew(db sqlcDBTX) *sqlcQueries { return &sqlcQueries{db: db} }

// sqlcPrepare prepares every query, as sqlc's Prepare does.
func sqlcPrepare(ctx context.Context, db sqlcDBTX) (*sqlcQueries, error) {
	q := sqlcQueries{db: db}
	for _, s := range []struct {
		name, query string
		stmt        **sql.Stmt
	}{
		{"CreateAuthor", sqlcCreateAuthor, &q.stmts.createAuthor},
		{"GetAuthor", sqlcGetAuthor, &q.stmts.getAuthor},
		{"ListAuthorsByIDs", sqlcListAuthorsByIDs, &q.stmts.listAuthorsByIDs},
		{"UpdateAuthorBio", sqlcUpdateAuthorBio, &q.stmts.updateAuthorBio},
		{"DeleteAuthor", sqlcDeleteAuthor, &q.stmts.deleteAuthor},
		{"CreateBook", sqlcCreateBook, &q.stmts.createBook},
		{"ListBooksWithAuthor", sqlcListBooksWithAuthor, &q.stmts.listBooksWithAuthor},
		{"AuthorTotals", sqlcAuthorTotals, &q.stmts.authorTotals},
	} {
		var err error
		if *s.stmt, err = db.PrepareContext(ctx, s.query); err != nil {
			return nil, fmt.Errorf("error preparing query %s: %w", s.name, err)
		}
	}
	return &q, nil
}

func (q *sqlcQueries) Close() error {
	var err error
	for _, s := range []*sql.Stmt{q.stmts.createAuthor, q.stmts.getAuthor, q.stmts.listAuthorsByIDs,
		q.stmts.updateAuthorBio, q.stmts.deleteAuthor, q.stmts.createBook, q.stmts.listBooksWithAuthor, q.stmts.authorTotals} {
		if s != nil {
			err = errors.Join(err, s.Close())
		}
	}
	return err
}

func (q *sqlcQueries) exec(ctx context.Context, stmt *sql.Stmt, query string, args ...interface{}) (sql.Result, error) {
	switch {
	case stmt != nil && q.tx != nil:
		return q.tx.StmtContext(ctx, stmt).ExecContext(ctx, args...)
	case stmt != nil:
		return stmt.ExecContext(ctx, args...)
	default:
		return q.db.ExecContext(ctx, query, args...)
	}
}

func (q *sqlcQueries) query(ctx context.Context, stmt *sql.Stmt, query string, args ...interface{}) (*sql.Rows, error) {
	switch {
	case stmt != nil && q.tx != nil:
		return q.tx.StmtContext(ctx, stmt).QueryContext(ctx, args...)
	case stmt != nil:
		return stmt.QueryContext(ctx, args...)
	default:
		return q.db.QueryContext(ctx, query, args...)
	}
}

func (q *sqlcQueries) queryRow(ctx context.Context, stmt *sql.Stmt, query string, args ...interface{}) *sql.Row {
	switch {
	case stmt != nil && q.tx != nil:
		return q.tx.StmtContext(ctx, stmt).QueryRowContext(ctx, args...)
	case stmt != nil:
		return stmt.QueryRowContext(ctx, args...)
	default:
		return q.db.QueryRowContext(ctx, query, args...)
	}
}

type sqlcQueries struct {
	db    sqlcDBTX
	tx    *sql.Tx
	stmts struct {
		createAuthor, getAuthor, listAuthorsByIDs, updateAuthorBio, deleteAuthor *sql.Stmt
		createBook, listBooksWithAuthor, authorTotals                            *sql.Stmt
	}
}

func (q *sqlcQueries) WithTx(tx *sql.Tx) *sqlcQueries {
	return &sqlcQueries{db: tx, tx: tx, stmts: q.stmts}
}

// ---- models.go ----

type sqlcAuthor struct {
	ID        int64
	Name      string
	Bio       sql.NullString
	Tags      []string
	CreatedAt time.Time
}

type sqlcBook struct {
	ID        int64
	Uid       uuid.UUID
	AuthorID  int64
	Isbn      string
	Title     string
	Price     string
	Published sql.NullTime
}

// ---- query.sql.go ----

const sqlcCreateAuthor = `-- name: CreateAuthor :one
INSERT INTO orm_sqlc_authors (name, bio, tags) VALUES ($1, $2, $3)
RETURNING id, name, bio, tags, created_at
`

type sqlcCreateAuthorParams struct {
	Name string
	Bio  sql.NullString
	Tags []string
}

func (q *sqlcQueries) CreateAuthor(ctx context.Context, arg sqlcCreateAuthorParams) (sqlcAuthor, error) {
	row := q.queryRow(ctx, q.stmts.createAuthor, sqlcCreateAuthor, arg.Name, arg.Bio, pq.Array(arg.Tags))
	var i sqlcAuthor
	err := row.Scan(&i.ID, &i.Name, &i.Bio, pq.Array(&i.Tags), &i.CreatedAt)
	return i, err
}

const sqlcGetAuthor = `-- name: GetAuthor :one
SELECT id, name, bio, tags, created_at FROM orm_sqlc_authors WHERE id = $1
`

func (q *sqlcQueries) GetAuthor(ctx context.Context, id int64) (sqlcAuthor, error) {
	row := q.queryRow(ctx, q.stmts.getAuthor, sqlcGetAuthor, id)
	var i sqlcAuthor
	err := row.Scan(&i.ID, &i.Name, &i.Bio, pq.Array(&i.Tags), &i.CreatedAt)
	return i, err
}

const sqlcListAuthorsByIDs = `-- name: ListAuthorsByIDs :many
SELECT id, name, bio, tags, created_at FROM orm_sqlc_authors
WHERE id = ANY($1::bigint[]) ORDER BY name
`

func (q *sqlcQueries) ListAuthorsByIDs(ctx context.Context, dollar_1 []int64) ([]sqlcAuthor, error) {
	rows, err := q.query(ctx, q.stmts.listAuthorsByIDs, sqlcListAuthorsByIDs, pq.Array(dollar_1))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var items []sqlcAuthor
	for rows.Next() {
		var i sqlcAuthor
		if err := rows.Scan(&i.ID, &i.Name, &i.Bio, pq.Array(&i.Tags), &i.CreatedAt); err != nil {
			return nil, err
		}
		items = append(items, i)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return items, nil
}

const sqlcUpdateAuthorBio = `-- name: UpdateAuthorBio :execrows
UPDATE orm_sqlc_authors SET bio = $2 WHERE id = $1
`

type sqlcUpdateAuthorBioParams struct {
	ID  int64
	Bio sql.NullString
}

func (q *sqlcQueries) UpdateAuthorBio(ctx context.Context, arg sqlcUpdateAuthorBioParams) (int64, error) {
	result, err := q.exec(ctx, q.stmts.updateAuthorBio, sqlcUpdateAuthorBio, arg.ID, arg.Bio)
	if err != nil {
		return 0, err
	}
	return result.RowsAffected()
}

const sqlcDeleteAuthor = `-- name: DeleteAuthor :exec
DELETE FROM orm_sqlc_authors WHERE id = $1
`

func (q *sqlcQueries) DeleteAuthor(ctx context.Context, id int64) error {
	_, err := q.exec(ctx, q.stmts.deleteAuthor, sqlcDeleteAuthor, id)
	return err
}

const sqlcCreateBook = `-- name: CreateBook :one
INSERT INTO orm_sqlc_books (author_id, isbn, title, price, published)
VALUES ($1, $2, $3, $4, $5)
RETURNING id, uid, author_id, isbn, title, price, published
`

type sqlcCreateBookParams struct {
	AuthorID  int64
	Isbn      string
	Title     string
	Price     string
	Published sql.NullTime
}

func (q *sqlcQueries) CreateBook(ctx context.Context, arg sqlcCreateBookParams) (sqlcBook, error) {
	row := q.queryRow(ctx, q.stmts.createBook, sqlcCreateBook, arg.AuthorID, arg.Isbn, arg.Title, arg.Price, arg.Published)
	var i sqlcBook
	err := row.Scan(&i.ID, &i.Uid, &i.AuthorID, &i.Isbn, &i.Title, &i.Price, &i.Published)
	return i, err
}

const sqlcListBooksWithAuthor = `-- name: ListBooksWithAuthor :many
SELECT b.id, b.uid, b.title, b.price, b.published, a.name AS author_name
FROM orm_sqlc_books b JOIN orm_sqlc_authors a ON a.id = b.author_id
WHERE b.price >= $1 ORDER BY b.id
`

type sqlcListBooksWithAuthorRow struct {
	ID         int64
	Uid        uuid.UUID
	Title      string
	Price      string
	Published  sql.NullTime
	AuthorName string
}

func (q *sqlcQueries) ListBooksWithAuthor(ctx context.Context, price string) ([]sqlcListBooksWithAuthorRow, error) {
	rows, err := q.query(ctx, q.stmts.listBooksWithAuthor, sqlcListBooksWithAuthor, price)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var items []sqlcListBooksWithAuthorRow
	for rows.Next() {
		var i sqlcListBooksWithAuthorRow
		if err := rows.Scan(&i.ID, &i.Uid, &i.Title, &i.Price, &i.Published, &i.AuthorName); err != nil {
			return nil, err
		}
		items = append(items, i)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return items, nil
}

const sqlcAuthorTotals = `-- name: AuthorTotals :one
SELECT count(*) AS books, COALESCE(sum(price), 0)::text AS total
FROM orm_sqlc_books WHERE author_id = $1
`

type sqlcAuthorTotalsRow struct {
	Books int64
	Total string
}

func (q *sqlcQueries) AuthorTotals(ctx context.Context, authorID int64) (sqlcAuthorTotalsRow, error) {
	row := q.queryRow(ctx, q.stmts.authorTotals, sqlcAuthorTotals, authorID)
	var i sqlcAuthorTotalsRow
	err := row.Scan(&i.Books, &i.Total)
	return i, err
}

// ---- the tests ----

func TestSQLC(t *testing.T) {
	t.Parallel()
	schema, err := os.ReadFile("testdata/orm/sqlc/schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	ormTargets(t, false, func(t *testing.T, tg ormTarget) {
		db, err := sql.Open("pgpipe", tg.dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		sqlcCreateSchema(t, db, string(schema))
		for _, prepared := range []bool{false, true} {
			t.Run(fmt.Sprintf("prepared=%v", prepared), func(t *testing.T) {
				ctx := context.Background()
				q := sqlcNew(db)
				if prepared {
					if q, err = sqlcPrepare(ctx, db); err != nil {
						t.Fatal(err)
					}
					defer q.Close()
				}
				if _, err := db.Exec("TRUNCATE orm_sqlc_authors, orm_sqlc_books"); err != nil {
					t.Fatal(err)
				}
				authors := sqlcAuthors(t, ctx, q)
				sqlcBooks(t, ctx, q, authors)
				sqlcTx(t, ctx, db, q, authors)
			})
		}
	})
}

// sqlcCreateSchema runs schema.sql (several statements, no arguments: the
// simple protocol) after dropping what an earlier run may have left.
func sqlcCreateSchema(t *testing.T, db *sql.DB, schema string) {
	t.Helper()
	drop := func() {
		if _, err := db.Exec("DROP TABLE IF EXISTS orm_sqlc_books, orm_sqlc_authors"); err != nil {
			t.Errorf("drop: %v", err)
		}
	}
	drop()
	t.Cleanup(drop)
	if _, err := db.Exec(schema); err != nil {
		t.Fatalf("schema.sql: %v", err)
	}
}

var sqlcCreated = time.Date(2022, 3, 4, 5, 6, 7, 80910000, time.UTC)

// sqlcAuthors creates, reads, lists, updates and deletes authors.
func sqlcAuthors(t *testing.T, ctx context.Context, q *sqlcQueries) []sqlcAuthor {
	t.Helper()
	params := []sqlcCreateAuthorParams{
		{Name: "Ursula", Bio: sql.NullString{String: "Earthsea, \"Hainish\"\n", Valid: true}, Tags: []string{"sf", "fantasy", "a,b", `c"d`}},
		{Name: "Borges", Tags: []string{}},
		{Name: "Gone", Tags: []string{"x"}},
	}
	var authors []sqlcAuthor
	for _, p := range params {
		a, err := q.CreateAuthor(ctx, p)
		if err != nil {
			t.Fatalf("CreateAuthor %s: %v", p.Name, err)
		}
		if a.ID == 0 || a.Name != p.Name || a.Bio != p.Bio || !slices.Equal(a.Tags, p.Tags) || !a.CreatedAt.Equal(sqlcCreated) {
			t.Fatalf("CreateAuthor returned %+v for %+v", a, p)
		}
		got, err := q.GetAuthor(ctx, a.ID)
		if err != nil || got.ID != a.ID || got.Name != a.Name || got.Bio != a.Bio || !slices.Equal(got.Tags, a.Tags) || !got.CreatedAt.Equal(a.CreatedAt) {
			t.Fatalf("GetAuthor(%d) = %+v, %v; want %+v", a.ID, got, err, a)
		}
		authors = append(authors, a)
	}
	if err := q.DeleteAuthor(ctx, authors[2].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := q.GetAuthor(ctx, authors[2].ID); !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("GetAuthor of a deleted author: %v, want sql.ErrNoRows", err)
	}
	n, err := q.UpdateAuthorBio(ctx, sqlcUpdateAuthorBioParams{ID: authors[1].ID, Bio: sql.NullString{String: "Ficciones", Valid: true}})
	if err != nil || n != 1 {
		t.Fatalf("UpdateAuthorBio: %d rows, %v", n, err)
	}
	authors[1].Bio = sql.NullString{String: "Ficciones", Valid: true}
	list, err := q.ListAuthorsByIDs(ctx, []int64{authors[0].ID, authors[1].ID, authors[2].ID})
	if err != nil || len(list) != 2 || list[0].Name != "Borges" || list[0].Bio != authors[1].Bio || list[1].Name != "Ursula" ||
		!slices.Equal(list[1].Tags, authors[0].Tags) {
		t.Fatalf("ListAuthorsByIDs: %+v, %v", list, err)
	}
	return authors[:2]
}

// sqlcBooks creates books (uuid, numeric, date) and reads them joined.
func sqlcBooks(t *testing.T, ctx context.Context, q *sqlcQueries, authors []sqlcAuthor) {
	t.Helper()
	pub := sql.NullTime{Time: time.Date(1968, 11, 1, 0, 0, 0, 0, time.UTC), Valid: true}
	var created []sqlcBook
	for i, p := range []sqlcCreateBookParams{
		{AuthorID: authors[0].ID, Isbn: "978-0-553-38304-5", Title: "A Wizard of Earthsea", Price: "12.99", Published: pub},
		{AuthorID: authors[0].ID, Isbn: "978-0-441-47812-5", Title: "The Left Hand of Darkness", Price: "99999999.99"},
		{AuthorID: authors[1].ID, Isbn: "978-0-8021-3030-0", Title: "Ficciones", Price: "0.01"},
	} {
		b, err := q.CreateBook(ctx, p)
		if err != nil {
			t.Fatalf("CreateBook %d: %v", i, err)
		}
		if b.ID == 0 || b.Uid == uuid.Nil || b.Isbn != p.Isbn || b.Price != p.Price || b.Published.Valid != p.Published.Valid ||
			!b.Published.Time.Equal(p.Published.Time) {
			t.Fatalf("CreateBook returned %+v for %+v", b, p)
		}
		created = append(created, b)
	}
	// Past prepare_threshold (5), so that pgpipe prepares them on its own.
	for run := 0; run < 8; run++ {
		rows, err := q.ListBooksWithAuthor(ctx, "12.99")
		if err != nil || len(rows) != 2 {
			t.Fatalf("ListBooksWithAuthor, run %d: %d rows, %v", run, len(rows), err)
		}
		for i, r := range rows {
			b := created[i]
			if r.ID != b.ID || r.Uid != b.Uid || r.Price != b.Price || r.AuthorName != "Ursula" || r.Published != b.Published {
				t.Fatalf("ListBooksWithAuthor, run %d, row %d: %+v, want book %+v by Ursula", run, i, r, b)
			}
		}
		tot, err := q.AuthorTotals(ctx, authors[run%2].ID)
		if want := []string{"100000012.98", "0.01"}[run%2]; err != nil || tot.Books != int64(2-run%2) || tot.Total != want {
			t.Fatalf("AuthorTotals, run %d: %+v, %v; want %d books, %s", run, tot, err, 2-run%2, want)
		}
	}
	_, err := q.CreateBook(ctx, sqlcCreateBookParams{AuthorID: authors[1].ID, Isbn: created[0].Isbn, Title: "dup", Price: "1"})
	if pgErr := ormWantPgError(t, err, "23505"); pgErr.ConstraintName != "orm_sqlc_books_isbn_key" {
		t.Fatalf("unique violation on constraint %q", pgErr.ConstraintName)
	}
	_, err = q.CreateBook(ctx, sqlcCreateBookParams{AuthorID: 1 << 40, Isbn: "orphan", Title: "orphan", Price: "1"})
	ormWantPgError(t, err, "23503")
	ormStillWorks(t, q.db.(*sql.DB))
}

// sqlcTx runs the queries in a transaction through WithTx (prepared
// statements re-bound with tx.StmtContext), rolls back and commits.
func sqlcTx(t *testing.T, ctx context.Context, db *sql.DB, q *sqlcQueries, authors []sqlcAuthor) {
	t.Helper()
	for _, commit := range []bool{false, true} {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		qtx := q.WithTx(tx)
		a, err := qtx.CreateAuthor(ctx, sqlcCreateAuthorParams{Name: fmt.Sprint("In tx, commit ", commit), Tags: []string{"t"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := qtx.CreateBook(ctx, sqlcCreateBookParams{AuthorID: a.ID, Isbn: fmt.Sprint("tx-", commit), Title: "t", Price: "5.50"}); err != nil {
			t.Fatal(err)
		}
		tot, err := qtx.AuthorTotals(ctx, a.ID)
		if err != nil || tot.Books != 1 || tot.Total != "5.50" {
			t.Fatalf("AuthorTotals in the transaction: %+v, %v", tot, err)
		}
		if commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
		_, err = q.GetAuthor(ctx, a.ID)
		if commit && err != nil || !commit && !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("GetAuthor after commit=%v: %v", commit, err)
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	qtx := q.WithTx(tx)
	_, err = qtx.CreateBook(ctx, sqlcCreateBookParams{AuthorID: authors[0].ID, Isbn: "978-0-553-38304-5", Title: "dup", Price: "1"})
	ormWantPgError(t, err, "23505")
	if _, err := qtx.GetAuthor(ctx, authors[0].ID); err == nil {
		t.Fatal("a query after an error in the transaction succeeded; want 25P02")
	} else {
		ormWantPgError(t, err, "25P02")
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	ormStillWorks(t, db)
}
