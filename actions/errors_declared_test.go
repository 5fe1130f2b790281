package actions_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"hubspot-actions/actions"
	"hubspot-actions/actions/actionstest"
)

// recordTB records the errors a harness reports instead of failing.
type recordTB struct {
	testing.TB
	errs []string
}

func (r *recordTB) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestHarnessCatchesUndeclaredErrorCodes: an action that answers NOT_FOUND
// without declaring it fails its tests, so the guide's list of codes
// cannot drift from what actions do.
func TestHarnessCatchesUndeclaredErrorCodes(t *testing.T) {
	t.Parallel()
	register := func(declared bool) func(r *actions.Registry) {
		return func(r *actions.Registry) {
			s := actions.Spec[struct{}, struct{}]{
				Key: "finder", Name: "Finder", ObjectTypes: []string{"CONTACT"},
				Run: func(context.Context, *actions.Execution, struct{}) (struct{}, error) {
					return struct{}{}, actions.Fail(actions.CodeNotFound, "Nothing there.")
				},
			}
			if declared {
				s.Errors = map[actions.Code]string{actions.CodeNotFound: "Nothing there."}
			}
			actions.MustRegister(r, s)
		}
	}
	for _, declared := range []bool{false, true} {
		h := actionstest.New(t, register(declared), actionstest.Options{})
		rec := &recordTB{TB: t}
		out := h.Execute(rec, "finder", actionstest.NewRequest(7000002, "CONTACT", nil, nil))
		if out[actions.OutputErrorCode] != "NOT_FOUND" {
			t.Fatalf("finder answered %v, want NOT_FOUND", out)
		}
		switch {
		case !declared && (len(rec.errs) != 1 || !strings.Contains(rec.errs[0], "does not declare")):
			t.Errorf("undeclared NOT_FOUND: harness reported %q, want one error saying it is not declared", rec.errs)
		case declared && len(rec.errs) != 0:
			t.Errorf("declared NOT_FOUND: harness reported %q, want nothing", rec.errs)
		}
	}
}
