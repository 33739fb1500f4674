package integration_test

// bun with pgdialect over sql.OpenDB(pgpipe.NewConnector(dsn)). bun
// formats argument values into the SQL text itself, so the driver sees
// queries without parameters and bun parses what the driver returns:
// arrays as their text form, jsonb as bytes, numeric as text. Table names
// live in struct tags, so the two targets run one after the other.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pgpipe/pgpipe"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

type bunUser struct {
	bun.BaseModel `bun:"table:orm_bun_users,alias:u"`

	ID        int64          `bun:",pk,autoincrement"`
	Name      string         `bun:",notnull"`
	Email     string         `bun:",notnull,unique"`
	Tags      []string       `bun:",array"`
	Balance   string         `bun:"type:numeric(30,10),notnull"`
	Score     float64        `bun:",notnull"`
	Attrs     map[string]any `bun:"type:jsonb"`
	SeenAt    time.Time      `bun:",notnull"` // timestamptz
	CreatedAt time.Time      `bun:",nullzero,notnull,default:'2021-06-07 08:09:10.111213+00'"`
	Posts     []*bunPost     `bun:"rel:has-many,join:id=author_id"`
}

type bunPost struct {
	bun.BaseModel `bun:"table:orm_bun_posts,alias:p"`

	ID       int64    `bun:",pk,autoincrement"`
	AuthorID int64    `bun:",notnull"`
	Author   *bunUser `bun:"rel:belongs-to,join:author_id=id"`
	Title    string   `bun:",notnull"`
	Views    int32    `bun:",notnull"`
}

var bunCreated = time.Date(2021, 6, 7, 8, 9, 10, 111213000, time.UTC)

func TestBun(t *testing.T) {
	t.Parallel()
	ormTargets(t, false, func(t *testing.T, tg ormTarget) {
		ctx := context.Background()
		cn, err := pgpipe.NewConnector(tg.dsn)
		if err != nil {
			t.Fatal(err)
		}
		db := bun.NewDB(sql.OpenDB(cn), pgdialect.New())
		t.Cleanup(func() { _ = db.Close() })
		bunCreateTables(t, ctx, db)
		users := bunInsert(t, ctx, db)
		bunRelations(t, ctx, db, users)
		bunUpdateDelete(t, ctx, db, users)
		bunTx(t, ctx, db, users)
	})
}

// bunCreateTables (re)creates the tables from the models and drops them
// when the test ends.
func bunCreateTables(t *testing.T, ctx context.Context, db *bun.DB) {
	t.Helper()
	drop := func() {
		for _, m := range []any{(*bunPost)(nil), (*bunUser)(nil)} {
			if _, err := db.NewDropTable().Model(m).IfExists().Cascade().Exec(ctx); err != nil {
				t.Errorf("drop table: %v", err)
			}
		}
	}
	drop()
	t.Cleanup(drop)
	if _, err := db.NewCreateTable().Model((*bunUser)(nil)).Exec(ctx); err != nil {
		t.Fatalf("create users: %v", err)
	}
	_, err := db.NewCreateTable().Model((*bunPost)(nil)).
		ForeignKey(`("author_id") REFERENCES "orm_bun_users" ("id") ON DELETE CASCADE`).Exec(ctx)
	if err != nil {
		t.Fatalf("create posts: %v", err)
	}
}

// bunUsers are the users bunInsert writes; their strings and arrays hold
// the characters that quoting gets wrong.
func bunUsers() []*bunUser {
	seen := time.Date(2024, 2, 29, 12, 30, 45, 654321000, time.FixedZone("", -(3*3600+30*60)))
	return []*bunUser{
		{Name: `O'Brien "the" \ one`, Email: "ob@x.test", Tags: []string{"a,b", `qu"ote`, `back\slash`, "{brace}", "", "NULL", "é ☃"},
			Balance: "12345678901234567890.0123456789", Score: 0.1, Attrs: map[string]any{"k": "v", "n": 1.5}, SeenAt: seen},
		{Name: "Zoë", Email: "zoe@x.test", Tags: []string{}, Balance: "-0.0000000001", Score: -1e300,
			Attrs: map[string]any{}, SeenAt: seen.Add(time.Microsecond)},
		{Name: "Lin", Email: "lin@x.test", Tags: nil, Balance: "0.0000000000", Score: 3, SeenAt: seen.UTC()},
	}
}

// bunInsert bulk-inserts the users and their posts and checks that
// RETURNING filled the ids and the defaulted column.
func bunInsert(t *testing.T, ctx context.Context, db *bun.DB) []*bunUser {
	t.Helper()
	users := bunUsers()
	res, err := db.NewInsert().Model(&users).Exec(ctx)
	if n, _ := res.RowsAffected(); err != nil || n != int64(len(users)) {
		t.Fatalf("bulk insert users: %d rows, %v", n, err)
	}
	ids := map[int64]bool{}
	for _, u := range users {
		if u.ID == 0 || ids[u.ID] || !u.CreatedAt.Equal(bunCreated) {
			t.Fatalf("after insert, %s has id %d (seen before: %v) created %v: RETURNING did not fill them", u.Name, u.ID, ids[u.ID], u.CreatedAt)
		}
		ids[u.ID] = true
	}
	var posts []*bunPost
	for i, u := range users[:2] {
		for j := 0; j <= i+1; j++ {
			posts = append(posts, &bunPost{AuthorID: u.ID, Title: fmt.Sprintf("%s #%d", u.Name, j), Views: int32(10 * j)})
		}
	}
	if _, err := db.NewInsert().Model(&posts).Returning("*").Exec(ctx); err != nil {
		t.Fatalf("bulk insert posts: %v", err)
	}
	for _, p := range posts {
		if p.ID == 0 {
			t.Fatalf("post %q: no id from RETURNING *", p.Title)
		}
	}
	var got []*bunUser
	if err := db.NewSelect().Model(&got).Order("u.id").Scan(ctx); err != nil || len(got) != len(users) {
		t.Fatalf("select users: %d, %v", len(got), err)
	}
	for i := range got {
		bunSame(t, got[i], users[i])
	}
	return users
}

// bunSame compares the columns of two users; a NULL array is a nil slice,
// '{}' an empty one.
func bunSame(t *testing.T, got, want *bunUser) {
	t.Helper()
	if got.ID != want.ID || got.Name != want.Name || got.Email != want.Email || !slices.Equal(got.Tags, want.Tags) || (got.Tags == nil) != (want.Tags == nil) ||
		got.Balance != want.Balance || got.Score != want.Score || !got.SeenAt.Equal(want.SeenAt) ||
		!got.CreatedAt.Equal(bunCreated) || fmt.Sprint(got.Attrs) != fmt.Sprint(want.Attrs) {
		t.Fatalf("read back\n%#v\nwant\n%#v", got, want)
	}
}

// bunRelations loads has-many and belongs-to relations.
func bunRelations(t *testing.T, ctx context.Context, db *bun.DB, users []*bunUser) {
	t.Helper()
	var got []*bunUser
	err := db.NewSelect().Model(&got).
		Relation("Posts", func(q *bun.SelectQuery) *bun.SelectQuery { return q.Order("p.id") }).
		Where("u.id IN (?)", bun.In([]int64{users[0].ID, users[1].ID, users[2].ID})).Order("u.id").Scan(ctx)
	if err != nil || len(got) != 3 {
		t.Fatalf("has-many: %d users, %v", len(got), err)
	}
	for i, u := range got {
		bunSame(t, u, users[i])
		var titles []string
		for _, p := range u.Posts {
			titles = append(titles, p.Title)
		}
		var want []string
		for j := 0; i < 2 && j <= i+1; j++ {
			want = append(want, fmt.Sprintf("%s #%d", u.Name, j))
		}
		if !slices.Equal(titles, want) {
			t.Fatalf("posts of %s: %q, want %q", u.Name, titles, want)
		}
	}
	var posts []*bunPost
	n, err := db.NewSelect().Model(&posts).Relation("Author").Where("p.views >= ?", 10).Order("p.id").ScanAndCount(ctx)
	if err != nil || n != 3 || len(posts) != 3 {
		t.Fatalf("belongs-to: %d posts, count %d, %v", len(posts), n, err)
	}
	for _, p := range posts {
		if p.Author == nil || p.Author.ID != p.AuthorID || p.Author.Email == "" {
			t.Fatalf("post %q: author %+v", p.Title, p.Author)
		}
	}
}

// bunUpdateDelete runs a bulk update and a DELETE ... RETURNING.
func bunUpdateDelete(t *testing.T, ctx context.Context, db *bun.DB, users []*bunUser) {
	t.Helper()
	users[0].Score, users[1].Score = 2.5, 1e-300
	users[0].Balance, users[1].Balance = "0.0000000001", "99999999999999999999.9999999999"
	res, err := db.NewUpdate().Model(&users).Column("score", "balance").Bulk().Exec(ctx)
	if n, _ := res.RowsAffected(); err != nil || n != int64(len(users)) {
		t.Fatalf("bulk update: %d rows, %v", n, err)
	}
	for _, u := range users {
		got := new(bunUser)
		if err := db.NewSelect().Model(got).Where("u.id = ?", u.ID).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		bunSame(t, got, u)
	}
	var deleted []int64
	err = db.NewDelete().Model((*bunPost)(nil)).Where("views < ?", 5).Returning("id").Scan(ctx, &deleted)
	if err != nil || len(deleted) != 2 {
		t.Fatalf("DELETE ... RETURNING id: %v, %v; want the two posts with 0 views", deleted, err)
	}
	left, err := db.NewSelect().Model((*bunPost)(nil)).Where("id IN (?)", bun.In(deleted)).Count(ctx)
	if err != nil || left != 0 {
		t.Fatalf("%d deleted posts still there, %v", left, err)
	}
}

var errBunRollback = errors.New("roll it back")

// bunTx rolls a RunInTx back, commits another, and hits a unique
// violation.
func bunTx(t *testing.T, ctx context.Context, db *bun.DB, users []*bunUser) {
	t.Helper()
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		p := &bunPost{AuthorID: users[2].ID, Title: "draft"}
		if _, err := tx.NewInsert().Model(p).Exec(ctx); err != nil || p.ID == 0 {
			return fmt.Errorf("insert in tx: id %d, %w", p.ID, err)
		}
		return errBunRollback
	})
	if !errors.Is(err, errBunRollback) {
		t.Fatalf("RunInTx: %v", err)
	}
	err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.NewInsert().Model(&bunPost{AuthorID: users[2].ID, Title: "final"}).Exec(ctx)
		return err
	})
	if err != nil {
		t.Fatalf("RunInTx commit: %v", err)
	}
	var titles []string
	if err := db.NewSelect().Model((*bunPost)(nil)).Column("title").Where("author_id = ?", users[2].ID).Scan(ctx, &titles); err != nil ||
		!slices.Equal(titles, []string{"final"}) {
		t.Fatalf("posts of %s after the transactions: %q, %v", users[2].Name, titles, err)
	}
	_, err = db.NewInsert().Model(&bunUser{Name: "dup", Email: users[0].Email, Balance: "0", SeenAt: time.Now()}).Exec(ctx)
	pgErr := ormWantPgError(t, err, "23505")
	if pgErr.TableName != "orm_bun_users" {
		t.Fatalf("unique violation on %q", pgErr.TableName)
	}
	ormStillWorks(t, db.DB) // bun.DB's own QueryRowContext formats "?", not "$1"
}
