package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
)

// Tx is one write's view of a shared transaction. Its methods are the
// store's write operations; SQL exposes the transaction to River so a job is
// inserted atomically with the ledger change that calls for it.
type Tx struct {
	x   *sqlx.Tx
	now time.Time
}

// SQL returns the underlying transaction, for River's InsertTx.
func (tx *Tx) SQL() *sql.Tx { return tx.x.Tx }

// Now returns the time the transaction started, in UTC; every write in it
// uses this one instant.
func (tx *Tx) Now() time.Time { return tx.now }

// Write runs fn inside a transaction and commits it. Writes that arrive while
// another is committing are grouped into the next transaction (group commit),
// each inside its own savepoint: an error from fn undoes only that write's
// changes and is returned to its caller alone. fn must do database work only
// and return quickly; it must not call Write itself.
//
// Write waits for the commit even if ctx is cancelled, so a caller never has
// to guess whether its write happened.
func (db *DB) Write(ctx context.Context, fn func(tx *Tx) error) error {
	return db.c.write(context.WithoutCancel(ctx), db.now, fn)
}

// maxBatch bounds how many writes share one transaction, so one batch cannot
// hold the writer for long.
const maxBatch = 128

type writeOp struct {
	fn   func(*Tx) error
	err  error
	wake chan struct{}
	lead bool
}

// committer implements group commit without a goroutine of its own: the
// first writer to find the committer idle becomes the leader and commits
// everything queued; when it is done it hands leadership to the oldest
// waiter, if any.
type committer struct {
	db    *sqlx.DB
	mu    sync.Mutex
	queue []*writeOp
	busy  bool
}

func (c *committer) write(ctx context.Context, now func() time.Time, fn func(*Tx) error) error {
	op := &writeOp{fn: fn, wake: make(chan struct{}, 1)}
	c.mu.Lock()
	c.queue = append(c.queue, op)
	if c.busy {
		c.mu.Unlock()
		<-op.wake
		if !op.lead {
			return op.err
		}
	} else {
		c.busy = true
		c.mu.Unlock()
	}

	// This goroutine leads: its own op is at the front of the queue.
	c.mu.Lock()
	n := min(len(c.queue), maxBatch)
	batch := c.queue[:n:n]
	c.queue = c.queue[n:]
	c.mu.Unlock()

	c.commit(ctx, now().UTC(), batch)

	c.mu.Lock()
	if len(c.queue) > 0 {
		next := c.queue[0]
		next.lead = true
		next.wake <- struct{}{}
	} else {
		c.busy = false
		c.queue = nil
	}
	c.mu.Unlock()
	for _, o := range batch {
		if o != op {
			o.wake <- struct{}{}
		}
	}
	return op.err
}

func (c *committer) commit(ctx context.Context, now time.Time, batch []*writeOp) {
	fail := func(err error) {
		for _, o := range batch {
			if o.err == nil {
				o.err = err
			}
		}
	}
	x, err := c.db.BeginTxx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("store: begin: %w", err))
		return
	}
	defer x.Rollback() // no-op after Commit
	tx := &Tx{x: x, now: now}
	if len(batch) == 1 {
		if err := call(batch[0].fn, tx); err != nil {
			batch[0].err = err
			return
		}
	} else {
		for _, o := range batch {
			if _, err := x.ExecContext(ctx, "SAVEPOINT w"); err != nil {
				fail(fmt.Errorf("store: savepoint: %w", err))
				return
			}
			if o.err = call(o.fn, tx); o.err != nil {
				if _, err := x.ExecContext(ctx, "ROLLBACK TO SAVEPOINT w"); err != nil {
					fail(fmt.Errorf("store: rollback to savepoint: %w", err))
					return
				}
			}
			if _, err := x.ExecContext(ctx, "RELEASE SAVEPOINT w"); err != nil {
				fail(fmt.Errorf("store: release savepoint: %w", err))
				return
			}
		}
	}
	if err := x.Commit(); err != nil {
		fail(fmt.Errorf("store: commit: %w", err))
	}
}

// call runs fn, turning a panic into an error so that a faulty write cannot
// leave the committer without a leader.
func call(fn func(*Tx) error, tx *Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: write panicked: %v", p)
		}
	}()
	return fn(tx)
}
