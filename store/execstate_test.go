package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

// putExecution records an execution and moves it into state s through the
// transitions, at attempt 1 with its lease held for a minute (for live
// states) and, for finished callback states, unclaimed.
func putExecution(t *testing.T, db *DB, id string, s ExecState, answered bool) {
	t.Helper()
	ctx := context.Background()
	write(t, db, func(tx *Tx) error {
		if _, err := tx.InsertExecution(ctx, NewExecution{CallbackID: id, Ref: "EX", PortalID: 9, Action: "a", Request: "{}",
			LeaseUntil: tx.Now().Add(time.Minute), Blocked: s != ExecRunning && s != ExecAnswered}); err != nil {
			return err
		}
		if answered {
			if _, err := tx.Block(ctx, id, 1, tx.Now().Add(time.Hour), true); err != nil {
				return err
			}
		}
		switch s {
		case ExecWaiting:
			_, err := tx.Release(ctx, id, 1, tx.Now().Add(time.Minute), Failure{Reason: "r"}, tx.Now().Add(time.Hour), false)
			return err
		case ExecAnswered, ExecAwaitingDelivery, ExecDelivered, ExecUndeliverable:
			if _, _, err := tx.Finish(ctx, id, 1, Outcome{FinalState: "SUCCESS", Outputs: `{"x":"1"}`}); err != nil {
				return err
			}
		}
		switch s {
		case ExecDelivered, ExecUndeliverable:
			if _, err := tx.ClaimDeliveries(ctx, 9, "c-"+id, tx.Now().Add(time.Minute), 100); err != nil {
				return err
			}
			if s == ExecDelivered {
				return tx.MarkDelivered(ctx, "c-"+id, []string{id})
			}
			return tx.FailDeliveries(ctx, "c-"+id, []string{id}, "gone")
		}
		return nil
	})
	e, err := db.GetExecution(ctx, id)
	if err != nil || e.Exec != s {
		t.Fatalf("put %s in %s: got %q, %v", id, s, e.Exec, err)
	}
}

// TestTransitionGuards runs every transition against an execution in every
// state, with its lease held and with it run out: each must change exactly
// the states it names, into the state it names, and refuse the others
// leaving the row as it was.
func TestTransitionGuards(t *testing.T) {
	t.Parallel()
	type result struct {
		ok bool
		to ExecState // when ok
	}
	to := func(s ExecState) result { return result{true, s} }
	type transition struct {
		name string
		run  func(tx *Tx, id string) (Execution, bool, error)
		// want by state, with the lease held and then run out; missing
		// states must refuse.
		held, over map[ExecState]result
	}
	ctx := context.Background()
	far := time.Now().Add(time.Hour)
	transitions := []transition{
		{
			name: "Block",
			run: func(tx *Tx, id string) (Execution, bool, error) {
				return reread(tx, id)(tx.Block(ctx, id, 1, far, true))
			},
			held: map[ExecState]result{ExecRunning: to(ExecBlocked), ExecBlocked: to(ExecBlocked), ExecWaiting: to(ExecWaiting)},
			over: map[ExecState]result{ExecRunning: to(ExecBlocked), ExecBlocked: to(ExecBlocked), ExecWaiting: to(ExecWaiting)},
		},
		{
			name: "Claim inline",
			run: func(tx *Tx, id string) (Execution, bool, error) {
				return tx.Claim(ctx, id, 1, tx.Now().Add(time.Minute), true, time.Time{})
			},
			held: map[ExecState]result{},
			over: map[ExecState]result{ExecRunning: to(ExecRunning), ExecBlocked: to(ExecRunning), ExecWaiting: to(ExecRunning)},
		},
		{
			name: "Claim job",
			run: func(tx *Tx, id string) (Execution, bool, error) {
				return tx.Claim(ctx, id, 1, tx.Now().Add(time.Minute), false, far)
			},
			held: map[ExecState]result{},
			over: map[ExecState]result{ExecRunning: to(ExecBlocked), ExecBlocked: to(ExecBlocked), ExecWaiting: to(ExecBlocked)},
		},
		{
			name: "Release",
			run: func(tx *Tx, id string) (Execution, bool, error) {
				return reread(tx, id)(tx.Release(ctx, id, 1, tx.Now().Add(time.Second), Failure{Reason: "http 503", Status: 503, RetryAfter: 3 * time.Second}, far, false))
			},
			held: map[ExecState]result{ExecRunning: to(ExecWaiting), ExecBlocked: to(ExecWaiting)},
			over: map[ExecState]result{ExecRunning: to(ExecWaiting), ExecBlocked: to(ExecWaiting)},
		},
		{
			name: "Finish",
			run: func(tx *Tx, id string) (Execution, bool, error) {
				return rereadState(tx, id)(tx.Finish(ctx, id, 1, Outcome{FinalState: "FAIL_CONTINUE", Outputs: "{}", LastStatus: 400}))
			},
			held: map[ExecState]result{ExecRunning: to(ExecAnswered), ExecBlocked: to(ExecAwaitingDelivery)},
			over: map[ExecState]result{ExecRunning: to(ExecAnswered), ExecBlocked: to(ExecAwaitingDelivery)},
		},
		{
			name: "AnswerInline",
			run: func(tx *Tx, id string) (Execution, bool, error) {
				return tx.AnswerInline(ctx, id)
			},
			held: map[ExecState]result{ExecAwaitingDelivery: to(ExecAnswered), ExecDelivered: to(ExecAnswered), ExecUndeliverable: to(ExecAnswered)},
			over: map[ExecState]result{ExecAwaitingDelivery: to(ExecAnswered), ExecDelivered: to(ExecAnswered), ExecUndeliverable: to(ExecAnswered)},
		},
	}
	for _, tr := range transitions {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			db := newTestDB(t)
			now := time.Now().Truncate(time.Millisecond)
			for _, lease := range []string{"held", "over"} {
				want := tr.held
				if lease == "over" {
					want = tr.over
				}
				for _, s := range ExecStates() {
					id := lease + "-" + string(s)
					setClock(db, now)
					putExecution(t, db, id, s, false)
					if lease == "over" {
						setClock(db, now.Add(2*time.Minute))
					}
					before, _ := db.GetExecution(ctx, id)
					var got Execution
					var ok bool
					write(t, db, func(tx *Tx) error {
						var err error
						got, ok, err = tr.run(tx, id)
						return err
					})
					after, _ := db.GetExecution(ctx, id)
					w := want[s]
					switch {
					case ok != w.ok:
						t.Errorf("%s on %s (lease %s): ok = %v, want %v", tr.name, s, lease, ok, w.ok)
					case ok && (got.Exec != w.to || after.Exec != w.to):
						t.Errorf("%s on %s (lease %s) = %s (stored %s), want %s", tr.name, s, lease, got.Exec, after.Exec, w.to)
					case ok && got.UpdatedAt != after.UpdatedAt:
						t.Errorf("%s on %s: returned row differs from the stored one", tr.name, s)
					case !ok && after.UpdatedAt != before.UpdatedAt:
						t.Errorf("%s on %s (lease %s) refused but changed the row", tr.name, s, lease)
					}
				}
			}
		})
	}
}

// TestTransitionsRecordWhatTheySay checks the data transitions carry: the
// failure as columns, attempts and leases, BLOCK answered, expiry kept.
func TestTransitionsRecordWhatTheySay(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	setClock(db, now)
	putExecution(t, db, "x", ExecRunning, false)
	exp := now.Add(time.Hour)
	var e Execution
	write(t, db, func(tx *Tx) error {
		var err error
		e, _, err = reread(tx, "x")(tx.Release(ctx, "x", 1, now.Add(-time.Second), Failure{Reason: "clearbit: http 429", Status: 429, RetryAfter: 1500 * time.Millisecond}, exp, true))
		return err
	})
	if e.LastStatus != 429 || e.LastRetryAfter != 1500*time.Millisecond || e.LastPending || !e.BlockAnswered || !e.ExpiresAt.Equal(exp) || !e.LeaseUntil.Equal(now.Add(-time.Second)) {
		t.Errorf("Release recorded %+v", e)
	}
	write(t, db, func(tx *Tx) error {
		var err error
		e, _, err = tx.Claim(ctx, "x", 1, now.Add(time.Minute), true, now.Add(2*time.Hour))
		return err
	})
	// HubSpot was answered BLOCK: a request's claim cannot make it inline.
	if e.Exec != ExecBlocked || e.Attempt != 2 || !e.ExpiresAt.Equal(exp) || !e.LeaseUntil.Equal(now.Add(time.Minute)) {
		t.Errorf("Claim recorded %+v", e)
	}
	if _, ok, _ := tx1(t, db, func(tx *Tx) (Execution, bool, error) { return rereadState(tx, "x")(tx.Finish(ctx, "x", 1, Outcome{})) }); ok {
		t.Errorf("Finish of a stale attempt succeeded")
	}
	e, _, _ = tx1(t, db, func(tx *Tx) (Execution, bool, error) {
		return rereadState(tx, "x")(tx.Finish(ctx, "x", 2, Outcome{FinalState: "FAIL_CONTINUE", Outputs: "{}", LastStatus: 402}))
	})
	if e.Exec != ExecAwaitingDelivery || e.LastStatus != 402 || e.Exec.Live() || e.Exec.Delivery() != DeliveryCallback || !e.LeaseUntil.IsZero() {
		t.Errorf("Finish recorded %+v", e)
	}
	// A delivery worker holds the outcome: AnswerInline only notes BLOCK.
	putExecution(t, db, "held", ExecAwaitingDelivery, false)
	write(t, db, func(tx *Tx) error {
		_, err := tx.ClaimDeliveries(ctx, 9, "w", now.Add(time.Minute), 100)
		return err
	})
	e, ok, _ := tx1(t, db, func(tx *Tx) (Execution, bool, error) { return tx.AnswerInline(ctx, "held") })
	if !ok || e.Exec != ExecAwaitingDelivery || !e.BlockAnswered {
		t.Errorf("AnswerInline under a delivery claim = %v %+v, want awaiting_delivery, BLOCK answered", ok, e)
	}
}

// reread turns the answer of a transition that returns no row into one
// that does, read in the same transaction.
func reread(tx *Tx, id string) func(ok bool, err error) (Execution, bool, error) {
	return func(ok bool, err error) (Execution, bool, error) {
		if err != nil || !ok {
			return Execution{}, ok, err
		}
		e, err := tx.GetExecution(context.Background(), id)
		return e, ok, err
	}
}

// rereadState is reread for a transition that reports the state it
// reached, checking that the row agrees.
func rereadState(tx *Tx, id string) func(s ExecState, ok bool, err error) (Execution, bool, error) {
	return func(s ExecState, ok bool, err error) (Execution, bool, error) {
		e, ok, err := reread(tx, id)(ok, err)
		if err == nil && ok && e.Exec != s {
			err = fmt.Errorf("transition reported %q, the row holds %q", s, e.Exec)
		}
		return e, ok, err
	}
}

func tx1(t *testing.T, db *DB, fn func(tx *Tx) (Execution, bool, error)) (e Execution, ok bool, err error) {
	t.Helper()
	write(t, db, func(tx *Tx) error {
		e, ok, err = fn(tx)
		return err
	})
	return e, ok, err
}

// TestMigrationCarriesOldRowsIntoStates opens a database written by the
// schema before migration 0003 and checks every old combination of state,
// blocked, delivery and delivery result lands in its state.
func TestMigrationCarriesOldRowsIntoStates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	old, err := sqlx.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"0001_init", "0002_block_answered_app_secrets"} {
		body, err := migrationFS.ReadFile("migrations/" + v + ".sql")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := old.ExecContext(ctx, string(body)); err != nil {
			t.Fatalf("apply %s: %v", v, err)
		}
	}
	const seed = `CREATE TABLE schema_migrations (version TEXT NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL);
		INSERT INTO schema_migrations VALUES ('0001_init', 1), ('0002_block_answered_app_secrets', 1);`
	if _, err := old.ExecContext(ctx, seed); err != nil {
		t.Fatal(err)
	}
	rows := []struct {
		id, state          string
		blocked            int
		delivery           string
		deliveredAt        int64
		deliveryErr, lastE string
		want               ExecState
		wantStatus         int
		wantPending        bool
	}{
		{"running", "running", 0, "", 0, "", "", ExecRunning, 0, false},
		{"blocked", "running", 1, "", 0, "", "clearbit: http 429: slow down", ExecBlocked, 429, false},
		{"pending", "running", 1, "", 0, "", "pending: enrichment queued", ExecBlocked, 0, true},
		{"inline", "done", 0, "inline", 0, "", "", ExecAnswered, 0, false},
		{"inline-after-callback", "done", 1, "inline", 0, "", "", ExecAnswered, 0, false},
		{"awaiting", "done", 1, "callback", 0, "", "", ExecAwaitingDelivery, 0, false},
		{"delivered", "done", 1, "callback", 5, "", "", ExecDelivered, 0, false},
		{"undeliverable", "done", 1, "callback", 0, "expired", "", ExecUndeliverable, 0, false},
	}
	for _, r := range rows {
		const ins = `INSERT INTO executions (callback_id, ref, portal_id, action, request, state, blocked, delivery,
			delivered_at, delivery_error, last_error, received_at, updated_at) VALUES (?, 'EX', 9, 'a', '{}', ?, ?, ?, ?, ?, ?, 1, 1)`
		if _, err := old.ExecContext(ctx, ins, r.id, r.state, r.blocked, r.delivery, r.deliveredAt, r.deliveryErr, r.lastE); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("open the old database: %v", err)
	}
	defer db.Close()
	for _, r := range rows {
		e, err := db.GetExecution(ctx, r.id)
		if err != nil {
			t.Fatal(err)
		}
		if e.Exec != r.want || e.LastStatus != r.wantStatus || e.LastPending != r.wantPending {
			t.Errorf("%s migrated to %s (status %d, pending %v), want %s (%d, %v)", r.id, e.Exec, e.LastStatus, e.LastPending, r.want, r.wantStatus, r.wantPending)
		}
	}
	due, err := db.DueExecutions(ctx, time.Now(), time.Now(), 10)
	if err != nil || len(due) != 3 {
		t.Errorf("DueExecutions after migration = %d rows, %v; want the 3 live ones", len(due), err)
	}
	portals, err := db.PortalsAwaitingDelivery(ctx, time.Now(), 10)
	if err != nil || len(portals) != 1 {
		t.Errorf("PortalsAwaitingDelivery after migration = %v, %v", portals, err)
	}
}
