package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// The outputs an erased execution keeps: HubSpot's execution state and the
// error code (the protocol's names, actions.OutputState and
// actions.OutputErrorCode), neither of which says anything about a person.
// Both values are the app's own enumerations, so plain concatenation makes
// valid JSON, on SQLite and PostgreSQL alike. erasedOutputsColumns builds
// them from the row, erasedOutputsArgs from two parameters (state, code).
const (
	erasedOutputsColumns = `'{"hs_execution_state":"' || final_state || '","error_code":"' || error_code || '"}'`
	erasedOutputsArgs    = `'{"hs_execution_state":"' || ? || '","error_code":"' || ? || '"}'`
)

// Reasons for an erasure.
const (
	// ErasePrivacyDeletion: the contact was deleted at a privacy request
	// (contact.privacyDeletion).
	ErasePrivacyDeletion = "privacy_deletion"
	// EraseDeletion: the record was deleted in HubSpot (*.deletion).
	EraseDeletion = "deletion"
)

// WebhookEvent is an event HubSpot delivered that the app acts on.
type WebhookEvent struct {
	// Key identifies the event across HubSpot's retries.
	Key              string
	PortalID         int64
	SubscriptionType string
	// ObjectType is the object's type in the spelling executions record
	// (CONTACT, COMPANY, DEAL…).
	ObjectType string
	ObjectID   string // cleared once the event is processed
	OccurredAt time.Time
	ReceivedAt time.Time
	DoneAt     time.Time // zero until processed
}

type webhookEventRow struct {
	Key              string `db:"event_key"`
	PortalID         int64  `db:"portal_id"`
	SubscriptionType string `db:"subscription_type"`
	ObjectType       string `db:"object_type"`
	ObjectID         string `db:"object_id"`
	OccurredAt       int64  `db:"occurred_at"`
	ReceivedAt       int64  `db:"received_at"`
	DoneAt           int64  `db:"done_at"`
}

func (r webhookEventRow) event() WebhookEvent {
	return WebhookEvent{Key: r.Key, PortalID: r.PortalID, SubscriptionType: r.SubscriptionType, ObjectType: r.ObjectType,
		ObjectID: r.ObjectID, OccurredAt: fromMS(r.OccurredAt), ReceivedAt: fromMS(r.ReceivedAt), DoneAt: fromMS(r.DoneAt)}
}

// InsertWebhookEvent records an event to process, received now. It
// reports false, and changes nothing, when an event with the same key is
// already recorded (a repeated delivery).
func (tx *Tx) InsertWebhookEvent(ctx context.Context, e WebhookEvent) (bool, error) {
	const q = `INSERT INTO webhook_events (event_key, portal_id, subscription_type, object_type, object_id, occurred_at, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (event_key) DO NOTHING`
	return tx.execOne(ctx, "insert webhook event", q, e.Key, e.PortalID, e.SubscriptionType, e.ObjectType, e.ObjectID,
		ms(e.OccurredAt), ms(tx.now))
}

// GetWebhookEvent returns the recorded event with the given key, or
// ErrNotFound.
func (db *DB) GetWebhookEvent(ctx context.Context, key string) (WebhookEvent, error) {
	const q = `SELECT event_key, portal_id, subscription_type, object_type, object_id, occurred_at, received_at, done_at
		FROM webhook_events WHERE event_key = ?`
	var r webhookEventRow
	if err := sqlx.GetContext(ctx, db.r, &r, q, key); err != nil {
		return WebhookEvent{}, fmt.Errorf("store: get webhook event: %w", mapErr(err))
	}
	return r.event(), nil
}

// Erasure records one erasure carried out. It holds no personal data.
type Erasure struct {
	ID          string
	PortalID    int64
	Reason      string // ErasePrivacyDeletion or EraseDeletion
	ObjectType  string
	RequestedAt time.Time // when the deletion happened in HubSpot
	ErasedAt    time.Time
	Executions  int64 // how many executions were erased
}

type erasureRow struct {
	ID          string `db:"id"`
	PortalID    int64  `db:"portal_id"`
	Reason      string `db:"reason"`
	ObjectType  string `db:"object_type"`
	RequestedAt int64  `db:"requested_at"`
	ErasedAt    int64  `db:"erased_at"`
	Executions  int64  `db:"executions"`
}

// EraseForEvent carries out the erasure a recorded webhook event asks for,
// once: it erases the personal data of every execution of the event's
// portal whose enrolled object is the event's (see EraseObject; types are
// the spellings of the object's type to match), records the erasure with
// reason (unless it erased nothing and recordEmpty is false; the returned
// Erasure then has no ID), and marks the event processed, clearing its
// object id. ok is false, and nothing changes, when the event is unknown or
// was processed already.
func (tx *Tx) EraseForEvent(ctx context.Context, key, reason string, types []string, recordEmpty bool) (Erasure, bool, error) {
	const sel = `SELECT event_key, portal_id, subscription_type, object_type, object_id, occurred_at, received_at, done_at
		FROM webhook_events WHERE event_key = ? AND done_at = 0`
	var r webhookEventRow
	if err := sqlx.GetContext(ctx, tx.x, &r, sel, key); err != nil {
		if err = mapErr(err); err == ErrNotFound {
			return Erasure{}, false, nil
		}
		return Erasure{}, false, fmt.Errorf("store: get webhook event: %w", err)
	}
	n, err := tx.EraseObject(ctx, r.PortalID, types, r.ObjectID)
	if err != nil {
		return Erasure{}, false, err
	}
	er := Erasure{PortalID: r.PortalID, Reason: reason, ObjectType: r.ObjectType,
		RequestedAt: fromMS(r.OccurredAt), ErasedAt: tx.now, Executions: n}
	if n == 0 && !recordEmpty {
		return er, true, tx.MarkWebhookEventDone(ctx, key)
	}
	er.ID = newID()
	const ins = `INSERT INTO erasures (id, portal_id, reason, object_type, requested_at, erased_at, executions)
		VALUES (?, ?, ?, ?, ?, ?, ?)`
	if _, err := tx.x.ExecContext(ctx, ins, er.ID, er.PortalID, er.Reason, er.ObjectType, ms(er.RequestedAt), ms(er.ErasedAt), er.Executions); err != nil {
		return Erasure{}, false, fmt.Errorf("store: record erasure: %w", mapErr(err))
	}
	if err := tx.MarkWebhookEventDone(ctx, key); err != nil {
		return Erasure{}, false, err
	}
	return er, true, nil
}

// MarkWebhookEventDone marks an event processed and clears its object id.
func (tx *Tx) MarkWebhookEventDone(ctx context.Context, key string) error {
	const q = `UPDATE webhook_events SET done_at = ?, object_id = '' WHERE event_key = ? AND done_at = 0`
	if _, err := tx.x.ExecContext(ctx, q, ms(tx.now), key); err != nil {
		return fmt.Errorf("store: mark webhook event done: %w", mapErr(err))
	}
	return nil
}

// PruneWebhookEvents deletes up to limit events processed before the given
// time (a repeat delivered after that would be processed again, harmlessly:
// erasing twice finds nothing the second time), and reports how many went.
func (tx *Tx) PruneWebhookEvents(ctx context.Context, before time.Time, limit int) (int64, error) {
	const q = `DELETE FROM webhook_events WHERE event_key IN (
		SELECT event_key FROM webhook_events WHERE done_at <> 0 AND done_at < ? LIMIT ?)`
	res, err := tx.x.ExecContext(ctx, q, ms(before), limit)
	if err != nil {
		return 0, fmt.Errorf("store: prune webhook events: %w", err)
	}
	return res.RowsAffected()
}

// EraseObject erases the personal data of every execution of portalID
// whose enrolled object has objectID and one of the given types (compared
// without case), and reports how many it erased. Each stays as a
// tombstone: its reference, action, workflow, times, state, final state
// and error code remain, so counts and the once-per-callbackId guarantee
// hold; the request (inputs, object properties), the object id, the
// outputs (all but state and code), and every error text go. Executions
// still running are erased too, and Finish and Release then record no
// personal data for them. Erasing again erases nothing.
func (tx *Tx) EraseObject(ctx context.Context, portalID int64, types []string, objectID string) (int64, error) {
	if objectID == "" || len(types) == 0 {
		return 0, nil
	}
	upper := make([]string, len(types))
	for i, t := range types {
		upper[i] = strings.ToUpper(t)
	}
	q, args, err := sqlx.In(`UPDATE executions SET request = '', object_id = '',
		outputs = CASE WHEN outputs = '' THEN '' ELSE `+erasedOutputsColumns+` END,
		error_message = '', last_error = '', delivery_error = CASE WHEN delivery_error = '' THEN '' ELSE 'erased' END,
		erased_at = ?, updated_at = ?
		WHERE portal_id = ? AND object_id = ? AND UPPER(object_type) IN (?) AND erased_at = 0`,
		ms(tx.now), ms(tx.now), portalID, objectID, upper)
	if err != nil {
		return 0, fmt.Errorf("store: erase executions: %w", err)
	}
	res, err := tx.x.ExecContext(ctx, tx.x.Rebind(q), args...)
	if err != nil {
		return 0, fmt.Errorf("store: erase executions of portal %d: %w", portalID, mapErr(err))
	}
	return res.RowsAffected()
}

// ListErasures returns a portal's most recent erasures, newest first, at
// most limit of them.
func (db *DB) ListErasures(ctx context.Context, portalID int64, limit int) ([]Erasure, error) {
	const q = `SELECT id, portal_id, reason, object_type, requested_at, erased_at, executions FROM erasures
		WHERE portal_id = ? ORDER BY erased_at DESC, id DESC LIMIT ?`
	var rows []erasureRow
	if err := sqlx.SelectContext(ctx, db.r, &rows, q, portalID, limit); err != nil {
		return nil, fmt.Errorf("store: list erasures for portal %d: %w", portalID, err)
	}
	out := make([]Erasure, len(rows))
	for i, r := range rows {
		out[i] = Erasure{ID: r.ID, PortalID: r.PortalID, Reason: r.Reason, ObjectType: r.ObjectType,
			RequestedAt: fromMS(r.RequestedAt), ErasedAt: fromMS(r.ErasedAt), Executions: r.Executions}
	}
	return out, nil
}

// Scrub moves everything the write-ahead log holds into the database file
// and empties the log (a TRUNCATE checkpoint), so that data an erasure
// overwrote survives in neither file: the writer deletes securely (freed
// space is zeroed), and the log's older frames, which still hold the data
// as it was, go. It waits for readers and the writer (up to the busy
// timeout) and fails if the log could not be emptied; call it after an
// erasure, off the request path.
//
// On PostgreSQL it vacuums the tables erasures write (executions and
// webhook_events), so the rows' old versions are removed from them;
// PostgreSQL neither zeroes the space they held nor drops its own
// write-ahead log on demand, so the old bytes may stay on disk until
// overwritten or until the log segments are recycled.
func (db *DB) Scrub(ctx context.Context) error {
	if db.Postgres() {
		if _, err := db.w.ExecContext(ctx, "VACUUM executions, webhook_events"); err != nil {
			return fmt.Errorf("store: scrub: %w", err)
		}
		return nil
	}
	var busy, logFrames, checkpointed int
	if err := db.m.QueryRowxContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &checkpointed); err != nil {
		return fmt.Errorf("store: scrub: %w", err)
	}
	if busy != 0 {
		return fmt.Errorf("store: scrub: the write-ahead log is in use; try again")
	}
	return nil
}

// newID returns a random identifier (16 bytes, hex).
func newID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("store: random id: %v", err)) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}
