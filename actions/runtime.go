// Package actions runs HubSpot custom workflow actions: the envelope and
// its signature, the registry, and the execution runtime, whose states and
// transitions are store.ExecState and whose choices are pure functions
// (decide).
//
// Work that outlives a request has one durable scheduler: River, on the
// app's own database. The ledger row is the record of what is still to
// do; a lease says who holds it. Requests never insert River jobs
// (admitting BLOCKed executions went from 1.8k to 9k/s when they stopped):
// a periodic River job, the sweeper, turns due rows (scheduled retries,
// runs whose process died, outcomes awaiting delivery) into River jobs,
// inserted in the transaction that hands each row over. A crash loses
// nothing, since nothing is held only in memory.
//
// The one shortcut: when Finish records an outcome that goes by callback,
// the runtime wakes that portal's delivery in this process at once
// (deliveries), instead of leaving it to the next sweep plus River's fetch
// poll, about a second later. This is not a second scheduler: it keeps no
// state that matters, claims outcomes in the ledger as River's delivery
// job does, and whatever it misses (the process dies, HubSpot asks to wait)
// stays awaiting delivery for the sweeper. Inserting a delivery job in the
// Finish transaction instead would bring back a River insert per BLOCKed
// execution, and still wait for the fetch poll: River on SQLite has no
// LISTEN/NOTIFY.
package actions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/go-playground/validator/v10"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"hubspot-actions/actions/hubspot"
	"hubspot-actions/actions/upstream"
	"hubspot-actions/store"
)

// Config tunes the runtime. Zero values take the defaults.
type Config struct {
	// InlineBudget is how long an execution may work before the answer
	// becomes BLOCK (default 5s).
	InlineBudget time.Duration
	// AttemptTimeout bounds one run of an action (default 30s).
	AttemptTimeout time.Duration
	// BlockExpiry is how long HubSpot waits for a BLOCKed execution
	// (hs_expiration_duration) unless the action sets its own (default 24h).
	BlockExpiry time.Duration
	// MaxAttempts bounds the runs of one execution whose failures are
	// transient (default 10).
	MaxAttempts int
	// SweepEvery is how often the sweeper hands due retries, work a dead
	// process left and undelivered outcomes to River jobs (default 1s).
	SweepEvery time.Duration
	// RecoveryGrace is how long recovery leaves an orphaned execution that
	// was not answered BLOCK to HubSpot's own retry (default 2m).
	RecoveryGrace time.Duration
	// Workers is how many River jobs run at once (default 20).
	Workers int
	// Retention is how long finished executions stay in the history
	// (default 30 days, at least MinRetention); older ones are pruned every
	// PruneEvery (default 1h).
	Retention  time.Duration
	PruneEvery time.Duration
	// Chores are other parts' periodic upkeep, run as durable jobs.
	Chores []Chore
	// TestActions are the actions' test-mode twins (same keys and outputs
	// as the live registry's, calling the providers' fakes), which run the
	// executions of portals in test mode. Nil: test mode is not available.
	TestActions *Registry
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.InlineBudget, 5*time.Second)
	def(&c.AttemptTimeout, 30*time.Second)
	def(&c.BlockExpiry, 24*time.Hour)
	def(&c.SweepEvery, time.Second)
	def(&c.RecoveryGrace, 2*time.Minute)
	def(&c.Retention, 30*24*time.Hour)
	def(&c.PruneEvery, time.Hour)
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 10
	}
	if c.Workers <= 0 {
		c.Workers = 20
	}
}

// MinRetention is the shortest Retention: HubSpot retries a request for up
// to 3 days, and the ledger is what recognises a retry (v2 signatures carry
// no timestamp), so a callbackId must be remembered at least that long or
// its retry would run the action again. Pruning is what forgets: erasing
// an execution's personal data must leave its row (a tombstone with the
// callbackId), never delete it.
const MinRetention = 72 * time.Hour

// lease is how long a run holds an execution before others may take over.
func (c *Config) lease() time.Duration { return c.AttemptTimeout + 5*time.Second }

// jobTimeout bounds one River job's work, and one delivery round's.
func (c *Config) jobTimeout() time.Duration { return c.AttemptTimeout + 30*time.Second }

// deliveryClaim is how long a delivery round holds the outcomes it sends:
// a minute longer than the round may work (jobTimeout), so the claim never
// runs out while its completion call may still reach HubSpot, and no
// second delivery (nor a retried request's inline answer) sends them too.
func (c *Config) deliveryClaim() time.Duration { return c.jobTimeout() + time.Minute }

// HubSpot is what the runtime needs from HubSpot's API.
type HubSpot interface {
	// CompleteCallbacks delivers the outcomes (at most 100) of one portal's
	// BLOCKed executions. Errors wrap oauth.ErrNotConnected when the portal
	// must reinstall, or are *upstream.APIError for HubSpot's answers.
	CompleteCallbacks(ctx context.Context, portalID int64, batch []hubspot.Completion) error
	// CheckPortal returns an error wrapping oauth.ErrNotConnected when the
	// portal can no longer be called (it must reinstall the app).
	CheckPortal(ctx context.Context, portalID int64) error
}

// Runtime runs executions: it records each one in the ledger before any
// side effect, runs the action once per callbackId, answers inline or BLOCK,
// and delivers late outcomes through HubSpot's callbacks API.
//
// The ledger row is the durable record of all work still to do; see the
// package comment for how that work is scheduled. An execution answered
// inline costs two ledger writes: its insert and its outcome.
type Runtime struct {
	cfg      Config
	db       *store.DB
	reg      *Registry
	hs       HubSpot
	validate validate
	log      *slog.Logger
	m        *Metrics
	river    queue
	now      func() time.Time
	wg       sync.WaitGroup
	// deliveries sends callback outcomes as soon as they are recorded.
	deliveries *deliveries
	// inline runs the inline attempts.
	inline inlinePool
	// jobs counts River's jobs for the metrics.
	jobs *jobMetrics
	// twins are cfg.TestActions' actions, marked as test-mode ones.
	twins map[string]*Action
}

// NewRuntime builds the runtime and its River client (not yet started);
// jobs are features' background work, run on FeatureQueue.
func NewRuntime(cfg Config, db *store.DB, reg *Registry, hs HubSpot, v *validator.Validate, log *slog.Logger, m *Metrics, reg2 prometheus.Registerer, jobs ...Jobs) (*Runtime, error) {
	cfg.defaults()
	if cfg.Retention < MinRetention {
		return nil, fmt.Errorf("actions: retention %v is shorter than %v: HubSpot retries a request for up to 3 days, and a retry whose execution was pruned would run again", cfg.Retention, MinRetention)
	}
	rt := &Runtime{cfg: cfg, db: db, reg: reg, hs: hs, validate: newValidate(v), log: log, m: m, now: time.Now}
	tw, err := twins(reg, cfg.TestActions)
	if err != nil {
		return nil, err
	}
	rt.twins = tw
	rt.deliveries = newDeliveries(rt)
	rt.jobs = newJobMetrics()
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &executeWorker{rt: rt}); err != nil {
		return nil, fmt.Errorf("actions: add execute worker: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &deliverWorker{rt: rt}); err != nil {
		return nil, fmt.Errorf("actions: add deliver worker: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &sweepWorker{rt: rt}); err != nil {
		return nil, fmt.Errorf("actions: add sweep worker: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &pruneWorker{rt: rt}); err != nil {
		return nil, fmt.Errorf("actions: add prune worker: %w", err)
	}
	chores, err := choreJobs(workers, cfg.Chores)
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		if err := j.AddWorkers(workers); err != nil {
			return nil, fmt.Errorf("actions: add feature workers: %w", err)
		}
	}
	client, err := newQueue(db, &river.Config{
		Queues: map[string]river.QueueConfig{
			river.QueueDefault: {MaxWorkers: cfg.Workers},
			controlQueue:       {MaxWorkers: 4},
			FeatureQueue:       {MaxWorkers: 2},
		},
		Workers:           workers,
		Middleware:        []rivertype.Middleware{rt.jobs},
		FetchPollInterval: 200 * time.Millisecond,
		FetchCooldown:     20 * time.Millisecond,
		JobTimeout:        cfg.jobTimeout(),
		// A job still "running" this long after it started belongs to a
		// dead process: River makes it available again.
		RescueStuckJobsAfter: cfg.AttemptTimeout + time.Minute,
		Logger:               log.With("component", "river"),
		PeriodicJobs: append([]*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(cfg.SweepEvery),
				func() (river.JobArgs, *river.InsertOpts) { return sweepArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(cfg.PruneEvery),
				func() (river.JobArgs, *river.InsertOpts) { return pruneArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
		}, chores...),
		// Each sweep and prune leaves a completed job; keep them briefly.
		CompletedJobRetentionPeriod: time.Hour,
	})
	if err != nil {
		return nil, fmt.Errorf("actions: river client: %w", err)
	}
	rt.river = client
	if reg2 != nil {
		reg2.MustRegister(rt.jobs)
	}
	return rt, nil
}

// Start starts the background job workers. Stop stops them.
func (rt *Runtime) Start(ctx context.Context) error {
	// The jobs gauge counts from here on; the jobs already waiting
	// (including any a dead process left running, which River rescues) are
	// counted once now, never at scrape time.
	counts, err := rt.db.JobCounts(ctx)
	if err != nil {
		return fmt.Errorf("actions: count waiting jobs: %w", err)
	}
	rt.jobs.seed(counts["available"] + counts["scheduled"] + counts["retryable"] + counts["pending"] + counts["running"])
	// River stops when its start context ends; Stop does that gracefully.
	if err := rt.river.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("actions: start jobs: %w", err)
	}
	rt.deliveries.start(ctx)
	return nil
}

// Stop stops fetching jobs and waits, until ctx ends, for action runs in
// flight (each is bounded by AttemptTimeout) and running jobs to finish;
// jobs still running then are cancelled (their executions are recovered
// by the next process).
func (rt *Runtime) Stop(ctx context.Context) error {
	runs := make(chan struct{})
	go func() { rt.wg.Wait(); close(runs) }()
	err := rt.river.Stop(ctx)
	if err != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err = errors.Join(err, rt.river.StopAndCancel(cctx))
	}
	select {
	case <-runs:
	case <-ctx.Done():
	}
	rt.inline.close()
	// Runs and jobs have stopped recording outcomes: no more wake-ups.
	rt.deliveries.stop(ctx)
	return err
}

// Registry returns the registry the runtime serves.
func (rt *Runtime) Registry() *Registry { return rt.reg }

// errUnavailable means the ledger could not be written; HubSpot should
// retry later.
var errUnavailable = errors.New("actions: ledger unavailable")

// ErrUnavailable reports whether err means "try again later" (503).
func ErrUnavailable(err error) bool { return errors.Is(err, errUnavailable) }

// Execute runs one execution request for action a and returns the answer.
// An error means no answer could be given (the ledger is unavailable): the
// caller answers 503 so HubSpot retries.
func (rt *Runtime) Execute(ctx context.Context, a *Action, req *Request) (Response, error) {
	// Once HubSpot's request is here, its bookkeeping is finished even if
	// HubSpot hangs up: a half-recorded execution helps nobody.
	ctx = context.WithoutCancel(ctx)
	received := rt.now()
	body, err := json.Marshal(req)
	if err != nil {
		return Response{}, fmt.Errorf("actions: encode request: %w", err)
	}
	ne := store.NewExecution{
		CallbackID: req.CallbackID,
		Ref:        reference(req.CallbackID),
		PortalID:   int64(req.Origin.PortalID),
		Action:     a.Key,
		WorkflowID: int64(req.Context.WorkflowID),
		ObjectType: req.Object.ObjectType,
		ObjectID:   string(req.Object.ObjectID),
		Request:    string(body),
		LeaseUntil: received.Add(rt.cfg.lease()),
	}
	// A portal that must reinstall can never receive a callback, so its
	// executions are answered at once, without running the action.
	gate := rt.hs.CheckPortal(ctx, ne.PortalID)
	var refused outcome
	// The inline happy path writes the ledger twice: this insert, and the
	// outcome (Finish).
	var inserted bool
	var existing store.Execution
	live := a
	err = rt.db.Write(ctx, func(tx *store.Tx) error {
		// The execution's mode is its portal's setting as it is
		// recorded, read by the insert itself.
		var testMode bool
		var err error
		if inserted, testMode, err = tx.RecordExecution(ctx, ne); err != nil {
			return err
		}
		a = rt.inMode(live, testMode)
		if !inserted {
			existing, err = tx.GetExecution(ctx, req.CallbackID)
			return err
		}
		if gate != nil {
			refused = rt.failure(a, ne.Ref, nil, publicError(gate))
			_, _, err = tx.Finish(ctx, req.CallbackID, 1, refused.Outcome)
		}
		return err
	})
	if err != nil {
		rt.log.Error("record execution", "portal_id", ne.PortalID, "action", a.Key, "callback_id", req.CallbackID, "err", err)
		return Response{}, errUnavailable
	}
	if !inserted {
		return rt.duplicate(ctx, live, existing)
	}
	if gate != nil {
		rt.finished(a, store.DeliveryInline, StateFailContinue, string(CodeNotConnected), received)
		rt.log.Warn("execution refused: portal not connected", "portal_id", ne.PortalID, "action", a.Key, "callback_id", req.CallbackID, "err", gate)
		return Response{OutputFields: refused.fields}, nil
	}
	return rt.runInline(ctx, a, req, ne.Ref, 1, received, ne.LeaseUntil)
}

// runInline runs attempt of an execution while the request waits, up to
// the inline budget, and answers its outcome, or BLOCK when the budget runs
// out first. The run goes on after a BLOCK answer and delivers through the
// callbacks API.
func (rt *Runtime) runInline(ctx context.Context, a *Action, req *Request, ref string, attempt int, received, lease time.Time) (Response, error) {
	done := make(chan attemptResult, 1)
	wctx := context.WithoutCancel(ctx)
	rt.wg.Add(1)
	rt.inline.run(func() {
		defer rt.wg.Done()
		done <- rt.attempt(wctx, a, req, ref, attempt, received, lease, true)
	})
	timer := time.NewTimer(rt.cfg.InlineBudget)
	defer timer.Stop()
	select {
	case res := <-done:
		return res.answer, res.err
	case <-timer.C:
	}
	expires := rt.now().Add(a.blockExpiry(rt.cfg))
	var blocked bool
	err := rt.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		blocked, err = tx.Block(ctx, req.CallbackID, attempt, expires, true)
		return err
	})
	if err != nil {
		rt.log.Error("mark execution blocked", "portal_id", int64(req.Origin.PortalID), "action", a.Key, "callback_id", req.CallbackID, "err", err)
		return Response{}, errUnavailable
	}
	if blocked {
		rt.m.blocks.WithLabelValues(a.Key).Inc()
		return blockAnswer(expires.Sub(rt.now())), nil
	}
	// The outcome was recorded for inline delivery before the budget ran out.
	res := <-done
	return res.answer, res.err
}

// inlinePool runs inline attempts on goroutines kept from earlier ones: an
// attempt needs a deep stack (SQLite through cgo, the group committer), which
// a fresh goroutine grows, copying it, every time. A worker waits for the
// next attempt up to inlineIdle, so a burst leaves no goroutines behind for
// long; when none is waiting, an attempt gets a new one. The zero value is
// ready; stop makes waiting workers exit.
type inlinePool struct {
	init sync.Once
	jobs chan func() // unbuffered: a send succeeds only to a waiting worker
	quit chan struct{}
	stop sync.Once
}

const inlineIdle = 2 * time.Second

func (p *inlinePool) setup() {
	p.init.Do(func() {
		p.jobs = make(chan func())
		p.quit = make(chan struct{})
	})
}

// run runs f on a waiting worker, or on a new one.
func (p *inlinePool) run(f func()) {
	p.setup()
	select {
	case p.jobs <- f:
	default:
		go p.work(f)
	}
}

func (p *inlinePool) work(f func()) {
	idle := time.NewTimer(inlineIdle)
	defer idle.Stop()
	for {
		f()
		idle.Reset(inlineIdle)
		select {
		case f = <-p.jobs:
		case <-idle.C:
			return
		case <-p.quit:
			return
		}
	}
}

// close makes the waiting workers, and those finishing, exit; later runs
// get a goroutine each.
func (p *inlinePool) close() {
	p.setup()
	p.stop.Do(func() { close(p.quit) })
}

type attemptResult struct {
	answer Response
	err    error
}

// attempt runs the action once under attempt and records what happened:
// an outcome (answered inline or delivered by callback, as the ledger
// decides), or a retry for later. The run must end before lease, when
// others may take the execution over; inline says whether a request is
// waiting.
func (rt *Runtime) attempt(ctx context.Context, a *Action, req *Request, ref string, attempt int, received, lease time.Time, inline bool) attemptResult {
	// Built only when something is worth logging: the common path logs nothing.
	log := func() *slog.Logger {
		return rt.log.With("portal_id", int64(req.Origin.PortalID), "action", a.Key, "callback_id", req.CallbackID, "attempt", attempt)
	}
	ex := &Execution{
		CallbackID: req.CallbackID,
		Ref:        ref,
		PortalID:   int64(req.Origin.PortalID),
		Attempt:    attempt,
		Origin:     req.Origin,
		Context:    req.Context,
		Object:     req.Object,
		TestMode:   a.testMode,
	}
	rt.m.inflight.Inc()
	outputs, err := rt.run(ctx, a, ex, req.InputFields, lease)
	rt.m.inflight.Dec()

	var o outcome
	var pending *PendingError
	switch {
	case err == nil:
		o = success(a, outputs)
	case errors.As(err, &pending) || Transient(err):
		after, reason := rt.retryDelay(err, attempt)
		expires := received.Add(a.blockExpiry(rt.cfg))
		if attempt >= rt.cfg.MaxAttempts && pending == nil || rt.now().Add(after).After(expires.Add(-time.Minute)) {
			log().Warn("giving up after retries", "err", logErr(err))
			o = rt.failure(a, ref, outputs, giveUp(err, attempt))
			break
		}
		log().Info("will retry", "after", after.String(), "reason", logErr(err))
		return rt.retry(ctx, a, req, attempt, after, failureOf(err, reason), expires, inline)
	default:
		pe := publicError(err)
		if pe.Code == CodeInternal {
			log().Error("action failed", "err", logErr(err))
		} else {
			log().Info("action failed", "error_code", string(pe.Code), "err", logErr(err))
		}
		o = rt.failure(a, ref, outputs, pe)
	}
	return rt.finish(ctx, a, req, attempt, received, o, inline)
}

// run calls the action, turning a panic into an INTERNAL_ERROR. It gives
// the action AttemptTimeout, and never past two seconds before the lease
// ends, so that nobody takes over an execution whose run is still going.
func (rt *Runtime) run(ctx context.Context, a *Action, ex *Execution, inputs map[string]any, lease time.Time) (out map[string]string, err error) {
	deadline := rt.now().Add(rt.cfg.AttemptTimeout)
	if end := lease.Add(-2 * time.Second); end.Before(deadline) {
		deadline = end
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			rt.log.Error("action panicked", "action", a.Key, "callback_id", ex.CallbackID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			out, err = nil, Fail(CodeInternal, "An unexpected error occurred in the app.")
		}
	}()
	out, err = a.run(ctx, ex, inputs, rt.validate)
	if err == nil {
		// Its outputs are answered whether or not they could be saved.
		err = rt.saveOnRecord(ctx, a, ex, inputs, out)
	}
	return out, err
}

// retryDelay picks when to run again: what the provider asked for (a
// pending answer or Retry-After), else exponential backoff with jitter.
func (rt *Runtime) retryDelay(err error, attempt int) (time.Duration, string) {
	var pending *PendingError
	if errors.As(err, &pending) {
		return max(pending.After, 10*time.Millisecond), pending.Reason
	}
	if d, ok := upstream.RetryAfter(err); ok {
		return min(d, time.Hour), err.Error()
	}
	return backoff(attempt), err.Error()
}

// pendingPrefix starts the recorded text of a "not ready yet" answer.
const pendingPrefix = "pending: "

// failureOf turns an attempt's error into the failure the ledger records:
// the status and Retry-After as data, the reason as text for operators.
func failureOf(err error, reason string) store.Failure {
	f := store.Failure{Reason: reason}
	var pending *PendingError
	var ae *upstream.APIError
	switch {
	case errors.As(err, &pending):
		f.Pending = true
		f.Reason = pendingPrefix + reason
	case errors.As(err, &ae):
		f.Status = ae.Status
		f.RetryAfter = ae.RetryAfter
	}
	return f
}

// lastError rebuilds enough of an execution's last recorded failure, from
// its status columns, to word a give-up message.
func lastError(e store.Execution) error {
	switch {
	case e.LastPending:
		return &PendingError{Reason: strings.TrimPrefix(e.LastError, pendingPrefix)}
	case e.LastStatus != 0:
		return &upstream.APIError{Status: e.LastStatus, RetryAfter: e.LastRetryAfter, Body: e.LastError}
	case e.LastError == "":
		return errors.New("no answer in time")
	}
	return errors.New(e.LastError)
}

// backoff returns 2s, 4s, 8s … capped at 10 minutes, with ±20% jitter.
func backoff(attempt int) time.Duration {
	d := 2 * time.Second << min(attempt-1, 9)
	d = min(d, 10*time.Minute)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// giveUp is the public error for an execution whose retries ran out.
func giveUp(err error, attempts int) *Error {
	var pending *PendingError
	if errors.As(err, &pending) {
		return &Error{Code: CodeUnavailable, Err: err,
			Message: "The service did not have an answer ready in time (" + pending.Reason + "); try again later."}
	}
	if rateLimited(err) {
		return &Error{Code: CodeRateLimited, Err: err,
			Message: fmt.Sprintf("The service kept rate limiting our requests (%d attempts); try again later.", attempts)}
	}
	return &Error{Code: CodeUnavailable, Err: err,
		Message: fmt.Sprintf("The service could not be reached or kept failing (%d attempts); try again later.", attempts)}
}

// retry leaves the execution for a later attempt: its lease now ends at
// the retry time, when the sweeper hands it to a River job. An inline
// request is answered BLOCK: the outcome will go through the callbacks API.
func (rt *Runtime) retry(ctx context.Context, a *Action, req *Request, attempt int, after time.Duration, f store.Failure, expires time.Time, inline bool) attemptResult {
	retryAt := rt.now().Add(after)
	var held bool
	err := rt.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		held, err = tx.Release(ctx, req.CallbackID, attempt, retryAt, f, expires, inline)
		return err
	})
	if err != nil {
		rt.log.Error("schedule retry", "portal_id", int64(req.Origin.PortalID), "action", a.Key, "callback_id", req.CallbackID, "err", err)
		return attemptResult{err: errUnavailable}
	}
	if !held {
		// Another attempt took the execution over; it answers for it.
		return rt.lost(ctx, a, req.CallbackID)
	}
	if inline {
		rt.m.blocks.WithLabelValues(a.Key).Inc()
	}
	return attemptResult{answer: blockAnswer(expires.Sub(rt.now()))}
}

// finish records an outcome and answers it: inline when no BLOCK was
// answered, else BLOCK, and the portal's delivery is woken to send it by
// callback at once (the sweeper is the safety net).
// inline says a request waits for the answer; a job's is dropped.
func (rt *Runtime) finish(ctx context.Context, a *Action, req *Request, attempt int, received time.Time, o outcome, inline bool) attemptResult {
	var reached store.ExecState
	var ok bool
	err := rt.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		reached, ok, err = tx.Finish(ctx, req.CallbackID, attempt, o.Outcome)
		return err
	})
	if err != nil {
		rt.log.Error("record outcome", "portal_id", int64(req.Origin.PortalID), "action", a.Key, "callback_id", req.CallbackID, "err", err)
		return attemptResult{err: errUnavailable}
	}
	if !ok {
		return rt.lost(ctx, a, req.CallbackID)
	}
	if reached == store.ExecAwaitingDelivery {
		rt.finished(a, store.DeliveryCallback, o.FinalState, o.ErrorCode, received)
		rt.wakeDelivery(int64(req.Origin.PortalID))
		if !inline {
			return attemptResult{}
		}
		// A request waits, but the execution was blocked meanwhile (a
		// repeated delivery answered BLOCK): so is this request, until the
		// execution's expiry.
		e, err := rt.db.GetExecution(ctx, req.CallbackID)
		if err != nil {
			rt.log.Error("read blocked execution", "portal_id", int64(req.Origin.PortalID), "action", a.Key, "callback_id", req.CallbackID, "err", err)
			return attemptResult{answer: blockAnswer(a.blockExpiry(rt.cfg))}
		}
		return attemptResult{answer: blockAnswer(e.ExpiresAt.Sub(rt.now()))}
	}
	rt.finished(a, store.DeliveryInline, o.FinalState, o.ErrorCode, received)
	return attemptResult{answer: Response{OutputFields: o.fields}}
}

func (rt *Runtime) finished(a *Action, delivery, state, code string, received time.Time) {
	rt.m.executions.WithLabelValues(a.Key, state, code).Inc()
	rt.m.latency.WithLabelValues(a.Key, delivery).Observe(rt.now().Sub(received).Seconds())
}

// lost answers for an attempt that found the execution taken over by
// another: whatever the ledger now says.
func (rt *Runtime) lost(ctx context.Context, a *Action, callbackID string) attemptResult {
	e, err := rt.db.GetExecution(ctx, callbackID)
	if err != nil {
		return attemptResult{err: errUnavailable}
	}
	if e.Exec == store.ExecAnswered {
		return attemptResult{answer: answerFromOutputs(e.Outputs)}
	}
	return attemptResult{answer: blockAnswer(e.ExpiresAt.Sub(rt.now()))}
}

// duplicate answers a repeated delivery of a recorded callbackId without
// running the action again, except to take over a run whose process died
// before HubSpot was answered. decide picks the answer; one transition
// carries it out, and when the row changed in between (the transition
// refuses) the fresh row is decided again.
func (rt *Runtime) duplicate(ctx context.Context, a *Action, e store.Execution) (Response, error) {
	if e.Action != a.Key {
		rt.log.Warn("callbackId repeated for a different action; answering for the recorded one",
			"portal_id", e.PortalID, "action", e.Action, "callback_id", e.CallbackID, "requested_action", a.Key)
		if ra, ok := rt.reg.Get(e.Action); ok {
			a = ra
		}
	}
	// The execution keeps the mode it was recorded in.
	a = rt.inMode(a, e.TestMode)
	for range 4 {
		now := rt.now()
		var got store.Execution
		var ok bool
		// change runs the decided transition and, if it refused, reads the
		// row again in the same transaction.
		change := func(fn func(tx *store.Tx) (store.Execution, bool, error)) error {
			return rt.db.Write(ctx, func(tx *store.Tx) error {
				var err error
				if got, ok, err = fn(tx); err == nil && !ok {
					got, err = tx.GetExecution(ctx, e.CallbackID)
				}
				return err
			})
		}
		switch decide(e, now) {
		case answerOutcome:
			return answerFromOutputs(e.Outputs), nil
		case answerBlock:
			return blockAnswer(e.ExpiresAt.Sub(now)), nil
		case answerBlockNow:
			expires := e.ExpiresAt // Block keeps an expiry set before
			if expires.IsZero() {
				expires = now.Add(a.blockExpiry(rt.cfg))
			}
			if err := change(func(tx *store.Tx) (store.Execution, bool, error) {
				ok, err := tx.Block(ctx, e.CallbackID, e.Attempt, expires, true)
				return store.Execution{}, ok, err
			}); err != nil {
				return Response{}, errUnavailable
			}
			if ok {
				if e.Exec == store.ExecRunning {
					rt.m.blocks.WithLabelValues(a.Key).Inc()
				}
				return blockAnswer(expires.Sub(now)), nil
			}
		case answerTakeOver:
			lease := now.Add(rt.cfg.lease())
			if err := change(func(tx *store.Tx) (store.Execution, bool, error) {
				return tx.Claim(ctx, e.CallbackID, e.Attempt, lease, true, time.Time{})
			}); err != nil {
				return Response{}, errUnavailable
			}
			if ok && got.Erased() {
				// Its inputs went with the erasure: it cannot run again.
				r := rt.finish(ctx, a, erasedRequest(got), got.Attempt, got.ReceivedAt, rt.failure(a, got.Ref, nil, erasedFailure()), true)
				return r.answer, r.err
			}
			if ok {
				var req Request
				if err := json.Unmarshal([]byte(got.Request), &req); err != nil {
					return Response{}, fmt.Errorf("actions: decode recorded request %s: %w", got.CallbackID, err)
				}
				rt.log.Info("resuming an execution whose run was interrupted",
					"portal_id", got.PortalID, "action", got.Action, "callback_id", got.CallbackID, "attempt", got.Attempt)
				// Should HubSpot have been answered BLOCK meanwhile, Claim
				// made the execution blocked: the run then answers BLOCK
				// and delivers by callback.
				return rt.runInline(ctx, a, &req, got.Ref, got.Attempt, got.ReceivedAt, lease)
			}
		case answerReanswer:
			if err := change(func(tx *store.Tx) (store.Execution, bool, error) {
				return tx.AnswerInline(ctx, e.CallbackID)
			}); err != nil {
				return Response{}, errUnavailable
			}
			if ok {
				if got.Exec == store.ExecAnswered {
					return answerFromOutputs(got.Outputs), nil
				}
				return blockAnswer(got.ExpiresAt.Sub(now)), nil
			}
		}
		e = got
	}
	return Response{}, errUnavailable
}

func (a *Action) blockExpiry(cfg Config) time.Duration {
	if a.BlockExpiry > 0 {
		return a.BlockExpiry
	}
	return cfg.BlockExpiry
}

// outcome is an outcome as recorded (Outputs is JSON) and as answered.
type outcome struct {
	store.Outcome
	fields map[string]string
}

// success builds a SUCCESS outcome with every declared output present.
func success(a *Action, outputs map[string]string) outcome {
	out := a.complete(outputs)
	out[OutputErrorCode] = ""
	out[OutputErrorMsg] = ""
	out[OutputState] = StateSuccess
	return outcome{store.Outcome{FinalState: StateSuccess, Outputs: mustJSON(out)}, out}
}

// failure builds a FAIL_CONTINUE outcome whose message carries the
// execution's reference.
func (rt *Runtime) failure(a *Action, ref string, outputs map[string]string, e *Error) outcome {
	out := a.complete(outputs)
	for k, v := range a.FailOutputs {
		if out[k] == "" {
			out[k] = v
		}
	}
	msg := oneLine(e.Message)
	if msg == "" {
		msg = "The action failed."
	}
	msg += " (ref " + ref + ")"
	out[OutputErrorCode] = string(e.Code)
	out[OutputErrorMsg] = msg
	out[OutputState] = StateFailContinue
	internal := ""
	status := 0
	if e.Err != nil {
		internal = e.Err.Error()
		var ae *upstream.APIError
		if errors.As(e.Err, &ae) {
			status = ae.Status
		}
	}
	return outcome{store.Outcome{FinalState: StateFailContinue, Outputs: mustJSON(out), ErrorCode: string(e.Code), ErrorMessage: msg,
		LastError: internal, LastStatus: status}, out}
}

// complete returns a copy of outputs with every declared output present.
func (a *Action) complete(outputs map[string]string) map[string]string {
	out := make(map[string]string, len(a.Outputs)+1)
	for _, f := range a.Outputs {
		out[f.Name] = ""
	}
	for k, v := range outputs {
		if _, declared := out[k]; declared {
			out[k] = v
		}
	}
	out[OutputTestMode] = testModeValue(a.testMode)
	return out
}

// mustJSON encodes outputs as json.Marshal does.
func mustJSON(outputs map[string]string) string {
	return string(appendStringMap(make([]byte, 0, 256), outputs))
}

func answerFromOutputs(outputs string) Response {
	var m map[string]string
	if err := json.Unmarshal([]byte(outputs), &m); err != nil || m == nil {
		m = map[string]string{OutputState: StateFailContinue, OutputErrorCode: string(CodeInternal), OutputErrorMsg: "The recorded outcome could not be read."}
	}
	return Response{OutputFields: m}
}

// blockAnswer answers BLOCK, asking HubSpot to wait up to d.
func blockAnswer(d time.Duration) Response {
	return Response{OutputFields: map[string]string{OutputState: StateBlock, OutputExpiration: isoDuration(max(d, time.Minute))}}
}

// isoDuration formats d as an ISO-8601 duration such as P1DT2H3M4S.
func isoDuration(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	days, s := s/86400, s%86400
	h, s := s/3600, s%3600
	m, s := s/60, s%60
	out := "P"
	if days > 0 {
		out += fmt.Sprintf("%dD", days)
	}
	if h > 0 || m > 0 || s > 0 || days == 0 {
		out += "T"
		if h > 0 {
			out += fmt.Sprintf("%dH", h)
		}
		if m > 0 {
			out += fmt.Sprintf("%dM", m)
		}
		if s > 0 || (h == 0 && m == 0) {
			out += fmt.Sprintf("%dS", s)
		}
	}
	return out
}
