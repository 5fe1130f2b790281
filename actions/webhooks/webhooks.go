// Package webhooks receives HubSpot's webhook batches on POST
// /hubspot/webhooks and acts on the events the app cares about: a
// contact's privacy deletion, and the deletion of a record the app keeps
// executions of, both of which erase that record's personal data from the
// execution history (store.EraseObject).
//
// A batch is recorded before it is acknowledged: every event the app acts
// on becomes a webhook_events row and a River job, in one transaction, so
// a crash at any point either loses the batch before the 2xx (HubSpot
// delivers it again) or keeps it all. An event's key identifies it across
// HubSpot's retries (eventId alone is not unique), so a repeated delivery
// is recorded once and erases once. The job is idempotent too: the erasure
// and the event's "done" mark share a transaction.
package webhooks

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"hubspot-actions/actions"
	"hubspot-actions/store"
)

// Path is the route HubSpot posts batches to, relative to the public base
// URL (the webhooks component's targetUrl).
const Path = "/hubspot/webhooks"

// MaxEvents is the most events HubSpot puts in one batch.
const MaxEvents = 100

// MaxBodyBytes caps a batch's body: 100 events of a few hundred bytes
// each, with room for long property values, stay far below it.
const MaxBodyBytes = 1 << 20

// retainEvents is how long processed events are kept to recognise repeats:
// HubSpot retries a batch for up to 24 hours.
const retainEvents = 3 * 24 * time.Hour

// Receiver records HubSpot's webhook batches and processes their events
// in the background. It is safe for concurrent use.
type Receiver struct {
	db  *store.DB
	log *slog.Logger
	now func() time.Time
	m   metrics
}

type metrics struct {
	events   *prometheus.CounterVec
	erasures *prometheus.CounterVec
}

// New returns a receiver over db, registering its metrics with reg.
func New(db *store.DB, log *slog.Logger, reg prometheus.Registerer) *Receiver {
	m := metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hubspot_actions_webhook_events_total",
			Help: "Webhook events received, by subscription type ('unknown' for types HubSpot does not document) and result (recorded, repeated, ignored, unknown).",
		}, []string{"type", "result"}),
		erasures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hubspot_actions_erasures_total",
			Help: "Erasures of a record's personal data carried out, by reason (privacy_deletion, deletion).",
		}, []string{"reason"}),
	}
	reg.MustRegister(m.events, m.erasures)
	return &Receiver{db: db, log: log.With("component", "webhooks"), now: time.Now, m: m}
}

// Jobs is what the receiver needs of the runtime: inserting its jobs in a
// write transaction (actions.Runtime does).
type Jobs interface {
	InsertJobsTx(ctx context.Context, tx *store.Tx, jobs []river.InsertManyParams) error
}

// Routes registers POST Path on e. The route's middleware, outermost
// first, is mw (the unauthenticated-route limits), then the signature
// check (v3, else v1, over at most MaxBodyBytes).
func (r *Receiver) Routes(e *echo.Echo, jobs Jobs, secret, publicBaseURL string, m *actions.Metrics, mw ...echo.MiddlewareFunc) {
	chain := append(append([]echo.MiddlewareFunc{}, mw...),
		actions.VerifyWebhookSignature(secret, publicBaseURL, MaxBodyBytes, time.Now, r.log, m))
	e.POST(Path, r.Handler(jobs), chain...)
}

// event is one webhook event as HubSpot sends it (§10). Legacy batches
// name the type eventType; object.* events name the object by objectTypeId.
type event struct {
	EventID          actions.FlexInt `json:"eventId"`
	SubscriptionID   actions.FlexInt `json:"subscriptionId"`
	PortalID         actions.FlexInt `json:"portalId"`
	AppID            actions.FlexInt `json:"appId"`
	OccurredAt       actions.FlexInt `json:"occurredAt"`
	SubscriptionType string          `json:"subscriptionType"`
	EventType        string          `json:"eventType"`
	AttemptNumber    actions.FlexInt `json:"attemptNumber"`
	ObjectID         actions.FlexInt `json:"objectId"`
	ObjectTypeID     string          `json:"objectTypeId"`
	PropertyName     string          `json:"propertyName"`
}

// Handler serves POST Path: it decodes the batch the signature middleware
// admitted, records the events the app acts on with their jobs, and
// answers 204. A body that is not a batch of events gets a 400 naming what
// is wrong; events of types the app does not act on, or that HubSpot does
// not document, are acknowledged and counted, not recorded.
func (r *Receiver) Handler(jobs Jobs) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		events, err := decodeBatch(actions.RawBody(c))
		if err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, err.Error())
		}
		var todo []store.WebhookEvent
		type count struct{ typ, result string }
		var counts []count
		for _, ev := range events {
			typ := ev.typ()
			w, known := classify(ev)
			switch {
			case !known:
				counts = append(counts, count{"unknown", "unknown"})
			case w.reason == "":
				counts = append(counts, count{typ, "ignored"})
			default:
				todo = append(todo, store.WebhookEvent{Key: ev.key(), PortalID: int64(ev.PortalID), SubscriptionType: typ,
					ObjectType: w.objectType, ObjectID: strconv.FormatInt(int64(ev.ObjectID), 10), OccurredAt: time.UnixMilli(int64(ev.OccurredAt))})
			}
		}
		// Once HubSpot's batch is here, recording it finishes even if
		// HubSpot hangs up.
		ctx = context.WithoutCancel(ctx)
		var recorded []bool
		err = r.db.Write(ctx, func(tx *store.Tx) error {
			recorded = make([]bool, len(todo)) // Write may run this again
			var params []river.InsertManyParams
			for i, ev := range todo {
				ok, err := tx.InsertWebhookEvent(ctx, ev)
				if err != nil {
					return err
				}
				recorded[i] = ok
				if ok {
					params = append(params, river.InsertManyParams{Args: processArgs{EventKey: ev.Key}})
				}
			}
			return jobs.InsertJobsTx(ctx, tx, params)
		})
		if err != nil {
			// Not acknowledged: HubSpot delivers the batch again.
			return echo.NewHTTPError(http.StatusServiceUnavailable, "the batch could not be recorded; deliver it again").WithInternal(err)
		}
		for i, ev := range todo {
			result := "recorded"
			if !recorded[i] {
				result = "repeated"
			}
			counts = append(counts, count{ev.SubscriptionType, result})
		}
		for _, n := range counts {
			r.m.events.WithLabelValues(n.typ, n.result).Inc()
		}
		return c.NoContent(http.StatusNoContent)
	}
}

// decodeBatch decodes and checks a batch: a JSON array of 1 to MaxEvents
// events, each with a portal, a type, a time and, for events on an object,
// the object's id. Errors name the event and field.
func decodeBatch(body []byte) ([]event, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '[' {
		return nil, errors.New("the body must be a JSON array of webhook events")
	}
	var events []event
	if err := json.Unmarshal(body, &events); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, fmt.Errorf("events: %s has the wrong type (%s)", te.Field, te.Value)
		}
		return nil, errors.New("the body is not a valid JSON array of webhook events (each a JSON object; ids and times whole numbers)")
	}
	if len(events) == 0 {
		return nil, errors.New("the batch has no events")
	}
	if len(events) > MaxEvents {
		return nil, fmt.Errorf("the batch has %d events; HubSpot sends at most %d", len(events), MaxEvents)
	}
	for i, ev := range events {
		switch {
		case ev.PortalID <= 0:
			return nil, fmt.Errorf("events[%d].portalId: must be a positive whole number", i)
		case ev.typ() == "":
			return nil, fmt.Errorf("events[%d].subscriptionType: is missing", i)
		case ev.OccurredAt <= 0:
			return nil, fmt.Errorf("events[%d].occurredAt: must be a positive time in milliseconds", i)
		}
		if w, known := classify(ev); known && w.reason != "" && ev.ObjectID <= 0 {
			return nil, fmt.Errorf("events[%d].objectId: must be a positive whole number for %s", i, ev.typ())
		}
	}
	return events, nil
}

// typ is the event's subscription type, under either name.
func (ev event) typ() string {
	if ev.SubscriptionType != "" {
		return ev.SubscriptionType
	}
	return ev.EventType
}

// key identifies the event across HubSpot's retries: everything about it
// but the attempt number. eventId alone is not unique (§10), and two events
// may share it while differing in subscription, object or time.
func (ev event) key() string {
	h := sha256.Sum256(fmt.Appendf(nil, "%d|%d|%s|%s|%d|%d|%d|%s",
		ev.PortalID, ev.SubscriptionID, ev.typ(), ev.ObjectTypeID, ev.ObjectID, ev.OccurredAt, ev.EventID, ev.PropertyName))
	return hex.EncodeToString(h[:])
}

// work is what an event asks of the app: an erasure with reason of the
// objectType record, or nothing (reason "").
type work struct {
	reason     string
	objectType string
}

// Objects and event kinds HubSpot documents (§10); conversation events
// and event.completed carry no record the app keeps.
var (
	legacyObjects = map[string]string{
		"contact": "CONTACT", "company": "COMPANY", "deal": "DEAL", "ticket": "TICKET",
		"line_item": "LINE_ITEM", "product": "PRODUCT", "conversation": "", "object": "",
	}
	eventKinds = map[string]bool{
		"creation": true, "deletion": true, "propertyChange": true, "associationChange": true,
		"merge": true, "restore": true, "privacyDeletion": true, "newMessage": true,
	}
	// objectTypeIDs are the standard objects' type ids (§9.3).
	objectTypeIDs = map[string]string{
		"0-1": "CONTACT", "0-2": "COMPANY", "0-3": "DEAL", "0-5": "TICKET", "0-7": "PRODUCT", "0-8": "LINE_ITEM",
	}
)

// classify says whether HubSpot documents the event's type, and what the
// app does with it: a contact's privacy deletion erases that contact; the
// deletion of any record erases that record's executions (HubSpot sends a
// contact.deletion too after a privacy deletion, which then finds nothing
// left).
func classify(ev event) (work, bool) {
	t := ev.typ()
	if t == "event.completed" {
		return work{}, true
	}
	obj, kind, ok := strings.Cut(t, ".")
	name, known := legacyObjects[obj]
	if !ok || !known || !eventKinds[kind] {
		return work{}, false
	}
	if obj == "object" {
		name = objectTypeIDs[ev.ObjectTypeID]
		if name == "" {
			name = ev.ObjectTypeID // a custom object: executions record its type id
		}
	}
	switch {
	case kind == "privacyDeletion" && name == "CONTACT":
		return work{store.ErasePrivacyDeletion, name}, true
	case kind == "deletion" && name != "":
		return work{store.EraseDeletion, name}, true
	}
	return work{}, true
}

// spellings returns the ways executions may record an object type: its
// name and its type id.
func spellings(objectType string) []string {
	out := []string{objectType}
	for id, name := range objectTypeIDs {
		if name == objectType {
			out = append(out, id)
		}
	}
	return out
}

// processArgs processes one recorded event. Its args name the event's key
// only, never the object: River's job table keeps no personal data.
type processArgs struct {
	EventKey string `json:"event_key"`
}

func (processArgs) Kind() string { return "hubspot_actions.webhook_event" }

func (processArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: actions.FeatureQueue, MaxAttempts: 25, UniqueOpts: river.UniqueOpts{
		ByArgs: true,
		ByState: []rivertype.JobState{
			rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
			rivertype.JobStateRunning, rivertype.JobStateScheduled,
		},
	}}
}

// AddWorkers registers the receiver's worker (actions.Jobs).
func (r *Receiver) AddWorkers(w *river.Workers) error {
	return river.AddWorkerSafely(w, &processWorker{r: r})
}

type processWorker struct {
	river.WorkerDefaults[processArgs]
	r *Receiver
}

// pruneBatch bounds the processed events one job deletes.
const pruneBatch = 200

// Work carries out an event's erasure once, then empties the database's
// write-ahead log so the erased data is gone from the files (a failure
// there retries the job, which then only scrubs), and prunes old events.
func (w *processWorker) Work(ctx context.Context, job *river.Job[processArgs]) error {
	r := w.r
	ev, err := r.db.GetWebhookEvent(ctx, job.Args.EventKey)
	if errors.Is(err, store.ErrNotFound) {
		return nil // processed and pruned long ago
	}
	if err != nil {
		return err
	}
	scrub := !ev.DoneAt.IsZero() // a retry whose scrub failed
	if ev.DoneAt.IsZero() {
		reason := store.EraseDeletion
		if strings.HasSuffix(ev.SubscriptionType, ".privacyDeletion") {
			reason = store.ErasePrivacyDeletion
		}
		var er store.Erasure
		var done bool
		err := r.db.Write(ctx, func(tx *store.Tx) error {
			var err error
			// A privacy request is always recorded, as proof it was
			// honoured; a plain deletion only when it erased something.
			er, done, err = tx.EraseForEvent(ctx, ev.Key, reason, spellings(ev.ObjectType), reason == store.ErasePrivacyDeletion)
			return err
		})
		if err != nil {
			return err
		}
		if done && er.ID != "" {
			scrub = scrub || er.Executions > 0
			// Counts only: the object's id is personal data too.
			r.log.Info("erased a deleted record's executions", "portal_id", ev.PortalID, "reason", reason,
				"object_type", ev.ObjectType, "executions", er.Executions, "job_id", job.ID)
		}
		if done {
			r.m.erasures.WithLabelValues(reason).Inc()
		}
	}
	if scrub {
		if err := r.db.Scrub(ctx); err != nil {
			return err
		}
	}
	return r.db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.PruneWebhookEvents(ctx, tx.Now().Add(-retainEvents), pruneBatch)
		return err
	})
}

// ReadScopes are the scopes HubSpot asks of an app subscribing to an
// object's events.
var ReadScopes = map[string]string{
	"contact": "crm.objects.contacts.read", "company": "crm.objects.companies.read", "deal": "crm.objects.deals.read",
}

// KeptObjects returns the objects the app keeps data about, in the
// lower-case form the webhooks component names them: the object types the
// actions are enrolled with. Their deletions are subscribed to.
func KeptObjects(all []*actions.Action) []string {
	var out []string
	for _, a := range all {
		for _, t := range a.Definition(actions.DefinitionParams{}).ObjectTypes {
			if o := strings.ToLower(t); !slices.Contains(out, o) {
				out = append(out, o)
			}
		}
	}
	sort.Strings(out)
	return out
}

// RequireScopes declares, on the registry the install's scopes come from,
// the read scope of every object whose events the webhooks component
// subscribes to (the contact's privacy deletion always, and the deletion of
// every object the actions keep): HubSpot delivers an object's events only
// to apps granted it.
func RequireScopes(reg *actions.Registry) error {
	objects := KeptObjects(reg.All())
	if !slices.Contains(objects, "contact") {
		objects = append(objects, "contact")
	}
	for _, o := range objects {
		sc, ok := ReadScopes[o]
		if !ok {
			continue
		}
		reason := "Webhooks: HubSpot tells the app when a " + o + " is deleted, so its executions' personal data are erased from the history."
		if o == "contact" {
			reason = "Webhooks: HubSpot tells the app when a contact is deleted or asks for a privacy deletion, so its executions' personal data are erased from the history."
		}
		if err := reg.RequireScope(actions.Scope{Name: sc, Reason: reason}); err != nil {
			return err
		}
	}
	return nil
}
