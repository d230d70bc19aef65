package db_test

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// DATABASE_URL may set the pool's size for the API and the worker
// (pool_max_conns): the migrations accept the same URL.
func TestMigrateTakesTheProcessesURL(t *testing.T) {
	_, dsn := testenv.Database(t)
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	if err := db.Migrate(context.Background(), dsn+sep+"pool_max_conns=3"); err != nil {
		t.Fatal(err)
	}
}

// A migration numbered below the database's latest — written on a branch while
// another landed first — is applied when it arrives, not refused.
func TestMigrationsLandingOutOfOrder(t *testing.T) {
	ctx := context.Background()
	pool, dsn := testenv.Database(t)
	// A schema of its own, where no migration ran yet (search_path is passed on
	// as a run-time parameter).
	if _, err := pool.Exec(ctx, `CREATE SCHEMA out_of_order`); err != nil {
		t.Fatal(err)
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	dsn += sep + "search_path=out_of_order"
	file := func(table string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte("-- +goose Up\nCREATE TABLE " + table + " (id int);\n-- +goose Down\nDROP TABLE " + table + ";\n")}
	}
	landed := fstest.MapFS{"00001_a.sql": file("out_of_order_a"), "00003_c.sql": file("out_of_order_c")}
	if err := db.MigrateFS(ctx, dsn, landed); err != nil {
		t.Fatal(err)
	}
	landed["00002_b.sql"] = file("out_of_order_b")
	if err := db.MigrateFS(ctx, dsn, landed); err != nil {
		t.Fatalf("the late migration was refused: %v", err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_schema = 'out_of_order' AND table_name LIKE 'out\_of\_order\_%'`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("%d of the 3 tables (%v)", n, err)
	}
}
