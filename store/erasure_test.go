package store

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"
)

// putContactExecution records a running execution of contactID in portal
// with a request and outputs that carry the contact's email.
func putContactExecution(t *testing.T, db *DB, id string, portal int64, contactID, email string, finish bool) {
	t.Helper()
	ctx := context.Background()
	write(t, db, func(tx *Tx) error {
		if _, err := tx.InsertExecution(ctx, NewExecution{CallbackID: id, Ref: "EX" + id, PortalID: portal, Action: "a",
			ObjectType: "CONTACT", ObjectID: contactID, Request: `{"object":{"properties":{"email":"` + email + `"}}}`,
			LeaseUntil: tx.Now().Add(time.Minute)}); err != nil {
			return err
		}
		if !finish {
			return nil
		}
		_, _, err := tx.Finish(ctx, id, 1, Outcome{FinalState: "FAIL_CONTINUE", Outputs: `{"person":"` + email + `","error_code":"NOT_FOUND"}`,
			ErrorCode: "NOT_FOUND", ErrorMessage: "no person " + email, LastError: "lookup " + email})
		return err
	})
}

// TestEraseObject: a contact's executions in one portal become tombstones
// keeping state and code; another contact's, and the same contact id in
// another portal, are untouched; a second erasure erases nothing.
func TestEraseObject(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	ctx := context.Background()
	putContactExecution(t, db, "gone-1", 9, "501", "gone@example.test", true)
	putContactExecution(t, db, "kept-1", 9, "502", "kept@example.test", true)
	putContactExecution(t, db, "other-portal", 10, "501", "stranger@example.test", true)

	var n int64
	write(t, db, func(tx *Tx) error {
		var err error
		n, err = tx.EraseObject(ctx, 9, []string{"contact", "0-1"}, "501")
		return err
	})
	if n != 1 {
		t.Fatalf("EraseObject erased %d executions, want 1", n)
	}
	e, err := db.GetExecution(ctx, "gone-1")
	if err != nil {
		t.Fatal(err)
	}
	if !e.Erased() || e.Request != "" || e.ObjectID != "" || e.ErrorMessage != "" || e.LastError != "" {
		t.Errorf("erased execution = %+v, want a tombstone", e)
	}
	if want := `{"hs_execution_state":"FAIL_CONTINUE","error_code":"NOT_FOUND"}`; e.Outputs != want {
		t.Errorf("erased outputs = %s, want %s", e.Outputs, want)
	}
	if e.Exec != ExecAnswered || e.FinalState != "FAIL_CONTINUE" || e.Ref != "EXgone-1" || e.Action != "a" {
		t.Errorf("tombstone lost its state, reference or action: %+v", e)
	}
	for _, id := range []string{"kept-1", "other-portal"} {
		if e, _ := db.GetExecution(ctx, id); e.Erased() || e.Request == "" {
			t.Errorf("%s was erased: %+v", id, e)
		}
	}
	write(t, db, func(tx *Tx) error {
		var err error
		n, err = tx.EraseObject(ctx, 9, []string{"CONTACT"}, "501")
		return err
	})
	if n != 0 {
		t.Errorf("second erasure erased %d, want 0", n)
	}
}

// TestEraseWhileRunning: an attempt in flight when its execution is erased
// finishes without writing personal data back, and a release records no
// error text.
func TestEraseWhileRunning(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	ctx := context.Background()
	putContactExecution(t, db, "live", 9, "501", "late@example.test", false)
	putContactExecution(t, db, "released", 9, "501", "late@example.test", false)
	write(t, db, func(tx *Tx) error {
		_, err := tx.EraseObject(ctx, 9, []string{"CONTACT"}, "501")
		return err
	})
	write(t, db, func(tx *Tx) error {
		if _, err := tx.Release(ctx, "released", 1, tx.Now(), Failure{Reason: "timeout for late@example.test"}, tx.Now().Add(time.Hour), false); err != nil {
			return err
		}
		st, ok, err := tx.Finish(ctx, "live", 1, Outcome{FinalState: "SUCCESS", Outputs: `{"email":"late@example.test"}`, ErrorMessage: "late@example.test", LastError: "late@example.test"})
		if err == nil && (!ok || st != ExecAnswered) {
			t.Errorf("Finish after erasure = %s, %v; want answered, true", st, ok)
		}
		return err
	})
	e, _ := db.GetExecution(ctx, "live")
	if want := `{"hs_execution_state":"SUCCESS","error_code":""}`; e.Outputs != want || e.ErrorMessage != "" || e.LastError != "" {
		t.Errorf("finished after erasure: outputs %s, message %q, last error %q; want %s and no texts", e.Outputs, e.ErrorMessage, e.LastError, want)
	}
	r, _ := db.GetExecution(ctx, "released")
	if r.Exec != ExecWaiting || r.LastError != "" {
		t.Errorf("released after erasure: %s, last error %q; want waiting with no text", r.Exec, r.LastError)
	}
}

// TestEraseForEventOnceAndScrub: an event's erasure runs once, leaves a
// record without personal data, and after Scrub neither the database file
// nor its log holds the erased email, while another contact's remains.
func TestEraseForEventOnceAndScrub(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	ctx := context.Background()
	putContactExecution(t, db, "gone-1", 9, "501", "gone.person@example.test", true)
	putContactExecution(t, db, "gone-2", 9, "501", "gone.person@example.test", false)
	putContactExecution(t, db, "kept-1", 9, "502", "kept.person@example.test", true)
	// Checkpoint so the data is in the database file itself, not only the log.
	if err := db.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	ev := WebhookEvent{Key: "k1", PortalID: 9, SubscriptionType: "contact.privacyDeletion", ObjectType: "CONTACT", ObjectID: "501", OccurredAt: time.UnixMilli(1700000000000)}
	var inserted [2]bool
	for i := range inserted {
		write(t, db, func(tx *Tx) error {
			var err error
			inserted[i], err = tx.InsertWebhookEvent(ctx, ev)
			return err
		})
	}
	if inserted != [2]bool{true, false} {
		t.Fatalf("InsertWebhookEvent twice = %v, want [true false]", inserted)
	}
	var results []bool
	for range 2 {
		write(t, db, func(tx *Tx) error {
			er, ok, err := tx.EraseForEvent(ctx, "k1", ErasePrivacyDeletion, []string{"CONTACT", "0-1"}, true)
			if ok && (er.Executions != 2 || er.PortalID != 9 || er.ObjectType != "CONTACT") {
				t.Errorf("erasure = %+v, want 2 executions of portal 9", er)
			}
			results = append(results, ok)
			return err
		})
	}
	if len(results) != 2 || !results[0] || results[1] {
		t.Fatalf("EraseForEvent twice = %v, want [true false]", results)
	}
	got, err := db.GetWebhookEvent(ctx, "k1")
	if err != nil || got.DoneAt.IsZero() || got.ObjectID != "" {
		t.Errorf("event after processing = %+v, %v; want done with no object id", got, err)
	}
	list, err := db.ListErasures(ctx, 9, 10)
	if err != nil || len(list) != 1 || list[0].Reason != ErasePrivacyDeletion {
		t.Errorf("ListErasures = %+v, %v; want one privacy deletion", list, err)
	}
	if other, _ := db.ListErasures(ctx, 10, 10); len(other) != 0 {
		t.Errorf("portal 10 sees erasures %+v", other)
	}

	if err := db.Scrub(ctx); err != nil {
		t.Fatal(err)
	}
	if db.Postgres() {
		return // what is left on disk is PostgreSQL's affair (see Scrub)
	}
	raw := readDBFiles(t, db.Path())
	if bytes.Contains(raw, []byte("gone.person@example.test")) {
		t.Error("the erased email is still in the database files")
	}
	if !bytes.Contains(raw, []byte("kept.person@example.test")) {
		t.Error("the other contact's email is gone from the database files (the check reads the wrong bytes)")
	}
}

// readDBFiles returns the database file's bytes followed by its log's.
func readDBFiles(t *testing.T, path string) []byte {
	t.Helper()
	var all []byte
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

// TestPruneWebhookEvents deletes processed events only.
func TestPruneWebhookEvents(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	ctx := context.Background()
	write(t, db, func(tx *Tx) error {
		for _, k := range []string{"done", "pending"} {
			if _, err := tx.InsertWebhookEvent(ctx, WebhookEvent{Key: k, PortalID: 9, SubscriptionType: "contact.deletion", ObjectType: "CONTACT", ObjectID: "1"}); err != nil {
				return err
			}
		}
		return tx.MarkWebhookEventDone(ctx, "done")
	})
	var n int64
	write(t, db, func(tx *Tx) error {
		var err error
		n, err = tx.PruneWebhookEvents(ctx, tx.Now().Add(time.Second), 100)
		return err
	})
	if n != 1 {
		t.Errorf("PruneWebhookEvents = %d, want 1", n)
	}
	if _, err := db.GetWebhookEvent(ctx, "pending"); err != nil {
		t.Errorf("pending event pruned: %v", err)
	}
}
