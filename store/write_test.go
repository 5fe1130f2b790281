package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestWriteGroupsAndIsolatesFailures sends many concurrent writes, some of
// which fail: every successful write must be committed, every failed one
// must leave nothing behind, and each caller must get its own result.
func TestWriteGroupsAndIsolatesFailures(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	ctx := context.Background()
	errBoom := errors.New("boom")
	const n = 300
	results := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = db.Write(ctx, func(tx *Tx) error {
				_, err := tx.InsertExecution(ctx, NewExecution{CallbackID: fmt.Sprint("cb-", i), Ref: "EX", PortalID: 1, Action: "a", Request: "{}", LeaseUntil: time.Now()})
				if err != nil {
					return err
				}
				switch i % 10 {
				case 3:
					return errBoom // after writing: the insert must be undone
				case 7:
					panic("write panicked")
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i, err := range results {
		_, getErr := db.GetExecution(ctx, fmt.Sprint("cb-", i))
		switch i % 10 {
		case 3:
			if !errors.Is(err, errBoom) {
				t.Errorf("write %d = %v, want boom", i, err)
			}
			if !errors.Is(getErr, ErrNotFound) {
				t.Errorf("failed write %d left its row: %v", i, getErr)
			}
		case 7:
			if err == nil {
				t.Errorf("panicking write %d returned nil", i)
			}
			if !errors.Is(getErr, ErrNotFound) {
				t.Errorf("panicking write %d left its row: %v", i, getErr)
			}
		default:
			if err != nil || getErr != nil {
				t.Errorf("write %d = %v, row %v; want committed", i, err, getErr)
			}
		}
	}
}

// TestLedgerTransitions checks the ledger's conditional updates: exactly
// one of "block" and "finish" decides the delivery channel, and a
// stale attempt can neither finish nor release.
func TestLedgerTransitions(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	ctx := context.Background()
	write := func(fn func(tx *Tx) error) {
		t.Helper()
		if err := db.Write(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	insert := func(id string) {
		write(func(tx *Tx) error {
			ok, err := tx.InsertExecution(ctx, NewExecution{CallbackID: id, Ref: "EX", PortalID: 9, Action: "a", Request: "{}", LeaseUntil: time.Now().Add(time.Minute)})
			if !ok && err == nil {
				t.Errorf("insert %s: not inserted", id)
			}
			return err
		})
	}
	insert("inline")
	write(func(tx *Tx) error {
		if ok, err := tx.InsertExecution(ctx, NewExecution{CallbackID: "inline", Ref: "EX", Request: "{}"}); ok || err != nil {
			t.Errorf("second insert = %v, %v; want false, nil", ok, err)
		}
		reached, ok, err := tx.Finish(ctx, "inline", 1, Outcome{FinalState: "SUCCESS", Outputs: "{}"})
		if reached != ExecAnswered || !ok || err != nil {
			t.Errorf("finish = %q %v %v, want answered", reached, ok, err)
		}
		if blocked, err := tx.Block(ctx, "inline", 1, time.Now(), true); blocked || err != nil {
			t.Errorf("block after finish = %v %v, want false", blocked, err)
		}
		return nil
	})

	insert("blocked")
	write(func(tx *Tx) error {
		if blocked, err := tx.Block(ctx, "blocked", 1, time.Now().Add(time.Hour), true); !blocked || err != nil {
			t.Errorf("block = %v %v", blocked, err)
		}
		if _, ok, _ := tx.Finish(ctx, "blocked", 2, Outcome{FinalState: "SUCCESS"}); ok {
			t.Errorf("a stale attempt finished the execution")
		}
		if _, ok, _ := tx.Claim(ctx, "blocked", 1, time.Now().Add(time.Minute), false, time.Time{}); ok {
			t.Errorf("claimed an execution whose lease is still held")
		}
		reached, ok, err := tx.Finish(ctx, "blocked", 1, Outcome{FinalState: "SUCCESS", Outputs: `{"a":"b"}`})
		if reached != ExecAwaitingDelivery || !ok || err != nil {
			t.Errorf("finish = %q %v %v, want awaiting_delivery", reached, ok, err)
		}
		return nil
	})
	var claimed []Delivery
	write(func(tx *Tx) error {
		var err error
		claimed, err = tx.ClaimDeliveries(ctx, 9, "c1", time.Now().Add(time.Minute), 100)
		return err
	})
	if len(claimed) != 1 || claimed[0].CallbackID != "blocked" || claimed[0].Outputs != `{"a":"b"}` {
		t.Fatalf("claimed %+v", claimed)
	}
	write(func(tx *Tx) error {
		again, err := tx.ClaimDeliveries(ctx, 9, "c2", time.Now().Add(time.Minute), 100)
		if len(again) != 0 {
			t.Errorf("claimed an outcome another worker holds")
		}
		if err != nil {
			return err
		}
		return tx.MarkDelivered(ctx, "c1", []string{"blocked"})
	})
	e, err := db.GetExecution(ctx, "blocked")
	if err != nil || e.DeliveredAt.IsZero() {
		t.Errorf("delivered execution = %+v, %v", e, err)
	}
}

// TestCheckpointKeepsTheLogSmall: commits never checkpoint on their own,
// so without Checkpoint the write-ahead log would only grow.
func TestCheckpointKeepsTheLogSmall(t *testing.T) {
	t.Parallel()
	db := newSQLiteTestDB(t)
	ctx := context.Background()
	walSize := func() int64 {
		fi, err := os.Stat(db.Path() + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	write := func(from, to int) {
		for i := from; i < to; i++ {
			err := db.Write(ctx, func(tx *Tx) error {
				_, err := tx.InsertExecution(ctx, NewExecution{CallbackID: fmt.Sprint("wal-", i), Ref: "EX", PortalID: 1, Action: "a",
					Request: strings.Repeat("x", 2000), LeaseUntil: time.Now()})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	write(0, 500)
	grown := walSize()
	for round := 1; round <= 4; round++ {
		if err := db.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		write(round*500, (round+1)*500)
	}
	if got := walSize(); got > grown*3/2 {
		t.Errorf("write-ahead log grew from %d to %d bytes across checkpoints; it should be reused", grown, got)
	}
}

// TestOpenPathWithURICharacters: a file whose path holds #, ? or % is that
// file, not one named by the path's part before them.
func TestOpenPathWithURICharacters(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "seed#0?x=1%41")
	path := filepath.Join(dir, "test.db")
	db := openTestDB(t, path)
	write(t, db, func(tx *Tx) error { return tx.UpsertPortal(context.Background(), Portal{PortalID: 4}) })
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database file %s: %v", path, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(dir))
	for _, e := range entries {
		if e.Name() != filepath.Base(dir) {
			t.Errorf("Open(%q) also made %s", path, e.Name())
		}
	}
}
