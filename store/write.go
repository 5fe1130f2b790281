package store

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jmoiron/sqlx"
)

// Tx is one write's view of a shared transaction. Its methods are the
// store's write operations; SQL (SQLite) and PGX (PostgreSQL) expose the
// transaction to River so a job is inserted atomically with the ledger
// change that calls for it.
type Tx struct {
	x    query
	sql  *sql.Tx // SQLite
	pgx  pgx.Tx  // PostgreSQL
	end  func(commit bool) error
	done bool
	now  time.Time
	keys *keyring
}

// SQL returns the underlying transaction on SQLite, for River's InsertTx
// with the driver of DB.RiverSQLite; nil on PostgreSQL.
func (tx *Tx) SQL() *sql.Tx { return tx.sql }

// PGX returns the underlying transaction on PostgreSQL, for River's
// InsertTx with the driver of DB.RiverPostgres; nil on SQLite.
func (tx *Tx) PGX() pgx.Tx { return tx.pgx }

// commit commits the transaction; rollback undoes it, and does nothing once
// it was committed or rolled back.
func (tx *Tx) commit() error {
	tx.done = true
	return tx.end(true)
}

func (tx *Tx) rollback() {
	if !tx.done {
		tx.done = true
		tx.end(false)
	}
}

// beginSQLite begins transactions on SQLite's single writer connection.
func beginSQLite(w *sqlx.DB) func(ctx context.Context) (*Tx, error) {
	return func(ctx context.Context) (*Tx, error) {
		x, err := w.BeginTxx(ctx, nil)
		if err != nil {
			return nil, err
		}
		return &Tx{x: query{x: x}, sql: x.Tx, end: func(commit bool) error {
			if commit {
				return x.Commit()
			}
			return x.Rollback()
		}}, nil
	}
}

// Now returns the time the transaction started, in UTC; every write in it
// uses this one instant.
func (tx *Tx) Now() time.Time { return tx.now }

// Write runs fn inside a transaction and commits it. Writes that arrive while
// another is committing are grouped into the next transaction (group
// commit). An error from fn undoes only that write's changes and is
// returned to its caller alone: the others are then run again on their own,
// so fn may run more than once and must only touch the database (keep
// results in variables it assigns, not appends to). fn must return quickly
// and must not call Write itself.
//
// Write waits for the commit even if ctx is cancelled, so a caller never has
// to guess whether its write happened.
func (db *DB) Write(ctx context.Context, fn func(tx *Tx) error) error {
	return db.c.write(context.WithoutCancel(ctx), db.now, fn)
}

// Writes counts the calls of Write that committed since Open: the ledger
// writes a caller paid for, whatever the group commit shared.
func (db *DB) Writes() uint64 { return db.c.writes.Load() }

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
	begin  func(ctx context.Context) (*Tx, error)
	keys   *keyring
	mu     sync.Mutex
	queue  []*writeOp
	busy   bool
	writes atomic.Uint64
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
	c.gather()
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
		if o.err == nil {
			c.writes.Add(1)
		}
		if o != op {
			o.wake <- struct{}{}
		}
	}
	return op.err
}

// gather lets writers that are about to queue do so before the leader takes
// its batch: every write that joins saves a commit of its own, and a commit
// costs several times a write. Yielding costs nothing when nobody else is
// ready to run.
func (c *committer) gather() {
	c.mu.Lock()
	n := len(c.queue)
	c.mu.Unlock()
	for range 4 {
		runtime.Gosched()
		c.mu.Lock()
		m := len(c.queue)
		c.mu.Unlock()
		if m == n || m >= maxBatch {
			return
		}
		n = m
	}
}

// commit runs a batch in one transaction. Writes almost never fail, so
// the fast path uses no savepoints; if one does fail, the transaction is
// rolled back and every write of the batch is run again in a transaction
// of its own, so each caller gets its own result.
func (c *committer) commit(ctx context.Context, now time.Time, batch []*writeOp) {
	if len(batch) == 1 {
		batch[0].err = c.one(ctx, now, batch[0].fn)
		return
	}
	tx, err := c.begin(ctx)
	if err != nil {
		for _, o := range batch {
			o.err = fmt.Errorf("store: begin: %w", err)
		}
		return
	}
	tx.now, tx.keys = now, c.keys
	for _, o := range batch {
		if err := call(o.fn, tx); err != nil {
			tx.rollback()
			for _, o := range batch {
				o.err = c.one(ctx, now, o.fn)
			}
			return
		}
	}
	if err := tx.commit(); err != nil {
		for _, o := range batch {
			o.err = fmt.Errorf("store: commit: %w", err)
		}
	}
}

// one runs a single write in its own transaction.
func (c *committer) one(ctx context.Context, now time.Time, fn func(*Tx) error) error {
	tx, err := c.begin(ctx)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer tx.rollback() // no-op after commit
	tx.now, tx.keys = now, c.keys
	if err := call(fn, tx); err != nil {
		return err
	}
	if err := tx.commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
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
