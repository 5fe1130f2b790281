package actions

import (
	"time"

	"hubspot-actions/store"
)

// answer is what a repeated delivery of a recorded callbackId gets, and the
// one transition (if any) that carries it out.
type answer int

const (
	// answerOutcome: the outcome was (or is to be) the answer; send it
	// again. No write.
	answerOutcome answer = iota
	// answerBlock: HubSpot was told BLOCK and waits for the callback; say
	// so again. No write.
	answerBlock
	// answerBlockNow: a run holds the execution (or its retry is
	// scheduled) and HubSpot was not told BLOCK yet: tx.Block records that
	// it now is, and the outcome goes by callback.
	answerBlockNow
	// answerTakeOver: the run that held the execution died before
	// answering: tx.Claim takes it over for this request, which waits for
	// the new run inline.
	answerTakeOver
	// answerReanswer: the outcome went by callback, but HubSpot was never
	// told BLOCK (recovery finished it) or the callback failed: HubSpot
	// asking again is the chance to hand it over; tx.AnswerInline does,
	// unless a delivery worker is sending it right now.
	answerReanswer
)

func (a answer) String() string {
	switch a {
	case answerOutcome:
		return "outcome"
	case answerBlock:
		return "block"
	case answerBlockNow:
		return "block-now"
	case answerTakeOver:
		return "take-over"
	case answerReanswer:
		return "reanswer"
	}
	return "unknown"
}

// decide says what a repeated delivery of e's callbackId gets at now. It
// reads only the state, whether HubSpot was answered BLOCK and the lease;
// never error text.
func decide(e store.Execution, now time.Time) answer {
	held := e.LeaseUntil.After(now)
	switch e.Exec {
	case store.ExecRunning:
		if held {
			return answerBlockNow
		}
		return answerTakeOver
	case store.ExecBlocked, store.ExecWaiting:
		switch {
		case e.BlockAnswered:
			return answerBlock
		case held:
			return answerBlockNow
		}
		return answerTakeOver
	case store.ExecAnswered:
		return answerOutcome
	case store.ExecAwaitingDelivery, store.ExecDelivered:
		if e.BlockAnswered {
			return answerBlock
		}
		return answerReanswer
	case store.ExecUndeliverable:
		return answerReanswer
	}
	// A state this code does not know (a newer version wrote it): BLOCK
	// changes nothing and lets HubSpot wait.
	return answerBlock
}
