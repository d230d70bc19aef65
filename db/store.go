package db

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// What every domain store (cart.Store, families.Store, …) stands on: a pool to run
// its transactions on and a clock.

// Clock is a store's clock: nil reads the system's, tests set their own.
type Clock func() time.Time

// Time is the clock's time now.
func (c Clock) Time() time.Time {
	if c == nil {
		return time.Now()
	}
	return c()
}

// InTx runs fn in one transaction on pool: committed if fn returns nil, rolled
// back otherwise.
func InTx(ctx context.Context, pool *pgxpool.Pool, fn func(q *Queries) error) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return fn(New(tx)) })
}

// NotFound reports whether err is a :one query that found no row.
func NotFound(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// UniqueViolation reports whether err is a UNIQUE constraint refusing a row
// (constraint "" for any of them).
func UniqueViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && (constraint == "" || pgErr.ConstraintName == constraint)
}

// Unavailable reports whether err is PostgreSQL being out of reach or out of
// resources for a moment (worth answering "try again"), not a bug.
func Unavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// 08 connection exception, 53 insufficient resources, 57 operator intervention
		// (a restart kills open connections with 57P01), 40 serialization or deadlock.
		switch pgErr.Code[:2] {
		case "08", "53", "57", "40":
			return true
		}
	}
	var connErr *pgconn.ConnectError
	return errors.As(err, &connErr) || pgconn.SafeToRetry(err)
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// EscapeLike makes s match itself in a LIKE pattern.
func EscapeLike(s string) string { return likeEscaper.Replace(s) }

// Zone is the org's time zone, in which its days and deadlines are told.
func (o Org) Zone() (*time.Location, error) {
	loc, err := time.LoadLocation(o.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("org %s: time zone: %w", o.ID, err)
	}
	return loc, nil
}

// OrgZone reads the org and its time zone.
func (q *Queries) OrgZone(ctx context.Context, orgID uuid.UUID) (Org, *time.Location, error) {
	org, err := q.GetOrg(ctx, orgID)
	if err != nil {
		return org, nil, fmt.Errorf("read org: %w", err)
	}
	loc, err := org.Zone()
	return org, loc, err
}
