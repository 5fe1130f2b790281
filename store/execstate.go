package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// ExecState is where an execution stands. The live states (running,
// blocked, waiting) are held by a lease (Execution.LeaseUntil): a run owns
// the execution until then, and after that anyone may claim it. The others
// are finished. BlockAnswered is kept beside the state, not in it: it is a
// fact about what HubSpot was told, which every state can carry.
//
//	insert ─► running ──Finish──► answered ◄────────── AnswerInline ──┐
//	            │ ▲                                                     │
//	      Block │ │ Claim by a request (HubSpot never answered BLOCK)   │
//	            ▼ │                                                     │
//	          blocked ──Finish──► awaiting_delivery ──► delivered ──────┤
//	    Release │ ▲ Claim                   └─────────► undeliverable ──┘
//	            ▼ │
//	          waiting
//
// Release also leads from running to waiting, and a request's Claim from
// waiting to running; a job's Claim always leads to blocked.
type ExecState string

// The execution states.
const (
	// ExecRunning: a run holds the lease and a request waits for its answer
	// (or did, until its process died): the outcome answers inline.
	ExecRunning ExecState = "running"
	// ExecBlocked: the outcome goes through the callbacks API; a run holds
	// the lease, or a job takes the execution over once it runs out.
	ExecBlocked ExecState = "blocked"
	// ExecWaiting: the outcome goes through the callbacks API, and the next
	// attempt is due when the lease runs out (a scheduled retry).
	ExecWaiting ExecState = "waiting"
	// ExecAnswered: finished, and the outcome is (or was) the answer to
	// HubSpot's request.
	ExecAnswered ExecState = "answered"
	// ExecAwaitingDelivery: finished; the outcome waits to be sent through
	// the callbacks API (a delivery worker may hold it until
	// DeliveryClaimEnd).
	ExecAwaitingDelivery ExecState = "awaiting_delivery"
	// ExecDelivered: HubSpot accepted the callback.
	ExecDelivered ExecState = "delivered"
	// ExecUndeliverable: the callback can never be delivered
	// (DeliveryError says why).
	ExecUndeliverable ExecState = "undeliverable"
)

// ExecStates returns every state, live ones first.
func ExecStates() []ExecState {
	return []ExecState{ExecRunning, ExecBlocked, ExecWaiting, ExecAnswered, ExecAwaitingDelivery, ExecDelivered, ExecUndeliverable}
}

// Live reports whether the execution has not finished yet.
func (s ExecState) Live() bool {
	return s == ExecRunning || s == ExecBlocked || s == ExecWaiting
}

func (s ExecState) String() string { return string(s) }

// ByCallback reports whether the outcome goes (or went) through the
// callbacks API rather than as the answer to HubSpot's request.
func (s ExecState) ByCallback() bool { return s != ExecRunning && s != ExecAnswered }

// Delivery says how a finished execution's outcome reached (or reaches)
// HubSpot: DeliveryInline or DeliveryCallback; "" while it is live.
func (s ExecState) Delivery() string {
	switch {
	case s.Live():
		return ""
	case s == ExecAnswered:
		return DeliveryInline
	}
	return DeliveryCallback
}

// SQL fragments naming groups of states. (Listings find live and finished
// rows through the partial indexes on finished_at; see migration 0003.)
const (
	liveStates     = `state IN ('running', 'blocked', 'waiting')`
	finishedStates = `state IN ('answered', 'delivered', 'undeliverable')`
)

// transition runs one UPDATE … RETURNING of a whole row. ok is false, and
// nothing changed, when the row was not in a state the guard accepts.
func (tx *Tx) transition(ctx context.Context, what, callbackID, q string, args ...any) (Execution, bool, error) {
	var r executionRow
	err := sqlx.GetContext(ctx, tx.x, &r, tx.x.Rebind(q), args...)
	if err != nil {
		if err = mapErr(err); err == ErrNotFound {
			return Execution{}, false, nil
		}
		return Execution{}, false, fmt.Errorf("store: %s %s: %w", what, callbackID, err)
	}
	return r.execution(), true, nil
}

// Block makes a live execution's outcome go through the callbacks API:
// running becomes blocked; blocked and waiting stay as they are. answered
// records that HubSpot is answered BLOCK over HTTP; expiresAt is kept if one
// was set before. It refuses (false) unless the execution is live under
// attempt: the outcome was recorded first, or another run took over.
//
// Unlike Claim, Finish and AnswerInline, Block returns no row: it runs for
// every BLOCKed execution, and inside a transaction database/sql's query
// path (needed for RETURNING) costs about three times an exec (25µs
// against 8µs, measured), which cut BLOCK throughput by a fifth to a
// quarter. Its callers know everything the row would tell them.
func (tx *Tx) Block(ctx context.Context, callbackID string, attempt int, expiresAt time.Time, answered bool) (bool, error) {
	const q = `UPDATE executions SET state = CASE WHEN state = 'running' THEN 'blocked' ELSE state END,
		block_answered = CASE WHEN ? = 1 THEN 1 ELSE block_answered END,
		expires_at = CASE WHEN expires_at = 0 THEN ? ELSE expires_at END, updated_at = ?
		WHERE callback_id = ? AND attempt = ? AND ` + liveStates
	return tx.execOne(ctx, "block execution", tx.x.Rebind(q), boolInt(answered), msOrZero(expiresAt), ms(tx.now), callbackID, attempt)
}

// Claim takes over a live execution whose lease has run out, for attempt
// want+1, held until leaseUntil. inline says a request waits for the
// answer: the execution becomes running again unless HubSpot was already
// answered BLOCK; otherwise (a job) it becomes blocked, with expiresAt as its
// BLOCK expiry if it had none. It refuses unless the execution is live
// under attempt want with its lease over.
func (tx *Tx) Claim(ctx context.Context, callbackID string, want int, leaseUntil time.Time, inline bool, expiresAt time.Time) (Execution, bool, error) {
	const q = `UPDATE executions SET attempt = attempt + 1, lease_until = ?,
		state = CASE WHEN ? = 1 AND block_answered = 0 THEN 'running' ELSE 'blocked' END,
		expires_at = CASE WHEN expires_at = 0 THEN ? ELSE expires_at END, updated_at = ?
		WHERE callback_id = ? AND attempt = ? AND lease_until <= ? AND ` + liveStates + `
		RETURNING ` + executionColumns
	now := ms(tx.now)
	return tx.transition(ctx, "claim execution", callbackID, q, ms(leaseUntil), boolInt(inline), msOrZero(expiresAt), now,
		callbackID, want, now)
}

// Failure is why an attempt did not finish, as data for the retry and
// give-up decisions, and as text for operators.
type Failure struct {
	Reason     string        // internal detail; never read by decisions
	Status     int           // the upstream HTTP status, 0 when not an HTTP answer
	RetryAfter time.Duration // what the upstream asked to wait, 0 when nothing
	Pending    bool          // a "not ready yet" answer rather than an error
}

// Release ends attempt's hold on a running or blocked execution whose next
// attempt is due at retryAt, and records the failure: it becomes waiting
// (its outcome goes by callback). answered records that HubSpot is answered
// BLOCK; expiresAt is kept if one was set before. It refuses (false)
// unless a run holds the execution under attempt. Like Block, and for the
// same reason, it returns no row: it runs for every retried attempt.
func (tx *Tx) Release(ctx context.Context, callbackID string, attempt int, retryAt time.Time, f Failure, expiresAt time.Time, answered bool) (bool, error) {
	const q = `UPDATE executions SET state = 'waiting', lease_until = ?,
		last_error = CASE WHEN erased_at = 0 THEN ? ELSE '' END, last_status = ?,
		last_retry_after_ms = ?, last_pending = ?,
		block_answered = CASE WHEN ? = 1 THEN 1 ELSE block_answered END,
		expires_at = CASE WHEN expires_at = 0 THEN ? ELSE expires_at END, updated_at = ?
		WHERE callback_id = ? AND attempt = ? AND state IN ('running', 'blocked')`
	return tx.execOne(ctx, "release execution", tx.x.Rebind(q), ms(retryAt), truncate(f.Reason, 1000), f.Status,
		f.RetryAfter.Milliseconds(), boolInt(f.Pending), boolInt(answered), msOrZero(expiresAt), ms(tx.now), callbackID, attempt)
}

// Outcome is how an execution ended.
type Outcome struct {
	FinalState   string // SUCCESS or FAIL_CONTINUE
	Outputs      string // JSON object of strings, as answered to HubSpot
	ErrorCode    string
	ErrorMessage string
	LastError    string // internal detail for operators; never shown to HubSpot
	LastStatus   int    // the upstream HTTP status of a failure, 0 when none
}

// Finish records attempt's outcome of a running or blocked execution and
// returns the state it reached: a running execution becomes answered (the
// outcome is the answer to HubSpot's request), a blocked one
// awaiting_delivery (it leaves through the callbacks API). Each of the two
// is one guarded UPDATE; as Block, Release and Finish all guard on the
// state, exactly one of inline answer and callback is chosen for the
// outcome (AnswerInline may later hand a callback outcome to a repeated
// request, never the reverse). It refuses
// (false) unless a run holds the execution under attempt.
//
// Finish runs once for every execution, so it reads nothing back: an
// UPDATE … RETURNING goes through database/sql's query path, which cost a
// fifth of the server's CPU per inline execution; trying the inline
// transition first costs one statement on the common path.
func (tx *Tx) Finish(ctx context.Context, callbackID string, attempt int, o Outcome) (ExecState, bool, error) {
	for _, t := range [...]struct{ from, to ExecState }{{ExecRunning, ExecAnswered}, {ExecBlocked, ExecAwaitingDelivery}} {
		// An execution erased while this attempt ran keeps no personal
		// data: its outputs shrink to the state and code, its texts go.
		const q = `UPDATE executions SET state = ?, final_state = ?,
			outputs = CASE WHEN erased_at = 0 THEN ? ELSE ` + erasedOutputsArgs + ` END,
			error_code = ?,
			error_message = CASE WHEN erased_at = 0 THEN ? ELSE '' END,
			last_error = CASE WHEN erased_at = 0 THEN ? ELSE '' END, last_status = ?,
			lease_until = 0, finished_at = ?, updated_at = ?
			WHERE callback_id = ? AND attempt = ? AND state = ?`
		now := ms(tx.now)
		ok, err := tx.execOne(ctx, "finish execution", tx.x.Rebind(q), string(t.to), o.FinalState, o.Outputs,
			o.FinalState, o.ErrorCode, o.ErrorCode,
			truncate(o.ErrorMessage, 2000), truncate(o.LastError, 1000), o.LastStatus, now, now, callbackID, attempt, string(t.from))
		if err != nil || ok {
			return t.to, ok, err
		}
	}
	return "", false, nil
}

// AnswerInline hands a finished callback outcome to HubSpot's repeated
// request instead: awaiting_delivery, delivered and undeliverable become
// answered, unless a delivery worker holds the outcome right now; then the
// state stays and HubSpot is noted as answered BLOCK. The returned row says
// which happened. It refuses unless the outcome went by callback.
func (tx *Tx) AnswerInline(ctx context.Context, callbackID string) (Execution, bool, error) {
	const q = `UPDATE executions SET
		state = CASE WHEN delivery_claim_until <= ? THEN 'answered' ELSE state END,
		block_answered = CASE WHEN delivery_claim_until <= ? THEN block_answered ELSE 1 END, updated_at = ?
		WHERE callback_id = ? AND state IN ('awaiting_delivery', 'delivered', 'undeliverable')
		RETURNING ` + executionColumns
	now := ms(tx.now)
	return tx.transition(ctx, "answer inline", callbackID, q, now, now, now, callbackID)
}
