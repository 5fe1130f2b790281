package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestTestModeSetting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newTestDB(t)
	t0 := time.UnixMilli(1_700_000_000_000).UTC()
	setClock(db, t0)

	got, err := db.GetTestMode(ctx, 42)
	if err != nil {
		t.Fatalf("GetTestMode(42) before any change: %v", err)
	}
	if diff := cmp.Diff(TestMode{PortalID: 42}, got); diff != "" {
		t.Errorf("GetTestMode(42) of a portal that never changed it (-want +got):\n%s", diff)
	}

	write(t, db, func(tx *Tx) error { return tx.SetTestMode(ctx, 42, true, 7, "admin@acme.test") })
	got, err = db.GetTestMode(ctx, 42)
	if err != nil {
		t.Fatalf("GetTestMode(42): %v", err)
	}
	want := TestMode{PortalID: 42, Enabled: true, ChangedByID: 7, ChangedByEmail: "admin@acme.test", ChangedAt: t0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetTestMode(42) after switching on (-want +got):\n%s", diff)
	}
	if other, _ := db.GetTestMode(ctx, 43); other.Enabled {
		t.Errorf("GetTestMode(43) = on: another portal's setting leaked")
	}

	t1 := t0.Add(time.Hour)
	setClock(db, t1)
	write(t, db, func(tx *Tx) error { return tx.SetTestMode(ctx, 42, false, 8, "other@acme.test") })
	got, _ = db.GetTestMode(ctx, 42)
	want = TestMode{PortalID: 42, Enabled: false, ChangedByID: 8, ChangedByEmail: "other@acme.test", ChangedAt: t1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetTestMode(42) after switching off (-want +got):\n%s", diff)
	}

	var deleted bool
	write(t, db, func(tx *Tx) error { var err error; deleted, err = tx.DeleteTestMode(ctx, 42); return err })
	if !deleted {
		t.Errorf("DeleteTestMode(42) = false, want true")
	}
	if got, _ = db.GetTestMode(ctx, 42); got != (TestMode{PortalID: 42}) {
		t.Errorf("GetTestMode(42) after DeleteTestMode = %+v, want off and never changed", got)
	}
}

// TestTestModeRefusedForAPortalGoing: an uninstalled (or uninstalling)
// portal's setting cannot be switched, so an uninstall's last write, which
// deletes it, is never undone by a form posted before.
func TestTestModeRefusedForAPortalGoing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newTestDB(t)
	write(t, db, func(tx *Tx) error {
		if err := tx.UpsertPortal(ctx, Portal{PortalID: 5}); err != nil {
			return err
		}
		return tx.MarkPortalUninstalled(ctx, 5, "test")
	})
	err := db.Write(ctx, func(tx *Tx) error { return tx.SetTestMode(ctx, 5, true, 1, "a@b.test") })
	if !errors.Is(err, ErrPortalGone) {
		t.Fatalf("SetTestMode on an uninstalled portal = %v, want ErrPortalGone", err)
	}
}

// TestExecutionTestModeRecorded: the flag given when an execution is
// recorded is read back with it, and its transitions keep it.
func TestExecutionTestModeRecorded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newTestDB(t)
	write(t, db, func(tx *Tx) error {
		for _, e := range []NewExecution{
			{CallbackID: "live", Ref: "L", PortalID: 9, Action: "a", Request: "{}", LeaseUntil: tx.Now().Add(time.Minute)},
			{CallbackID: "test", Ref: "T", PortalID: 9, Action: "a", Request: "{}", LeaseUntil: tx.Now().Add(time.Minute), TestMode: true,
				ObjectType: "CONTACT", ObjectID: "101"},
		} {
			if _, err := tx.InsertExecution(ctx, e); err != nil {
				return err
			}
		}
		_, _, err := tx.Finish(ctx, "test", 1, Outcome{FinalState: "SUCCESS", Outputs: `{"test_mode":"true"}`})
		return err
	})
	for id, want := range map[string]bool{"live": false, "test": true} {
		e, err := db.GetExecution(ctx, id)
		if err != nil {
			t.Fatalf("GetExecution(%s): %v", id, err)
		}
		if e.TestMode != want {
			t.Errorf("GetExecution(%s).TestMode = %v, want %v", id, e.TestMode, want)
		}
	}
	list, _, err := db.ListExecutions(ctx, ExecutionFilter{PortalID: 9})
	if err != nil {
		t.Fatalf("ListExecutions: %v", err)
	}
	for _, e := range list {
		if e.TestMode != (e.CallbackID == "test") {
			t.Errorf("ListExecutions: %s has TestMode %v", e.CallbackID, e.TestMode)
		}
	}
	// An erasure leaves the flag: it is not personal data, and the
	// tombstone still says how the execution ran.
	write(t, db, func(tx *Tx) error {
		_, err := tx.EraseObject(ctx, 9, []string{"CONTACT"}, "101")
		return err
	})
	if e, err := db.GetExecution(ctx, "test"); err != nil || !e.Erased() || !e.TestMode {
		t.Errorf("GetExecution(test) after its erasure: erased %v, TestMode %v, %v; want both true", e.Erased(), e.TestMode, err)
	}
}

// TestUninstalledWithOnlyATestModeIsSwept: a portal uninstalled in HubSpot
// whose only data left is its test-mode setting is still listed, so the
// sweep after the grace period deletes it.
func TestUninstalledWithOnlyATestModeIsSwept(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newTestDB(t)
	write(t, db, func(tx *Tx) error {
		if err := tx.UpsertPortal(ctx, Portal{PortalID: 6}); err != nil {
			return err
		}
		if err := tx.SetTestMode(ctx, 6, true, 1, "a@b.test"); err != nil {
			return err
		}
		return tx.MarkPortalUninstalled(ctx, 6, "refresh token rejected")
	})
	ids, err := db.ListUninstalledWithSecrets(ctx, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatalf("ListUninstalledWithSecrets: %v", err)
	}
	if diff := cmp.Diff([]int64{6}, ids); diff != "" {
		t.Errorf("ListUninstalledWithSecrets (-want +got):\n%s", diff)
	}
}

// TestRecordExecutionTakesThePortalsMode: RecordExecution records an
// execution in its portal's mode at that moment (off without a setting),
// whatever NewExecution.TestMode says, and reports it; a callbackId
// already recorded is neither inserted again nor changed.
func TestRecordExecutionTakesThePortalsMode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newTestDB(t)
	type got struct{ inserted, testMode bool }
	record := func(id string, portalID int64, claim bool) got {
		t.Helper()
		var g got
		write(t, db, func(tx *Tx) error {
			var err error
			g.inserted, g.testMode, err = tx.RecordExecution(ctx, NewExecution{CallbackID: id, Ref: "R" + id, PortalID: portalID,
				Action: "a", Request: "{}", LeaseUntil: tx.Now().Add(time.Minute), TestMode: claim})
			return err
		})
		return g
	}
	if g := record("no-setting", 7, true); g != (got{true, false}) {
		t.Errorf("RecordExecution without a setting = %+v, want inserted, live", g)
	}
	write(t, db, func(tx *Tx) error { return tx.SetTestMode(ctx, 7, true, 1, "admin@example.com") })
	if g := record("on", 7, false); g != (got{true, true}) {
		t.Errorf("RecordExecution with test mode on = %+v, want inserted, test mode", g)
	}
	if g := record("other-portal", 8, false); g != (got{true, false}) {
		t.Errorf("RecordExecution of another portal = %+v, want inserted, live", g)
	}
	write(t, db, func(tx *Tx) error { return tx.SetTestMode(ctx, 7, false, 1, "admin@example.com") })
	if g := record("on", 7, false); g.inserted {
		t.Errorf("RecordExecution of a recorded callbackId = %+v, want not inserted", g)
	}
	for id, want := range map[string]bool{"no-setting": false, "on": true, "other-portal": false} {
		e, err := db.GetExecution(ctx, id)
		if err != nil {
			t.Fatalf("GetExecution(%s): %v", id, err)
		}
		if e.TestMode != want {
			t.Errorf("GetExecution(%s).TestMode = %v, want %v", id, e.TestMode, want)
		}
	}
}
