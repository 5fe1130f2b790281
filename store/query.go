package store

import (
	"context"
	"database/sql"

	"github.com/jmoiron/sqlx"
)

// queryer is what statements run on: a pool, a connection or a transaction.
type queryer interface {
	sqlx.QueryerContext
	sqlx.ExecerContext
}

// query runs statements written with ? placeholders on either database:
// for PostgreSQL it rebinds them to $1, $2, … first. Every statement of the
// store goes through one, so the SQL is written once. Rebinding twice is
// harmless (a rebound statement has no ? left), and no statement of the
// store has a ? inside a string literal.
type query struct {
	x  queryer
	pg bool
}

// Rebind returns q with its placeholders in the dialect's form.
func (q query) Rebind(s string) string {
	if q.pg {
		return sqlx.Rebind(sqlx.DOLLAR, s)
	}
	return s
}

func (q query) QueryContext(ctx context.Context, s string, args ...any) (*sql.Rows, error) {
	return q.x.QueryContext(ctx, q.Rebind(s), args...)
}

func (q query) QueryxContext(ctx context.Context, s string, args ...any) (*sqlx.Rows, error) {
	return q.x.QueryxContext(ctx, q.Rebind(s), args...)
}

func (q query) QueryRowxContext(ctx context.Context, s string, args ...any) *sqlx.Row {
	return q.x.QueryRowxContext(ctx, q.Rebind(s), args...)
}

func (q query) ExecContext(ctx context.Context, s string, args ...any) (sql.Result, error) {
	return q.x.ExecContext(ctx, q.Rebind(s), args...)
}
