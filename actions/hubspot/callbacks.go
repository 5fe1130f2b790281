package hubspot

// Completion is the outcome of one BLOCKed execution, as sent to HubSpot's
// callback completion API. OutputFields holds strings only, including
// hs_execution_state (SUCCESS or FAIL_CONTINUE).
type Completion struct {
	CallbackID   string            `json:"callbackId"`
	OutputFields map[string]string `json:"outputFields"`
}
