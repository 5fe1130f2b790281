package actions

import (
	"context"
	"fmt"
	"slices"
)

// Test mode, per portal: while a portal's setting is on (store.TestMode),
// its new executions are recorded as test-mode executions and every run of
// them (inline, retried, resumed after a crash) uses the action's twin in
// Config.TestActions instead of the live registry's, so nothing reaches a
// real system. The mode is fixed when the execution is first recorded:
// switching the setting affects only executions that start afterwards.
// Options requests follow the portal's setting at the time they are asked.

// noTwinMessage is the failure of a test-mode execution whose action has no
// test-mode twin here: running the live action would have real effects.
const noTwinMessage = "Test mode is on for this HubSpot account, but this action has no test version in this app; nothing was called. Switch test mode off in the app's settings to run it for real."

// twins builds the runtime's test-mode actions: a copy of each twin in
// test, marked so its outcomes say test_mode "true". test may be nil (test
// mode then cannot be switched on); every twin's key must be a live
// action's, with the same outputs, since HubSpot knows only the live
// definition.
func twins(live, test *Registry) (map[string]*Action, error) {
	out := map[string]*Action{}
	if test == nil {
		return out, nil
	}
	for _, t := range test.All() {
		l, ok := live.Get(t.Key)
		if !ok {
			return nil, fmt.Errorf("actions: test-mode action %s has no live action", t.Key)
		}
		if !slices.Equal(outputNames(l), outputNames(t)) {
			return nil, fmt.Errorf("actions: test-mode action %s answers outputs %v, the live one %v", t.Key, outputNames(t), outputNames(l))
		}
		c := *t
		c.testMode = true
		out[t.Key] = &c
	}
	return out, nil
}

func outputNames(a *Action) []string {
	names := make([]string, len(a.Outputs))
	for i, f := range a.Outputs {
		names[i] = f.Name
	}
	slices.Sort(names)
	return names
}

// TestModeAvailable reports whether test mode can be switched on: the
// runtime was given test-mode actions (Config.TestActions).
func (rt *Runtime) TestModeAvailable() bool { return rt.cfg.TestActions != nil }

// TestActions returns the registry of test-mode actions, or nil.
func (rt *Runtime) TestActions() *Registry { return rt.cfg.TestActions }

// inMode returns the action that runs a's executions in the given mode:
// a itself when live, else its test-mode twin, or, when it has none, a
// stand-in that fails without calling anything.
func (rt *Runtime) inMode(a *Action, test bool) *Action {
	if !test || a.testMode {
		return a
	}
	if t, ok := rt.twins[a.Key]; ok {
		return t
	}
	c := *a
	c.testMode = true
	c.options = nil
	c.run = func(context.Context, *Execution, map[string]any, validate) (map[string]string, error) {
		return nil, Fail(CodeUnavailable, noTwinMessage)
	}
	return &c
}

// testModeValue is the test_mode output of an outcome.
func testModeValue(test bool) string {
	if test {
		return "true"
	}
	return "false"
}
