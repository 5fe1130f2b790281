// Package sandbox holds actions served only in sandbox mode, for trying the
// runtime without any provider: sandbox-echo answers with its input, after
// an optional delay, or fails as asked.
package sandbox

import (
	"context"
	"strings"
	"time"

	"hubspot-actions/actions"
)

// Key is sandbox-echo's key.
const Key = "sandbox-echo"

// Input names of sandbox-echo.
const (
	InputMessage = "message"
	InputDelayMS = "delay_ms"
	InputFail    = "fail_with"
	InputPending = "pending_times"
)

type echoInput struct {
	Message string `json:"message" validate:"required,max=500"`
	DelayMS int    `json:"delay_ms" validate:"gte=0,lte=120000"`
	Fail    string `json:"fail_with" validate:"omitempty,oneof=VALIDATION_FAILED NOT_CONNECTED NOT_FOUND UPSTREAM_REJECTED RATE_LIMITED UPSTREAM_UNAVAILABLE INTERNAL_ERROR"`
	Pending int    `json:"pending_times" validate:"gte=0,lte=20"`
}

type echoOutput struct {
	Echo    string `json:"echo"`
	Length  int    `json:"length"`
	Attempt int    `json:"attempt"`
}

// Register adds sandbox-echo to r.
func Register(r *actions.Registry) error {
	return actions.Register(r, actions.Spec[echoInput, echoOutput]{
		Key:         Key,
		Name:        "Sandbox: echo a message",
		Description: "Answers with the message it is given. Use delay_ms to see an execution answered BLOCK and completed by callback, pending_times to see retries, and fail_with to see a failure.",
		CardContent: "Echo {{message}}",
		ObjectTypes: []string{"CONTACT", "COMPANY", "DEAL"},
		Inputs: []actions.InputField{
			{Name: InputMessage, Type: actions.TypeString, FieldType: actions.FieldText, Label: "Message", Required: true,
				Description: "Any text; it comes back in the echo output."},
			{Name: InputDelayMS, Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Delay (ms)",
				Description: "How long to work before answering. Longer than the inline budget makes the execution BLOCK."},
			{Name: InputFail, Type: actions.TypeEnumeration, FieldType: actions.FieldSelect, Label: "Fail with",
				Description: "An error code to fail with instead of echoing.", Options: codeOptions()},
			{Name: InputPending, Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Answer 'not ready' this many times",
				Description: "Each time, the runtime asks again a second later, as it does for a provider that queued the work."},
		},
		Outputs: []actions.OutputField{
			{Name: "echo", Type: actions.TypeString, FieldType: actions.FieldText, Label: "Echo"},
			{Name: "length", Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Message length"},
			{Name: "attempt", Type: actions.TypeNumber, FieldType: actions.FieldNumber, Label: "Attempt that answered"},
		},
		// fail_with can be any code.
		Errors: map[actions.Code]string{actions.CodeNotFound: "The sandbox was asked to fail with NOT_FOUND (fail_with)."},
		Run: func(ctx context.Context, ex *actions.Execution, in echoInput) (echoOutput, error) {
			if in.DelayMS > 0 {
				t := time.NewTimer(time.Duration(in.DelayMS) * time.Millisecond)
				defer t.Stop()
				select {
				case <-t.C:
				case <-ctx.Done():
					return echoOutput{}, ctx.Err()
				}
			}
			if ex.Attempt <= in.Pending {
				return echoOutput{}, actions.Pending(time.Second, "the sandbox was asked to answer 'not ready'")
			}
			if in.Fail != "" {
				return echoOutput{}, actions.Fail(actions.Code(in.Fail), "The sandbox was asked to fail with %s.", in.Fail)
			}
			return echoOutput{Echo: in.Message, Length: len([]rune(in.Message)), Attempt: ex.Attempt}, nil
		},

		// The German is in echo_de.go.
		Translations: map[string]actions.Translation{"de": echoDE()},
	})
}

func codeOptions() []actions.Option {
	opts := make([]actions.Option, 0, len(actions.Codes))
	for _, c := range actions.Codes {
		opts = append(opts, actions.Option{Label: strings.ReplaceAll(string(c), "_", " "), Value: string(c)})
	}
	return opts
}
