package actions_test

import (
	"testing"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/actions/actionstest"
	"hubspot-actions/store/storetest"
)

// newReplicas starts two harnesses on one database and one fake HubSpot,
// running the same probe: two replicas of the service.
func newReplicas(t *testing.T, cfg actions.Config) (a, b *actionstest.Harness, p *probe) {
	t.Helper()
	p = newProbe()
	url := storetest.URL(t)
	hs := &actionstest.HubSpot{}
	opts := actionstest.Options{Config: cfg, DatabaseURL: url, HubSpot: hs}
	return actionstest.New(t, p.register, opts), actionstest.New(t, p.register, opts), p
}

// TestDeliveryToAnotherReplicaWhileRunning: a callbackId admitted on
// replica A and delivered again to replica B while A's run goes on is not
// run again; both deliveries are answered BLOCK and the outcome reaches
// HubSpot once, by callback.
func TestDeliveryToAnotherReplicaWhileRunning(t *testing.T) {
	t.Parallel()
	a, b, p := newReplicas(t, actions.Config{InlineBudget: 2 * time.Second})
	req := actionstest.NewRequest(7000001, "CONTACT", map[string]any{"message": "replicas"}, nil)
	release := p.hold(req.CallbackID)

	first := make(chan map[string]string, 1)
	go func() { first <- a.Execute(t, "probe", req) }()
	for p.count(req.CallbackID) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	second := b.Execute(t, "probe", req)
	release()
	answerA := <-first

	for name, got := range map[string]map[string]string{"A": answerA, "B": second} {
		if got["hs_execution_state"] != "BLOCK" {
			t.Errorf("replica %s answered %v, want BLOCK (the outcome goes by callback)", name, got)
		}
	}
	done := a.HubSpot.Wait(t, req.CallbackID, 10*time.Second)
	if done["hs_execution_state"] != "SUCCESS" || done["echo"] != "replicas" {
		t.Errorf("completion = %v, want SUCCESS echoing replicas", done)
	}
	waitDelivered(t, b, req.CallbackID)
	if again := b.Execute(t, "probe", req); again["hs_execution_state"] != "BLOCK" {
		t.Errorf("a third delivery, to B after the callback = %v, want BLOCK", again)
	}
	if n := p.count(req.CallbackID); n != 1 {
		t.Errorf("runs = %d, want 1", n)
	}
	if c := a.HubSpot.Completions(req.CallbackID); len(c) != 1 {
		t.Errorf("completions = %d, want 1", len(c))
	}
}
