package actions

import (
	"testing"
	"time"

	"hubspot-actions/store"
)

func TestDecide(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	held, over := now.Add(time.Second), now
	tests := []struct {
		name     string
		state    store.ExecState
		answered bool
		lease    time.Time
		want     answer
	}{
		{"running, run in progress", store.ExecRunning, false, held, answerBlockNow},
		{"running, run died", store.ExecRunning, false, over, answerTakeOver},
		{"blocked, answered, run in progress", store.ExecBlocked, true, held, answerBlock},
		{"blocked, answered, run died", store.ExecBlocked, true, over, answerBlock},
		{"blocked by recovery, run in progress", store.ExecBlocked, false, held, answerBlockNow},
		{"blocked by recovery, run died", store.ExecBlocked, false, over, answerTakeOver},
		{"waiting, answered, retry not due", store.ExecWaiting, true, held, answerBlock},
		{"waiting, answered, retry due", store.ExecWaiting, true, over, answerBlock},
		{"waiting, not answered, retry not due", store.ExecWaiting, false, held, answerBlockNow},
		{"waiting, not answered, retry due", store.ExecWaiting, false, over, answerTakeOver},
		{"answered", store.ExecAnswered, false, time.Time{}, answerOutcome},
		{"answered after BLOCK", store.ExecAnswered, true, time.Time{}, answerOutcome},
		{"awaiting delivery, answered", store.ExecAwaitingDelivery, true, time.Time{}, answerBlock},
		{"awaiting delivery, never answered", store.ExecAwaitingDelivery, false, time.Time{}, answerReanswer},
		{"delivered, answered", store.ExecDelivered, true, time.Time{}, answerBlock},
		{"delivered, never answered", store.ExecDelivered, false, time.Time{}, answerReanswer},
		{"undeliverable, answered", store.ExecUndeliverable, true, time.Time{}, answerReanswer},
		{"undeliverable, never answered", store.ExecUndeliverable, false, time.Time{}, answerReanswer},
		{"unknown state", store.ExecState("from-the-future"), false, held, answerBlock},
	}
	seen := map[store.ExecState]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := store.Execution{Exec: tt.state, BlockAnswered: tt.answered, LeaseUntil: tt.lease,
				LastError: "clearbit: http 429", LastStatus: 429}
			if got := decide(e, now); got != tt.want {
				t.Errorf("decide(%s, answered %v, lease %v) = %s, want %s", tt.state, tt.answered, tt.lease.Sub(now), got, tt.want)
			}
		})
		seen[tt.state] = true
	}
	for _, s := range store.ExecStates() {
		if !seen[s] {
			t.Errorf("the table names no case for state %s", s)
		}
	}
}
