package actions

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"

	"hubspot-actions/store"
)

// FeatureQueue is the River queue the jobs of features built beside the
// runtime (Jobs) run on, apart from action runs and the control work.
const FeatureQueue = "features"

// Jobs is a feature's durable background work (for example the webhook
// events a receiver recorded), run by the runtime's River client: it
// registers its workers, whose jobs set Queue: FeatureQueue, and inserts
// its jobs with InsertJobsTx.
type Jobs interface {
	AddWorkers(w *river.Workers) error
}

// InsertJobsTx inserts jobs in the write transaction tx, so that they exist
// if and only if tx commits.
func (rt *Runtime) InsertJobsTx(ctx context.Context, tx *store.Tx, jobs []river.InsertManyParams) error {
	if len(jobs) == 0 {
		return nil
	}
	if err := rt.river.insertManyTx(ctx, tx, jobs); err != nil {
		return fmt.Errorf("actions: insert jobs: %w", err)
	}
	return nil
}

// erasedFailure finishes an execution whose personal data was erased
// before it could run again: without its inputs it cannot.
func erasedFailure() *Error {
	return Fail(CodeNotFound, "The record was deleted in HubSpot, and this execution's data was erased with it.")
}

// erasedRequest stands for the recorded request of an erased execution,
// gone with its personal data: enough to record an outcome.
func erasedRequest(e store.Execution) *Request {
	r := &Request{CallbackID: e.CallbackID}
	r.Origin.PortalID = FlexInt(e.PortalID)
	return r
}
