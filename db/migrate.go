package db

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib" // database/sql over pgx, for goose only
	"github.com/pressly/goose/v3"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate applies every embedded migration not yet applied to the database at dsn.
func Migrate(ctx context.Context, dsn string) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrations folder: %w", err)
	}
	return MigrateFS(ctx, dsn, sub)
}

// MigrateFS applies the goose migrations of fsys not yet applied to the database
// at dsn. Migrations are numbered per change, and changes land in any order: one
// numbered below the database's latest (written while another landed, merged
// later) is applied too, rather than refused.
func MigrateFS(ctx context.Context, dsn string, fsys fs.FS) error {
	// The URL may carry the processes' pool settings (pool_max_conns, …: see
	// docs/deploy.md), which are not PostgreSQL parameters: parse them out as the
	// processes' pools do.
	pcfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("open database for migrations: %w", err)
	}
	sqlDB := stdlib.OpenDB(*pcfg.ConnConfig)
	defer sqlDB.Close()
	provider, err := goose.NewProvider(goose.DialectPostgres, sqlDB, fsys, goose.WithAllowOutofOrder(true))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := provider.Up(ctx); err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}
