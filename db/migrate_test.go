package db_test

import (
	"context"
	"strings"
	"testing"

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
