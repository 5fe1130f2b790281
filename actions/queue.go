package actions

import (
	"context"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"

	"hubspot-actions/store"
)

// queue is the runtime's River client, whichever database it runs on:
// River's client is generic in its driver's transaction type (*sql.Tx on
// SQLite, pgx.Tx on PostgreSQL), and the runtime needs only these calls.
type queue interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	// insertManyTx inserts jobs in the store's write transaction tx.
	insertManyTx(ctx context.Context, tx *store.Tx, jobs []river.InsertManyParams) error
}

// newQueue builds the River client on the store's database.
func newQueue(db *store.DB, cfg *river.Config) (queue, error) {
	if d := db.RiverPostgres(); d != nil {
		return newClient(d, cfg, (*store.Tx).PGX)
	}
	return newClient(db.RiverSQLite(), cfg, (*store.Tx).SQL)
}

func newClient[TTx any](d riverdriver.Driver[TTx], cfg *river.Config, txOf func(*store.Tx) TTx) (queue, error) {
	c, err := river.NewClient(d, cfg)
	if err != nil {
		return nil, err
	}
	return client[TTx]{c, txOf}, nil
}

type client[TTx any] struct {
	*river.Client[TTx]
	txOf func(*store.Tx) TTx
}

func (c client[TTx]) insertManyTx(ctx context.Context, tx *store.Tx, jobs []river.InsertManyParams) error {
	_, err := c.InsertManyTx(ctx, c.txOf(tx), jobs)
	return err
}
