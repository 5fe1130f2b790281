package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Legacy views of an execution's state, derived from Exec for the history
// pages: State is running or done, Delivery inline or callback.
const (
	StateRunning = "running"
	StateDone    = "done"
)

// Delivery channels: how an execution's outcome reaches HubSpot.
const (
	DeliveryInline   = "inline"
	DeliveryCallback = "callback"
)

// Execution is one row of the ledger: a HubSpot execution request, keyed by
// its callbackId, and what became of it.
type Execution struct {
	CallbackID string
	Ref        string
	PortalID   int64
	Action     string
	WorkflowID int64
	ObjectType string
	ObjectID   string
	Request    string // the decoded execution request, JSON
	// Exec is where the execution stands.
	Exec          ExecState
	BlockAnswered bool // HubSpot was answered BLOCK over HTTP
	Attempt       int
	LeaseUntil    time.Time // a live execution is held by a run (or waits for its retry) until then
	FinalState    string
	Outputs       string // JSON object of strings
	ErrorCode     string
	ErrorMessage  string
	LastError     string // internal detail for operators; never read by decisions
	// The last failure as data: its HTTP status (0: none or not HTTP),
	// the Retry-After it carried, and whether it was a "not ready yet".
	LastStatus       int
	LastRetryAfter   time.Duration
	LastPending      bool
	DeliveredAt      time.Time
	DeliveryError    string
	DeliveryAttempts int
	DeliveryClaimEnd time.Time // a delivery worker holds the outcome until then
	ExpiresAt        time.Time
	ReceivedAt       time.Time
	FinishedAt       time.Time
	UpdatedAt        time.Time
	// ErasedAt is when the execution's personal data was erased (zero:
	// never). An erased execution is a tombstone: no request, no object id,
	// no error text, and outputs reduced to the final state and error code.
	ErasedAt time.Time
	// TestMode is true for an execution recorded while its portal was in
	// test mode: every run of it uses the providers' fakes.
	TestMode bool
}

// Erased reports whether the execution's personal data was erased.
func (e Execution) Erased() bool { return !e.ErasedAt.IsZero() }

type executionRow struct {
	CallbackID         string `db:"callback_id"`
	Ref                string `db:"ref"`
	PortalID           int64  `db:"portal_id"`
	Action             string `db:"action"`
	WorkflowID         int64  `db:"workflow_id"`
	ObjectType         string `db:"object_type"`
	ObjectID           string `db:"object_id"`
	Request            string `db:"request"`
	State              string `db:"state"`
	BlockAnswered      int    `db:"block_answered"`
	Attempt            int    `db:"attempt"`
	LeaseUntil         int64  `db:"lease_until"`
	FinalState         string `db:"final_state"`
	Outputs            string `db:"outputs"`
	ErrorCode          string `db:"error_code"`
	ErrorMessage       string `db:"error_message"`
	LastError          string `db:"last_error"`
	LastStatus         int    `db:"last_status"`
	LastRetryAfterMS   int64  `db:"last_retry_after_ms"`
	LastPending        int    `db:"last_pending"`
	DeliveredAt        int64  `db:"delivered_at"`
	DeliveryError      string `db:"delivery_error"`
	DeliveryAttempts   int    `db:"delivery_attempts"`
	DeliveryClaim      string `db:"delivery_claim"`
	DeliveryClaimUntil int64  `db:"delivery_claim_until"`
	ExpiresAt          int64  `db:"expires_at"`
	ReceivedAt         int64  `db:"received_at"`
	FinishedAt         int64  `db:"finished_at"`
	UpdatedAt          int64  `db:"updated_at"`
	ErasedAt           int64  `db:"erased_at"`
	TestMode           int    `db:"test_mode"`
}

const executionColumns = `callback_id, ref, portal_id, action, workflow_id, object_type, object_id, request,
	state, block_answered, attempt, lease_until, final_state, outputs, error_code, error_message, last_error,
	last_status, last_retry_after_ms, last_pending,
	delivered_at, delivery_error, delivery_attempts, delivery_claim, delivery_claim_until,
	expires_at, received_at, finished_at, updated_at, erased_at, test_mode`

func (r executionRow) execution() Execution {
	s := ExecState(r.State)
	e := Execution{
		CallbackID:       r.CallbackID,
		Ref:              r.Ref,
		PortalID:         r.PortalID,
		Action:           r.Action,
		WorkflowID:       r.WorkflowID,
		ObjectType:       r.ObjectType,
		ObjectID:         r.ObjectID,
		Request:          r.Request,
		Exec:             s,
		BlockAnswered:    r.BlockAnswered != 0,
		Attempt:          r.Attempt,
		LeaseUntil:       fromMS(r.LeaseUntil),
		FinalState:       r.FinalState,
		Outputs:          r.Outputs,
		ErrorCode:        r.ErrorCode,
		ErrorMessage:     r.ErrorMessage,
		LastError:        r.LastError,
		LastStatus:       r.LastStatus,
		LastRetryAfter:   time.Duration(r.LastRetryAfterMS) * time.Millisecond,
		LastPending:      r.LastPending != 0,
		DeliveredAt:      fromMS(r.DeliveredAt),
		DeliveryError:    r.DeliveryError,
		DeliveryAttempts: r.DeliveryAttempts,
		DeliveryClaimEnd: fromMS(r.DeliveryClaimUntil),
		ExpiresAt:        fromMS(r.ExpiresAt),
		ReceivedAt:       fromMS(r.ReceivedAt),
		FinishedAt:       fromMS(r.FinishedAt),
		UpdatedAt:        fromMS(r.UpdatedAt),
		ErasedAt:         fromMS(r.ErasedAt),
		TestMode:         r.TestMode != 0,
	}
	return e
}

func getExecution(ctx context.Context, q sqlx.QueryerContext, callbackID string) (Execution, error) {
	const sel = `SELECT ` + executionColumns + ` FROM executions WHERE callback_id = ?`
	var r executionRow
	if err := sqlx.GetContext(ctx, q, &r, sel, callbackID); err != nil {
		return Execution{}, fmt.Errorf("store: get execution %s: %w", callbackID, mapErr(err))
	}
	return r.execution(), nil
}

// GetExecution returns the execution with the given callbackId, or
// ErrNotFound.
func (db *DB) GetExecution(ctx context.Context, callbackID string) (Execution, error) {
	return getExecution(ctx, db.r, callbackID)
}

// GetExecution is GetExecution inside the write transaction.
func (tx *Tx) GetExecution(ctx context.Context, callbackID string) (Execution, error) {
	return getExecution(ctx, tx.x, callbackID)
}

// NewExecution is what is known of an execution when it is first recorded.
type NewExecution struct {
	CallbackID string
	Ref        string
	PortalID   int64
	Action     string
	WorkflowID int64
	ObjectType string
	ObjectID   string
	Request    string
	LeaseUntil time.Time
	// Blocked records an execution whose first answer is already known to be
	// BLOCK (state ExecBlocked); ExpiresAt is then its BLOCK expiry.
	Blocked   bool
	ExpiresAt time.Time
	// ReceivedAt defaults to the transaction's time.
	ReceivedAt time.Time
	// TestMode records that the execution runs in test mode (its portal's
	// setting when it is recorded; see Tx.GetTestMode).
	TestMode bool
}

// InsertExecution records a new execution with attempt 1, in ExecRunning
// (held by the inline run until LeaseUntil), or ExecBlocked. It reports
// false, and changes nothing, when the callbackId is already recorded.
func (tx *Tx) InsertExecution(ctx context.Context, e NewExecution) (bool, error) {
	const q = `INSERT INTO executions (callback_id, ref, portal_id, action, workflow_id, object_type, object_id,
		request, state, attempt, lease_until, expires_at, received_at, updated_at, test_mode)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)
		ON CONFLICT (callback_id) DO NOTHING`
	now := ms(tx.now)
	received := now
	if !e.ReceivedAt.IsZero() {
		received = ms(e.ReceivedAt)
	}
	state := ExecRunning
	if e.Blocked {
		state = ExecBlocked
	}
	res, err := tx.x.ExecContext(ctx, q, e.CallbackID, e.Ref, e.PortalID, e.Action, e.WorkflowID, e.ObjectType,
		e.ObjectID, e.Request, string(state), ms(e.LeaseUntil), msOrZero(e.ExpiresAt), received, now, boolInt(e.TestMode))
	if err != nil {
		return false, fmt.Errorf("store: insert execution %s: %w", e.CallbackID, mapErr(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: insert execution %s: %w", e.CallbackID, err)
	}
	return n == 1, nil
}

// RecordExecution is InsertExecution with the execution's test mode taken,
// in the same statement, from its portal's setting (e.TestMode is
// ignored): one round trip where reading the setting first would take
// two. It reports whether the execution was inserted and, when it was,
// its test mode.
func (tx *Tx) RecordExecution(ctx context.Context, e NewExecution) (inserted, testMode bool, err error) {
	const q = `INSERT INTO executions (callback_id, ref, portal_id, action, workflow_id, object_type, object_id,
		request, state, attempt, lease_until, expires_at, received_at, updated_at, test_mode)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?,
			COALESCE((SELECT enabled FROM portal_test_modes WHERE portal_id = ?), 0))
		ON CONFLICT (callback_id) DO NOTHING
		RETURNING test_mode`
	now := ms(tx.now)
	received := now
	if !e.ReceivedAt.IsZero() {
		received = ms(e.ReceivedAt)
	}
	state := ExecRunning
	if e.Blocked {
		state = ExecBlocked
	}
	rows, err := tx.x.QueryContext(ctx, q, e.CallbackID, e.Ref, e.PortalID, e.Action, e.WorkflowID, e.ObjectType,
		e.ObjectID, e.Request, string(state), ms(e.LeaseUntil), msOrZero(e.ExpiresAt), received, now, e.PortalID)
	if err != nil {
		return false, false, fmt.Errorf("store: record execution %s: %w", e.CallbackID, mapErr(err))
	}
	var mode int
	inserted = rows.Next()
	if inserted {
		err = rows.Scan(&mode)
	}
	if err = errors.Join(err, rows.Err(), rows.Close()); err != nil {
		return false, false, fmt.Errorf("store: record execution %s: %w", e.CallbackID, mapErr(err))
	}
	return inserted, mode == 1, nil
}

func (tx *Tx) execOne(ctx context.Context, what, q string, args ...any) (bool, error) {
	res, err := tx.x.ExecContext(ctx, q, args...)
	if err != nil {
		return false, fmt.Errorf("store: %s: %w", what, mapErr(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: %s: %w", what, err)
	}
	return n > 0, nil
}

// Delivery is an outcome waiting to be sent through the callbacks API.
type Delivery struct {
	CallbackID string `db:"callback_id"`
	Outputs    string `db:"outputs"`
	Attempts   int    `db:"delivery_attempts"`
	ExpiresMS  int64  `db:"expires_at"`
}

// ExpiresAt is when HubSpot stops waiting for the outcome (zero: unknown).
func (d Delivery) ExpiresAt() time.Time { return fromMS(d.ExpiresMS) }

// ClaimDeliveries marks up to limit undelivered callback outcomes of a
// portal, oldest first, as being sent under claim until the given time, and
// returns them. Rows claimed by someone else whose claim has not run out are
// skipped.
func (tx *Tx) ClaimDeliveries(ctx context.Context, portalID int64, claim string, until time.Time, limit int) ([]Delivery, error) {
	const q = `UPDATE executions SET delivery_claim = ?, delivery_claim_until = ?, delivery_attempts = delivery_attempts + 1
		WHERE callback_id IN (
			SELECT callback_id FROM executions
			WHERE portal_id = ? AND state = 'awaiting_delivery' AND delivery_claim_until <= ?
			ORDER BY finished_at
			LIMIT ?)
		AND state = 'awaiting_delivery' AND delivery_claim_until <= ?
		RETURNING callback_id, outputs, delivery_attempts, expires_at`
	// The conditions are checked again on the rows updated: on PostgreSQL
	// a second claim waiting on the first one's row locks re-reads only
	// the outer WHERE, and would otherwise take rows just claimed.
	var out []Delivery
	if err := sqlx.SelectContext(ctx, tx.x, &out, q, claim, ms(until), portalID, ms(tx.now), limit, ms(tx.now)); err != nil {
		return nil, fmt.Errorf("store: claim deliveries for portal %d: %w", portalID, mapErr(err))
	}
	return out, nil
}

// MarkDelivered records that HubSpot accepted the outcomes held under
// claim: they become delivered.
func (tx *Tx) MarkDelivered(ctx context.Context, claim string, callbackIDs []string) error {
	return tx.settleDeliveries(ctx, claim, callbackIDs, "state = 'delivered', delivered_at = ?, delivery_claim_until = 0", ms(tx.now))
}

// ReleaseDeliveries hands back outcomes held under claim, to be tried again
// no earlier than retryAt.
func (tx *Tx) ReleaseDeliveries(ctx context.Context, claim string, callbackIDs []string, retryAt time.Time) error {
	return tx.settleDeliveries(ctx, claim, callbackIDs, "delivery_claim_until = ?", ms(retryAt))
}

// FailDeliveries records that outcomes held under claim can never be
// delivered, and why: they become undeliverable.
func (tx *Tx) FailDeliveries(ctx context.Context, claim string, callbackIDs []string, reason string) error {
	return tx.settleDeliveries(ctx, claim, callbackIDs, "state = 'undeliverable', delivery_error = ?, delivery_claim_until = 0", truncate(reason, 1000))
}

func (tx *Tx) settleDeliveries(ctx context.Context, claim string, ids []string, set string, arg any) error {
	if len(ids) == 0 {
		return nil
	}
	q, args, err := sqlx.In(`UPDATE executions SET `+set+`, delivery_claim = '', updated_at = ?
		WHERE state = 'awaiting_delivery' AND delivery_claim = ? AND callback_id IN (?)`, arg, ms(tx.now), claim, ids)
	if err != nil {
		return fmt.Errorf("store: settle deliveries: %w", err)
	}
	if _, err := tx.x.ExecContext(ctx, tx.x.Rebind(q), args...); err != nil {
		return fmt.Errorf("store: settle deliveries: %w", mapErr(err))
	}
	return nil
}

// Due is a live execution whose lease has run out: a retry whose time has
// come, or a run whose process died.
type Due struct {
	CallbackID string    `db:"callback_id"`
	PortalID   int64     `db:"portal_id"`
	Action     string    `db:"action"`
	Attempt    int       `db:"attempt"`
	State      ExecState `db:"state"`
}

// DueExecutions lists live executions whose lease ran out by now: blocked
// and waiting ones at once (HubSpot waits for a callback and will not ask
// again), running ones only if received before notBlockedBefore, which
// gives HubSpot's own retry of the request the first chance to pick them
// up.
func (db *DB) DueExecutions(ctx context.Context, now, notBlockedBefore time.Time, limit int) ([]Due, error) {
	const q = `SELECT callback_id, portal_id, action, attempt, state FROM executions
		WHERE finished_at = 0 AND lease_until <= ? AND ` + liveStates + ` AND (state <> 'running' OR received_at < ?)
		ORDER BY lease_until LIMIT ?`
	var out []Due
	if err := sqlx.SelectContext(ctx, db.r, &out, q, ms(now), ms(notBlockedBefore), limit); err != nil {
		return nil, fmt.Errorf("store: list due executions: %w", err)
	}
	return out, nil
}

// PortalsAwaitingDelivery lists portals with callback outcomes that are
// undelivered and not held by a delivery worker (or whose retry wait is
// over).
func (db *DB) PortalsAwaitingDelivery(ctx context.Context, now time.Time, limit int) ([]int64, error) {
	const q = `SELECT DISTINCT portal_id FROM executions
		WHERE state = 'awaiting_delivery' AND delivery_claim_until <= ?
		LIMIT ?`
	var out []int64
	if err := sqlx.SelectContext(ctx, db.r, &out, q, ms(now), limit); err != nil {
		return nil, fmt.Errorf("store: list portals awaiting delivery: %w", err)
	}
	return out, nil
}

// ExecutionFilter selects a page of a portal's execution history.
type ExecutionFilter struct {
	PortalID int64
	Action   string // exact action key, or empty for all
	State    string // SUCCESS, FAIL_CONTINUE, BLOCKED (waiting for a callback) or RUNNING; empty for all
	Search   string // a callbackId, reference or object id
	Before   time.Time
	Limit    int
	Offset   int
}

// ListExecutions returns the portal's executions matching f, newest first,
// and whether more follow.
func (db *DB) ListExecutions(ctx context.Context, f ExecutionFilter) ([]Execution, bool, error) {
	var where []string
	args := []any{}
	where = append(where, "portal_id = ?")
	args = append(args, f.PortalID)
	if f.Action != "" {
		where = append(where, "action = ?")
		args = append(args, f.Action)
	}
	switch f.State {
	case "":
	case "RUNNING":
		where = append(where, "state = 'running'")
	case "BLOCKED":
		where = append(where, "state IN ('blocked', 'waiting')")
	default:
		where = append(where, "NOT "+liveStates+" AND final_state = ?")
		args = append(args, f.State)
	}
	if s := strings.TrimSpace(f.Search); s != "" {
		where = append(where, "(callback_id = ? OR ref = ? OR object_id = ?)")
		args = append(args, s, strings.ToUpper(s), s)
	}
	if !f.Before.IsZero() {
		where = append(where, "received_at < ?")
		args = append(args, ms(f.Before))
	}
	limit := f.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	q := `SELECT ` + executionColumns + ` FROM executions WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY received_at DESC, callback_id DESC LIMIT ? OFFSET ?`
	args = append(args, limit+1, max(f.Offset, 0))
	var rows []executionRow
	if err := sqlx.SelectContext(ctx, db.r, &rows, q, args...); err != nil {
		return nil, false, fmt.Errorf("store: list executions for portal %d: %w", f.PortalID, err)
	}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	out := make([]Execution, len(rows))
	for i, r := range rows {
		out[i] = r.execution()
	}
	return out, more, nil
}

// DistinctActions returns the action keys a portal has executions for.
func (db *DB) DistinctActions(ctx context.Context, portalID int64) ([]string, error) {
	const q = `SELECT DISTINCT action FROM executions WHERE portal_id = ? ORDER BY action`
	var out []string
	if err := sqlx.SelectContext(ctx, db.r, &out, q, portalID); err != nil {
		return nil, fmt.Errorf("store: list actions for portal %d: %w", portalID, err)
	}
	return out, nil
}

// PruneExecutions deletes finished executions received before the given
// time, at most limit of them, and reports how many went. Running
// executions and undelivered outcomes are kept whatever their age.
func (tx *Tx) PruneExecutions(ctx context.Context, before time.Time, limit int) (int64, error) {
	const q = `DELETE FROM executions WHERE callback_id IN (
		SELECT callback_id FROM executions
		WHERE received_at < ? AND finished_at <> 0 AND ` + finishedStates + `
		LIMIT ?)`
	res, err := tx.x.ExecContext(ctx, q, ms(before), limit)
	if err != nil {
		return 0, fmt.Errorf("store: prune executions: %w", err)
	}
	return res.RowsAffected()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func msOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return ms(t)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}

// JobCounts counts River's jobs by state. It scans river_job: the runtime
// calls it once at start-up, never per metrics scrape.
func (db *DB) JobCounts(ctx context.Context) (map[string]int, error) {
	const q = `SELECT state, COUNT(*) AS n FROM river_job
		WHERE state IN ('available', 'pending', 'retryable', 'running', 'scheduled') GROUP BY state`
	var rows []struct {
		State string `db:"state"`
		N     int    `db:"n"`
	}
	if err := sqlx.SelectContext(ctx, db.r, &rows, q); err != nil {
		return nil, fmt.Errorf("store: count jobs: %w", err)
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.State] = r.N
	}
	return out, nil
}
