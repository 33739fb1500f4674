package integration_test

// GORM through gorm.io/driver/postgres with pgpipe underneath. The
// dialector takes the driver either by name (Config.DriverName + DSN) or as
// an *sql.DB (Config.Conn); both are tested. Set DriverName to "pgpipe" in
// the Conn form too: with an empty DriverName the dialector assumes pgx and,
// when AutoMigrate inspects an existing table, passes pgx.QueryExecMode as
// an extra leading argument that only pgx's stdlib driver knows to drop
// (TestGORMConnWithoutDriverNameMigratesAgain).
//
// Errors: the dialector's TranslateError recognises *pgconn.PgError by type
// and anything else through a JSON round trip that reads the fields Code,
// Severity and Message, which *pgpipe.Error has, so gorm.ErrDuplicatedKey
// and friends work. But for a non-pgx error it wraps only the message
// text, so with TranslateError on, errors.As(err, **pgpipe.Error) no longer
// finds the server error: branch on the gorm sentinels there, or leave
// TranslateError off and use errors.As.

import (
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgpipe/pgpipe"
	shopspring "github.com/shopspring/decimal"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"
	"gorm.io/gorm/schema"
)

type gormCompany struct {
	ID        uint
	Name      string         `gorm:"size:100;not null"`
	Employees []gormEmployee `gorm:"foreignKey:CompanyID"`
}

type gormEmployee struct {
	ID        uint
	CompanyID uint
	Company   *gormCompany // belongs to
	Name      string       `gorm:"not null"`
	Email     string       `gorm:"size:200;uniqueIndex;not null"`
	// Salary is numeric through shopspring/decimal; Balance is numeric
	// kept as the exact decimal string (pgpipe's ScanType for numeric).
	Salary    shopspring.Decimal `gorm:"type:numeric(12,2);not null"`
	Balance   string             `gorm:"type:numeric(38,18);not null"`
	HiredAt   time.Time          // timestamptz
	StartDate time.Time          `gorm:"type:date"`
	Stamp     time.Time          `gorm:"type:timestamp"` // without time zone
	LeftAt    *time.Time
	Nickname  sql.NullString
	Skills    []gormSkill `gorm:"many2many:employee_skills"`
	CreatedAt time.Time
	UpdatedAt time.Time
	DeletedAt gorm.DeletedAt `gorm:"index"`
}

type gormSkill struct {
	ID   uint
	Name string `gorm:"size:50;uniqueIndex;not null"`
}

// gormSetup says how the test hands pgpipe to GORM.
type gormSetup struct {
	name        string
	conn        bool // postgres.Config.Conn (an *sql.DB from a Connector) instead of DriverName+DSN
	prepareStmt bool // gorm.Config.PrepareStmt: GORM prepares and caches *sql.Stmt
	// timeZone is added to the DSN as GORM's docs write it
	// (TimeZone=Asia/Shanghai); pgpipe sends it as a server setting, and
	// timestamptz values come back in that zone.
	timeZone string
}

var gormSetups = []gormSetup{
	{name: "driver-name", timeZone: "Asia/Shanghai"},
	{name: "conn-prepare-stmt", conn: true, prepareStmt: true},
}

func TestGORM(t *testing.T) {
	t.Parallel()
	for _, s := range gormSetups {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			ormTargets(t, true, func(t *testing.T, tg ormTarget) {
				prefix := ormPrefix(t, "gorm")
				g := gormOpen(t, tg.dsn, prefix, s, false)
				gormMigrate(t, g, prefix)
				ada, brian := gormCreateGraph(t, g)
				gormReadBack(t, g, s, ada, brian)
				gormPreloadAndJoins(t, g, ada, brian)
				gormConcurrentReads(t, g, ada, brian)
				gormUpdateAndDelete(t, g, brian)
				gormTransactions(t, g)
				gormCreateInBatches(t, g)
				gormErrors(t, g, s, tg, prefix, ada)
			})
		})
	}
}

// gormOpen opens GORM on pgpipe as s says, with table names starting with
// prefix.
func gormOpen(t *testing.T, dsn, prefix string, s gormSetup, translate bool) *gorm.DB {
	t.Helper()
	var dialector gorm.Dialector
	if s.conn {
		cn, err := pgpipe.NewConnector(dsn)
		if err != nil {
			t.Fatal(err)
		}
		dialector = postgres.New(postgres.Config{Conn: sql.OpenDB(cn), DriverName: "pgpipe"})
	} else {
		if s.timeZone != "" {
			cfg, err := pgpipe.ParseDSN(dsn)
			if err != nil {
				t.Fatal(err)
			}
			dsn = withSettings(t, cfg, "TimeZone="+s.timeZone).FormatDSN()
		}
		dialector = postgres.New(postgres.Config{DriverName: "pgpipe", DSN: dsn})
	}
	g, err := gorm.Open(dialector, &gorm.Config{
		NamingStrategy: schema.NamingStrategy{TablePrefix: prefix},
		Logger:         logger.Discard,
		PrepareStmt:    s.prepareStmt,
		TranslateError: translate,
	})
	if err != nil {
		t.Fatalf("gorm.Open: %v", err)
	}
	sqlDB := gormSQL(t, g)
	t.Cleanup(func() { _ = sqlDB.Close() })
	return g
}

// gormSQL returns the *sql.DB under g.
func gormSQL(t *testing.T, g *gorm.DB) *sql.DB {
	t.Helper()
	sqlDB, err := g.DB()
	if err != nil {
		t.Fatal(err)
	}
	return sqlDB
}

// gormMigrate runs AutoMigrate twice (the second run inspects the existing
// tables) and checks the tables, foreign keys and a column type it made.
func gormMigrate(t *testing.T, g *gorm.DB, prefix string) {
	t.Helper()
	for run := 1; run <= 2; run++ {
		if err := g.AutoMigrate(&gormCompany{}, &gormEmployee{}, &gormSkill{}); err != nil {
			t.Fatalf("AutoMigrate, run %d: %v", run, err)
		}
	}
	sqlDB := gormSQL(t, g)
	want := []string{prefix + "employee_skills", prefix + "gorm_companies", prefix + "gorm_employees", prefix + "gorm_skills"}
	if got := ormTables(t, sqlDB, prefix); !slices.Equal(got, want) {
		t.Fatalf("tables after AutoMigrate: %q, want %q", got, want)
	}
	var fks int
	err := sqlDB.QueryRow(`SELECT count(*) FROM information_schema.table_constraints
		WHERE constraint_type = 'FOREIGN KEY' AND table_name LIKE $1`, strings.ReplaceAll(prefix, "_", `\_`)+"%").Scan(&fks)
	if err != nil || fks != 3 {
		t.Fatalf("%d foreign keys (%v), want 3: employee→company and both sides of the join table", fks, err)
	}
	var typ string
	err = sqlDB.QueryRow(`SELECT format_type(atttypid, atttypmod) FROM pg_attribute
		WHERE attrelid = $1::regclass AND attname = 'salary'`, prefix+"gorm_employees").Scan(&typ)
	if err != nil || typ != "numeric(12,2)" {
		t.Fatalf("salary column type %q (%v), want numeric(12,2)", typ, err)
	}
}

// gormHired is a timestamptz value with microseconds in a zone that is
// neither UTC nor the server's.
var gormHired = time.Date(2024, 2, 29, 23, 59, 58, 123456000, time.FixedZone("IST", 5*3600+1800))

// gormCreateGraph creates a company with two employees and their skills in
// one Create (has-many and many2many) and checks the ids RETURNING filled.
func gormCreateGraph(t *testing.T, g *gorm.DB) (ada, brian gormEmployee) {
	t.Helper()
	left := time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC)
	co := gormCompany{Name: "Acme", Employees: []gormEmployee{{
		Name: "Ada", Email: "ada@acme.test", Salary: shopspring.RequireFromString("12345678.90"),
		Balance: "12345678901234567890.123456789012345678", HiredAt: gormHired,
		StartDate: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC),
		Stamp:     time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC),
		Nickname:  sql.NullString{String: "countess", Valid: true},
		Skills:    []gormSkill{{Name: "go"}, {Name: "sql"}},
	}, {
		Name: "Brian", Email: "brian@acme.test", Salary: shopspring.RequireFromString("-0.01"),
		Balance: "0.000000000000000001", HiredAt: gormHired.AddDate(-1, 0, 0).UTC(),
		StartDate: time.Date(2023, 3, 1, 0, 0, 0, 0, time.UTC), Stamp: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		LeftAt: &left, Skills: []gormSkill{{Name: "c"}},
	}}}
	if err := g.Create(&co).Error; err != nil {
		t.Fatalf("Create company with employees and skills: %v", err)
	}
	if co.ID == 0 {
		t.Fatal("company id not filled in from RETURNING")
	}
	for _, e := range co.Employees {
		if e.ID == 0 || e.CompanyID != co.ID {
			t.Fatalf("employee %s: id %d, company %d (company is %d)", e.Name, e.ID, e.CompanyID, co.ID)
		}
		for _, s := range e.Skills {
			if s.ID == 0 {
				t.Fatalf("skill %s of %s: id not filled in", s.Name, e.Name)
			}
		}
	}
	var links int64
	if err := g.Table(g.NamingStrategy.JoinTableName("employee_skills")).Count(&links).Error; err != nil || links != 3 {
		t.Fatalf("%d rows in the join table (%v), want 3", links, err)
	}
	return co.Employees[0], co.Employees[1]
}

// gormReadBack reads both employees and compares every field with what
// was written: numerics exactly, times to the microsecond, timestamptz in
// the session's TimeZone and timestamp in UTC. (GORM with pgx reads
// timestamp, without time zone, in the DSN's TimeZone instead.)
func gormReadBack(t *testing.T, g *gorm.DB, s gormSetup, want ...gormEmployee) {
	t.Helper()
	for _, w := range want {
		var got gormEmployee
		if err := g.First(&got, w.ID).Error; err != nil {
			t.Fatalf("First(%d): %v", w.ID, err)
		}
		gormSameEmployee(t, got, w)
		if s.timeZone != "" && got.HiredAt.Location().String() != s.timeZone || got.Stamp.Location() != time.UTC {
			t.Fatalf("timestamptz read in %v, timestamp in %v; want %q and UTC", got.HiredAt.Location(), got.Stamp.Location(), s.timeZone)
		}
	}
	var text string
	if err := g.Model(&gormEmployee{}).Select("salary::text").Where("id = ?", want[0].ID).Scan(&text).Error; err != nil || text != "12345678.90" {
		t.Fatalf("salary as stored: %q (%v), want 12345678.90", text, err)
	}
}

func gormSameEmployee(t *testing.T, got, w gormEmployee) {
	t.Helper()
	if got.Name != w.Name || got.Email != w.Email || got.CompanyID != w.CompanyID || got.Nickname != w.Nickname {
		t.Fatalf("read back %+v, want %+v", got, w)
	}
	if !got.Salary.Equal(w.Salary) || got.Balance != w.Balance {
		t.Fatalf("%s: salary %s balance %s, want %s and %s exactly", w.Name, got.Salary, got.Balance, w.Salary, w.Balance)
	}
	if !got.HiredAt.Equal(w.HiredAt) || !got.StartDate.Equal(w.StartDate) || !got.Stamp.Equal(w.Stamp) {
		t.Fatalf("%s: hired %v start %v stamp %v, want %v, %v, %v", w.Name, got.HiredAt, got.StartDate, got.Stamp, w.HiredAt, w.StartDate, w.Stamp)
	}
	if (got.LeftAt == nil) != (w.LeftAt == nil) || got.LeftAt != nil && !got.LeftAt.Equal(*w.LeftAt) {
		t.Fatalf("%s: left %v, want %v", w.Name, got.LeftAt, w.LeftAt)
	}
	// GORM set CreatedAt in Go with nanoseconds; the server keeps microseconds.
	if d := got.CreatedAt.Sub(w.CreatedAt); d <= -time.Microsecond || d >= time.Microsecond {
		t.Fatalf("%s: created %v, want %v to the microsecond", w.Name, got.CreatedAt, w.CreatedAt)
	}
}

// gormPreloadAndJoins loads the graph back with Preload (has-many, nested
// many2many) and Joins (belongs-to), and aggregates a numeric.
func gormPreloadAndJoins(t *testing.T, g *gorm.DB, ada, brian gormEmployee) {
	t.Helper()
	var cos []gormCompany
	err := g.Preload("Employees", func(db *gorm.DB) *gorm.DB { return db.Order("id") }).
		Preload("Employees.Skills", func(db *gorm.DB) *gorm.DB { return db.Order("name") }).
		Where("id = ?", ada.CompanyID).Find(&cos).Error
	if err != nil || len(cos) != 1 || len(cos[0].Employees) != 2 {
		t.Fatalf("Preload: %d companies (%v), want 1 with 2 employees: %+v", len(cos), err, cos)
	}
	var got []string
	for _, e := range cos[0].Employees {
		for _, s := range e.Skills {
			got = append(got, e.Name+":"+s.Name)
		}
	}
	if want := []string{"Ada:go", "Ada:sql", "Brian:c"}; !slices.Equal(got, want) {
		t.Fatalf("preloaded skills %q, want %q", got, want)
	}
	gormSameEmployee(t, cos[0].Employees[1], brian)

	var emps []gormEmployee
	err = g.Joins("Company").Where(`"Company"."name" = ?`, "Acme").
		Order(clause.OrderByColumn{Column: clause.Column{Table: clause.CurrentTable, Name: "id"}}).Find(&emps).Error
	if err != nil || len(emps) != 2 {
		t.Fatalf("Joins: %d employees (%v), want 2", len(emps), err)
	}
	for _, e := range emps {
		if e.Company == nil || e.Company.ID != ada.CompanyID || e.Company.Name != "Acme" {
			t.Fatalf("Joins: %s has company %+v", e.Name, e.Company)
		}
	}
	gormSameEmployee(t, emps[0], ada)

	var sums []struct {
		CompanyID uint
		Total     shopspring.Decimal
	}
	err = g.Model(&gormEmployee{}).Select("company_id, sum(salary) AS total").Group("company_id").Scan(&sums).Error
	if err != nil || len(sums) != 1 || !sums[0].Total.Equal(shopspring.RequireFromString("12345678.89")) {
		t.Fatalf("sum(salary): %+v (%v), want 12345678.89", sums, err)
	}
}

// gormConcurrentReads reads from 8 goroutines at once, past pgpipe's
// preparation threshold, so that behind PgBouncer the client connections
// share the two server connections in every order.
func gormConcurrentReads(t *testing.T, g *gorm.DB, ada, brian gormEmployee) {
	t.Helper()
	gormSQL(t, g).SetMaxOpenConns(8)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- gormReadLoop(g, []gormEmployee{ada, brian}, w)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func gormReadLoop(g *gorm.DB, emps []gormEmployee, w int) error {
	for i := 0; i < 25; i++ {
		want := emps[(w+i)%2]
		var got gormEmployee
		if err := g.Preload("Skills").First(&got, want.ID).Error; err != nil {
			return fmt.Errorf("goroutine %d, read %d: %w", w, i, err)
		}
		if got.Email != want.Email || !got.Salary.Equal(want.Salary) || got.Balance != want.Balance ||
			!got.HiredAt.Equal(want.HiredAt) || len(got.Skills) != len(want.Skills) {
			return fmt.Errorf("goroutine %d, read %d: got %s (%s, %s, %v, %d skills), want %s", w, i,
				got.Email, got.Salary, got.Balance, got.HiredAt, len(got.Skills), want.Email)
		}
	}
	return nil
}

// gormUpdateAndDelete updates single columns and maps, then soft-deletes.
func gormUpdateAndDelete(t *testing.T, g *gorm.DB, brian gormEmployee) {
	t.Helper()
	res := g.Model(&gormEmployee{}).Where("email = ?", brian.Email).Update("salary", shopspring.RequireFromString("100.50"))
	if res.Error != nil || res.RowsAffected != 1 {
		t.Fatalf("Update: %d rows, %v", res.RowsAffected, res.Error)
	}
	res = g.Model(&brian).Updates(map[string]any{"nickname": "bri", "left_at": nil, "balance": "-99999999999999999999.999999999999999999"})
	if res.Error != nil || res.RowsAffected != 1 {
		t.Fatalf("Updates: %d rows, %v", res.RowsAffected, res.Error)
	}
	var got gormEmployee
	if err := g.First(&got, brian.ID).Error; err != nil {
		t.Fatal(err)
	}
	if !got.Salary.Equal(shopspring.RequireFromString("100.5")) || got.Nickname.String != "bri" || got.LeftAt != nil ||
		got.Balance != "-99999999999999999999.999999999999999999" {
		t.Fatalf("after updates: salary %s nickname %v left %v balance %s", got.Salary, got.Nickname, got.LeftAt, got.Balance)
	}
	if res := g.Delete(&got); res.Error != nil || res.RowsAffected != 1 {
		t.Fatalf("Delete: %d rows, %v", res.RowsAffected, res.Error)
	}
	var visible, all int64
	g.Model(&gormEmployee{}).Count(&visible)
	g.Unscoped().Model(&gormEmployee{}).Count(&all)
	if visible != 1 || all != 2 {
		t.Fatalf("after soft delete: %d visible, %d in all; want 1 and 2", visible, all)
	}
	if err := g.First(&gormEmployee{}, brian.ID).Error; !errors.Is(err, gorm.ErrRecordNotFound) {
		t.Fatalf("First on a soft-deleted row: %v, want gorm.ErrRecordNotFound", err)
	}
}

var errGormRollback = errors.New("roll it back")

// gormTransactions checks that a transaction whose function fails is
// rolled back, a nested one rolls back to its savepoint only, and a
// failing statement aborts its transaction with the server's error.
func gormTransactions(t *testing.T, g *gorm.DB) {
	t.Helper()
	err := g.Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&gormSkill{Name: "rolled-back"}).Error; err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&gormSkill{}).Where("name = ?", "rolled-back").Count(&n).Error; err != nil || n != 1 {
			return fmt.Errorf("inside the transaction: count %d, %v", n, err)
		}
		return errGormRollback
	})
	if !errors.Is(err, errGormRollback) {
		t.Fatalf("Transaction: %v, want the function's error", err)
	}
	err = g.Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&gormSkill{Name: "outer"}).Error; err != nil {
			return err
		}
		inner := tx.Transaction(func(tx2 *gorm.DB) error {
			if err := tx2.Create(&gormSkill{Name: "inner"}).Error; err != nil {
				return err
			}
			return errGormRollback
		})
		if !errors.Is(inner, errGormRollback) {
			return fmt.Errorf("nested transaction: %v", inner)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("outer transaction: %v", err)
	}
	err = g.Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&gormSkill{Name: "before-duplicate"}).Error; err != nil {
			return err
		}
		return tx.Create(&gormSkill{Name: "go"}).Error
	})
	ormWantPgError(t, err, "23505")
	var names []string
	if err := g.Model(&gormSkill{}).Where("name IN ?", []string{"rolled-back", "outer", "inner", "before-duplicate"}).
		Order("name").Pluck("name", &names).Error; err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"outer"}) {
		t.Fatalf("skills left by the transactions: %q, want only [outer]", names)
	}
	ormStillWorks(t, gormSQL(t, g))
}

// gormCreateInBatches inserts 100 rows 30 at a time and checks that each
// returned id belongs to its own row.
func gormCreateInBatches(t *testing.T, g *gorm.DB) {
	t.Helper()
	skills := make([]gormSkill, 100)
	for i := range skills {
		skills[i].Name = fmt.Sprintf("batch-%03d", i)
	}
	res := g.CreateInBatches(&skills, 30)
	if res.Error != nil || res.RowsAffected != 100 {
		t.Fatalf("CreateInBatches: %d rows, %v", res.RowsAffected, res.Error)
	}
	var stored []gormSkill
	if err := g.Where("name LIKE ?", "batch-%").Find(&stored).Error; err != nil || len(stored) != 100 {
		t.Fatalf("%d batch rows stored (%v), want 100", len(stored), err)
	}
	byID := make(map[uint]string, len(stored))
	for _, s := range stored {
		byID[s.ID] = s.Name
	}
	for _, s := range skills {
		if byID[s.ID] != s.Name {
			t.Fatalf("skill %s got id %d, which the table gives to %q", s.Name, s.ID, byID[s.ID])
		}
	}
}

// gormErrors checks record-not-found, a unique violation seen through
// errors.As, and what TranslateError makes of pgpipe's errors.
func gormErrors(t *testing.T, g *gorm.DB, s gormSetup, tg ormTarget, prefix string, ada gormEmployee) {
	t.Helper()
	if err := g.First(&gormEmployee{}, 1<<30).Error; !errors.Is(err, gorm.ErrRecordNotFound) {
		t.Fatalf("First on a missing id: %v, want gorm.ErrRecordNotFound", err)
	}
	dup := gormEmployee{CompanyID: ada.CompanyID, Name: "Ada II", Email: ada.Email, Balance: "0", HiredAt: gormHired}
	pgErr := ormWantPgError(t, g.Create(&dup).Error, "23505")
	if pgErr.TableName != prefix+"gorm_employees" || pgErr.ConstraintName != "idx_"+prefix+"gorm_employees_email" {
		t.Fatalf("unique violation on table %q constraint %q", pgErr.TableName, pgErr.ConstraintName)
	}
	ormStillWorks(t, gormSQL(t, g))

	tr := gormOpen(t, tg.dsn, prefix, s, true)
	if err := tr.Create(&dup).Error; !errors.Is(err, gorm.ErrDuplicatedKey) {
		t.Fatalf("TranslateError, duplicate: %v (%T), want gorm.ErrDuplicatedKey", err, err)
	}
	orphan := gormEmployee{CompanyID: 1 << 30, Name: "Nobody", Email: "nobody@acme.test", Balance: "0", HiredAt: gormHired}
	if err := tr.Create(&orphan).Error; !errors.Is(err, gorm.ErrForeignKeyViolated) {
		t.Fatalf("TranslateError, missing company: %v, want gorm.ErrForeignKeyViolated", err)
	}
	ormStillWorks(t, gormSQL(t, tr))
}

// TestGORMConnWithoutDriverNameMigratesAgain is the setup GORM's docs show
// for an existing *sql.DB, postgres.New(postgres.Config{Conn: sqlDB}), with
// sqlDB opened by "pgx" before and by "pgpipe" now. With an empty
// DriverName the dialector assumes pgx: AutoMigrate of an existing table
// runs "SELECT * FROM t LIMIT $1" with arguments (pgx.QueryExecMode, 1),
// and pgx's stdlib removes the first. The drop-in promise needs pgpipe to
// do the same.
func TestGORMConnWithoutDriverNameMigratesAgain(t *testing.T) {
	t.Parallel()
	ormTargets(t, true, func(t *testing.T, tg ormTarget) {
		prefix := ormPrefix(t, "gormconn")
		sqlDB, err := sql.Open("pgpipe", tg.dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sqlDB.Close() })
		g, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), &gorm.Config{
			NamingStrategy: schema.NamingStrategy{TablePrefix: prefix}, Logger: logger.Discard,
		})
		if err != nil {
			t.Fatal(err)
		}
		for run := 1; run <= 2; run++ {
			if err := g.AutoMigrate(&gormSkill{}); err != nil {
				t.Fatalf("AutoMigrate, run %d: %v", run, err)
			}
		}
		s := gormSkill{Name: "again"}
		if err := g.Create(&s).Error; err != nil || s.ID == 0 {
			t.Fatalf("Create: id %d, %v", s.ID, err)
		}
		ormStillWorks(t, sqlDB)
	})
}

// gormAmountLoose and gormAmountExact are one table's model before and
// after a change to its numeric column, as in GORM's TestSmartMigrateColumn.
type gormAmountLoose struct {
	ID     uint
	Amount string `gorm:"type:numeric"`
}

type gormAmountExact struct {
	ID     uint
	Amount string `gorm:"type:numeric(10,2)"`
}

// GORM's migrator alters an unconstrained numeric column only when the
// driver reports a precision and scale for it that differ from the
// model's (information_schema has none): lib/pq and pgx report 65535 and
// 65531, and so does pgpipe.
func TestGORMAutoMigrateConstrainsNumeric(t *testing.T) {
	t.Parallel()
	prefix := ormPrefix(t, "gormnum")
	g := gormOpen(t, dsn(t, "sslmode=disable"), prefix, gormSetup{name: "dsn"}, false)
	table := prefix + "amounts"
	if err := g.Table(table).AutoMigrate(&gormAmountLoose{}); err != nil {
		t.Fatalf("AutoMigrate with numeric: %v", err)
	}
	if err := g.Table(table).Create(&gormAmountLoose{Amount: "12.345"}).Error; err != nil {
		t.Fatal(err)
	}
	if err := g.Table(table).AutoMigrate(&gormAmountExact{}); err != nil {
		t.Fatalf("AutoMigrate to numeric(10,2): %v", err)
	}
	var precision, scale sql.NullInt64
	err := gormSQL(t, g).QueryRow("SELECT numeric_precision, numeric_scale FROM information_schema.columns WHERE table_name = $1 AND column_name = 'amount'", table).Scan(&precision, &scale)
	if err != nil || precision.Int64 != 10 || scale.Int64 != 2 {
		t.Fatalf("after AutoMigrate the column is numeric(%v,%v), %v; want numeric(10,2)", precision, scale, err)
	}
	var got gormAmountExact
	if err := g.Table(table).First(&got).Error; err != nil || got.Amount != "12.35" {
		t.Fatalf("the row after the change: %q, %v; want 12.35", got.Amount, err)
	}
}
