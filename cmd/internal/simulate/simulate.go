// Package simulate plays HubSpot against a running backend: signed
// execution and options requests, a local HubSpot API for callback
// completions and CRM reads, HubSpot's retries, and a load mode that
// reports throughput, latency and lost or doubled outcomes.
package simulate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"hubspot-actions/actions"
	"hubspot-actions/actions/upstream"
	"hubspot-actions/oauth/hubspottest"
)

// ErrUsage is returned after Command printed its usage.
var ErrUsage = errors.New("usage")

// simOptions are simulate's flags.
type simOptions struct {
	URLs         urlsFlag
	PublicURL    string
	Signature    string
	Action       string
	Inputs       kvFlag
	Properties   kvFlag
	ObjectType   string
	ObjectID     string
	Portal       int64
	WorkflowID   int64
	CallbackID   string
	Request      string
	CallbackAddr string
	CRM          string
	Wait         time.Duration
	Settle       time.Duration
	Options      string
	Q            string
	After        string
	Load         int
	Concurrency  int
	MaxAttempts  int
	Agent        bool
	set          map[string]bool // flags given on the command line
}

// urlsFlag is the repeatable --url: one backend, or several replicas of
// one deployment (repeated or separated by commas).
type urlsFlag []string

func (f *urlsFlag) String() string { return strings.Join(*f, ",") }

func (f *urlsFlag) Set(s string) error {
	for u := range strings.SplitSeq(s, ",") {
		u = strings.TrimRight(strings.TrimSpace(u), "/")
		if u == "" {
			return fmt.Errorf("%q holds an empty URL", s)
		}
		*f = append(*f, u)
	}
	return nil
}

// kvFlag is a repeatable name=value flag.
type kvFlag struct {
	names  []string
	values map[string]string
}

func (f *kvFlag) String() string { return "" }

func (f *kvFlag) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("%q is not name=value", s)
	}
	if f.values == nil {
		f.values = map[string]string{}
	}
	if _, dup := f.values[name]; !dup {
		f.names = append(f.names, name)
	}
	f.values[name] = value
	return nil
}

// Command runs "hubspot-actions simulate": it plays HubSpot against a
// running backend. It sends signed
// execution requests (or option fetches), serves the callback completion
// API locally, waits for BLOCKed executions to complete, and prints what a
// marketer would see. With --load it sends many executions and reports
// throughput, latency and lost or duplicate completions.
//
// reg holds every action the build serves, for labels and history
// messages. secret returns the client secret to sign with and where it came
// from; it is called only once the flags are valid. defaultPortal is the
// default of --portal.
func Command(ctx context.Context, args []string, reg *actions.Registry, secret func() (value, source string, err error),
	defaultPortal int64, stdout, stderr io.Writer) error {
	o := simOptions{set: map[string]bool{}}
	fset := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Var(&o.URLs, "url", "the backend's base URL (default http://localhost:8080); repeat it, or separate URLs by commas, for several replicas: each execution goes to the next one, and its retries to the ones after it, as behind a load balancer")
	fset.StringVar(&o.PublicURL, "public-url", "", "the public base URL the backend verifies signatures against (PUBLIC_BASE_URL; default: --url; required with several)")
	fset.StringVar(&o.Signature, "signature", "v2", "signature version: v2 (what HubSpot sends custom actions) or v3")
	fset.StringVar(&o.Action, "action", "", "the action key, such as sandbox-echo (required)")
	fset.Var(&o.Inputs, "input", "an input field as name=value (repeatable)")
	fset.Var(&o.Properties, "property", "a property of the enrolled object as name=value (repeatable)")
	fset.StringVar(&o.ObjectType, "object-type", "", "the enrolled object's type (default: the action's first object type)")
	fset.StringVar(&o.ObjectID, "object-id", "1001", "the enrolled object's id")
	fset.Int64Var(&o.Portal, "portal", defaultPortal, "the HubSpot account (portal) id")
	fset.Int64Var(&o.WorkflowID, "workflow-id", 5550001, "the workflow id in the request's context")
	fset.StringVar(&o.CallbackID, "callback-id", "", "the execution's callbackId (default: a fresh one)")
	fset.StringVar(&o.Request, "request", "", "a JSON file with the execution request body; flags given as well override its fields")
	fset.StringVar(&o.CallbackAddr, "callback-addr", "127.0.0.1:8090", `where to serve the local HubSpot API that receives callback completions ("" to serve none)`)
	fset.StringVar(&o.CRM, "crm", "", "a JSON file of CRM records and associations to serve to the backend (and to fill object properties from)")
	fset.DurationVar(&o.Wait, "wait", 2*time.Minute, "how long to wait for callback completions of BLOCKed executions")
	fset.DurationVar(&o.Settle, "settle", time.Second, "with --load, how long to keep listening for duplicate completions once every execution has its outcome")
	fset.StringVar(&o.Options, "options", "", "fetch the options of this input field instead of executing")
	fset.StringVar(&o.Q, "q", "", "with --options, the search term")
	fset.StringVar(&o.After, "after", "", "with --options, the paging cursor from a previous page")
	fset.IntVar(&o.Load, "load", 0, "send this many executions, each with its own callbackId, and report throughput and latency")
	fset.IntVar(&o.Concurrency, "concurrency", 16, "with --load, how many requests are in flight at once")
	fset.BoolVar(&o.Agent, "agent", false, "send the request as one of HubSpot's agents would: context source AGENTS, no workflow, and no enrolled object unless --object-id, --object-type or --property is given; only for actions the registry offers as agent tools")
	fset.IntVar(&o.MaxAttempts, "max-attempts", 10, "attempts per execution when the connection fails or the answer is 5xx or 429 (HubSpot retries, with the same callbackId)")
	fset.Usage = func() {
		fmt.Fprint(stderr, `Usage: hubspot-actions simulate --action KEY [--input name=value]... [flags]
       hubspot-actions simulate --agent --action KEY [--input name=value]... [flags]
       hubspot-actions simulate --action KEY --options FIELD [--q TERM] [--after CURSOR]
       hubspot-actions simulate --action KEY --load N [--concurrency C] [--input name=value]...
       hubspot-actions simulate --url URL1,URL2 --public-url URL --action KEY --load N ...

Plays HubSpot against a running backend. The client secret comes from
HUBSPOT_CLIENT_SECRET, else from the sandbox secrets in the data folder
(the folder of DATABASE_URL, default ./data).

With several --url (replicas sharing one database and PUBLIC_BASE_URL,
given as --public-url), load goes to each in turn, as behind a load
balancer; every replica must send its completions to --callback-addr.

Like HubSpot's editor, it hides the inputs the given choices hide (an
amount_off when discount_type=percent): it lists them and does not send
them. It lists the inputs greyed out until another is set, and sends those.

It exits non-zero when an execution is rejected with a 4xx (such as a 401
for a wrong client secret or --public-url), gets no answer, is lost, or
gets two outcomes.

`)
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return ErrUsage
	}
	fset.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	if fset.NArg() > 0 || o.Action == "" {
		fmt.Fprintln(stderr, "simulate needs --action KEY")
		fset.Usage()
		return ErrUsage
	}
	if len(o.URLs) == 0 {
		o.URLs = urlsFlag{"http://localhost:8080"}
	}
	if o.PublicURL == "" {
		if len(o.URLs) > 1 {
			// Each replica would check signatures against its own URL
			// otherwise: replicas share one PUBLIC_BASE_URL.
			return errors.New("with several --url, --public-url is required: the PUBLIC_BASE_URL every replica is configured with (the load balancer's origin)")
		}
		o.PublicURL = o.URLs[0]
	}
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	if o.Signature != "v2" && o.Signature != "v3" {
		return fmt.Errorf("--signature must be v2 or v3, not %q", o.Signature)
	}
	if o.Load < 0 || o.Concurrency < 1 || o.MaxAttempts < 1 {
		return errors.New("--load must be positive, --concurrency and --max-attempts at least 1")
	}

	act, known := reg.Get(o.Action)
	if o.Agent {
		if err := agentTool(act, known, o.Action); err != nil {
			return err
		}
	}
	secretValue, source, err := secret()
	if err != nil {
		return err
	}
	var def *actions.Definition
	if known {
		// Only the history messages are read, which depend on neither the
		// app's name nor its publication.
		d := act.Definition(actions.DefinitionParams{PublicBaseURL: o.PublicURL})
		def = &d
	} else {
		fmt.Fprintf(stderr, "note: %s is not an action of this build; sending it anyway, without labels or history messages\n", o.Action)
	}
	caller := &hubspotCaller{
		urls:      o.URLs,
		publicURL: o.PublicURL,
		secret:    secretValue,
		version:   o.Signature,
		hc:        simulatorClient(o.Concurrency),
	}
	fmt.Fprintf(stderr, "signing %s requests with the client secret from %s\n", o.Signature, source)

	if o.Options != "" {
		return simulateOptions(ctx, o, caller, act, stdout)
	}

	tr := newTracker()
	var hs *hubspottest.Server
	if o.CallbackAddr != "" {
		hs, err = startLocalHubSpot(o.CallbackAddr, o.Portal, tr.complete)
		if err != nil {
			return err
		}
		defer hs.Close()
		if o.CRM != "" {
			if err := seedCRM(hs, o.CRM, o.Portal); err != nil {
				return err
			}
		}
		fmt.Fprintf(stderr, "local HubSpot API (callback completions, CRM reads) on %s\n", hs.URL())
	} else if o.CRM != "" {
		return errors.New("--crm needs the local HubSpot API (--callback-addr)")
	}

	base, err := executionBody(o, act, hs)
	if err != nil {
		return err
	}
	hideInputs(stdout, act, base)
	if o.Load > 0 {
		err = runLoad(ctx, o, caller, base, tr, hs != nil, stdout, stderr)
	} else {
		err = simulateOnce(ctx, o, caller, act, def, base, tr, hs != nil, stdout, stderr)
	}
	if hs != nil {
		if v := hs.Violations(); len(v) > 0 {
			fmt.Fprintf(stdout, "\nThe local HubSpot saw %d protocol violations by the backend:\n  %s\n", len(v), strings.Join(v, "\n  "))
			err = errors.Join(err, fmt.Errorf("the backend broke HubSpot's protocol %d times", len(v)))
		}
	}
	return err
}

// agentTool refuses to play an agent with an action the registry does not
// offer to agents: HubSpot would never send such a request.
func agentTool(act *actions.Action, known bool, key string) error {
	switch {
	case !known:
		return fmt.Errorf("--agent: %s is not an action of this build, so nothing says it is an agent tool", key)
	case !act.IsAgentTool():
		why := "it creates or changes things"
		if act.ReadOnly {
			why = "the registry does not offer it to agents"
		}
		return fmt.Errorf("--agent: %s is not an agent tool (%s), so HubSpot's agents never run it; simulate it without --agent, as a workflow would run it", key, why)
	}
	return nil
}

// simulatorClient reuses connections: up to conns idle ones to the backend.
func simulatorClient(conns int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = conns + 16
	tr.MaxIdleConnsPerHost = conns + 16
	tr.DisableCompression = true
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

// startLocalHubSpot serves the fake HubSpot API on addr: callback
// completions (reported to onComplete) and CRM reads, accepting the
// sandbox's bearer tokens (sandbox-<portalID>).
func startLocalHubSpot(addr string, portal int64, onComplete func(hubspottest.Completion)) (*hubspottest.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("serve the local HubSpot API on %s (is another simulate running? pass --callback-addr): %w", addr, err)
	}
	hs := hubspottest.NewServer(hubspottest.Config{PortalID: portal, SandboxTokens: true, OnComplete: onComplete})
	hs.Start(ln)
	return hs, nil
}

// crmFile is the --crm file: records to seed and associations between them.
type crmFile struct {
	Objects []struct {
		Portal     int64             `json:"portal"`
		Type       string            `json:"type"`
		ID         string            `json:"id"`
		Properties map[string]string `json:"properties"`
	} `json:"objects"`
	Associations []struct {
		Portal int64  `json:"portal"`
		From   string `json:"from"` // type/id, such as deals/501
		To     string `json:"to"`
	} `json:"associations"`
}

func seedCRM(hs *hubspottest.Server, path string, portal int64) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read --crm: %w", err)
	}
	var f crmFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return fmt.Errorf("--crm %s: %w (want {\"objects\":[{\"type\":\"deals\",\"id\":\"501\",\"properties\":{…}}],\"associations\":[{\"from\":\"deals/501\",\"to\":\"contacts/601\"}]})", path, err)
	}
	or := func(p int64) int64 {
		if p == 0 {
			return portal
		}
		return p
	}
	for _, o := range f.Objects {
		if o.Type == "" || o.ID == "" {
			return fmt.Errorf("--crm %s: every object needs a type and an id", path)
		}
		hs.SeedObject(or(o.Portal), o.Type, o.ID, o.Properties)
	}
	for _, a := range f.Associations {
		ft, fid, ok1 := strings.Cut(a.From, "/")
		tt, tid, ok2 := strings.Cut(a.To, "/")
		if !ok1 || !ok2 {
			return fmt.Errorf("--crm %s: associations go from type/id to type/id, not %q to %q", path, a.From, a.To)
		}
		hs.Associate(or(a.Portal), ft, fid, tt, tid)
	}
	return nil
}

// executionBody builds the execution request: from --request if given,
// with the flags given on top.
func executionBody(o simOptions, act *actions.Action, hs *hubspottest.Server) (map[string]any, error) {
	body := map[string]any{}
	if o.Request != "" {
		b, err := os.ReadFile(o.Request)
		if err != nil {
			return nil, fmt.Errorf("read --request: %w", err)
		}
		if err := json.Unmarshal(b, &body); err != nil {
			return nil, fmt.Errorf("--request %s is not a JSON object: %w", o.Request, err)
		}
	}
	sub := func(name string) map[string]any {
		m, _ := body[name].(map[string]any)
		if m == nil {
			m = map[string]any{}
			body[name] = m
		}
		return m
	}
	origin, ctxm, object, inputs := sub("origin"), sub("context"), sub("object"), sub("inputFields")
	fromFile := o.Request != ""
	setIf := func(m map[string]any, key, flagName string, v any) {
		if _, ok := m[key]; !ok || !fromFile || o.set[flagName] {
			m[key] = v
		}
	}
	defID := definitionID(o.Action)
	setIf(origin, "portalId", "portal", o.Portal)
	setIf(origin, "actionDefinitionId", "", defID)
	setIf(origin, "actionDefinitionVersion", "", 1)
	// HubSpot mirrors the definition id and version here (§4.2).
	setIf(origin, "extensionDefinitionId", "", origin["actionDefinitionId"])
	setIf(origin, "extensionDefinitionVersionId", "", origin["actionDefinitionVersion"])
	if o.Agent {
		// An agent's request: no workflow, and a record only when given.
		ctxm["source"] = actions.SourceAgents
		if o.set["workflow-id"] {
			ctxm["workflowId"] = o.WorkflowID
		}
	} else {
		setIf(ctxm, "source", "", actions.SourceWorkflows)
		setIf(ctxm, "workflowId", "workflow-id", o.WorkflowID)
		setIf(ctxm, "actionId", "", 1)
	}
	objectType := o.ObjectType
	if objectType == "" {
		objectType = "CONTACT"
		if act != nil && len(act.ObjectTypes) > 0 {
			objectType = act.ObjectTypes[0]
		}
	}
	if !o.Agent || o.set["object-id"] || o.set["object-type"] || len(o.Properties.names) > 0 {
		setIf(object, "objectType", "object-type", objectType)
		setIf(object, "objectId", "object-id", o.ObjectID)
	}
	if cb, ok := body["callbackId"].(string); !ok || cb == "" || o.set["callback-id"] {
		body["callbackId"] = o.CallbackID
	}
	for _, n := range o.Inputs.names {
		inputs[n] = o.Inputs.values[n]
	}

	// Object properties: the flags, else (as HubSpot does) the record's
	// values of the properties the action asks for.
	props, _ := object["properties"].(map[string]any)
	if props == nil {
		props = map[string]any{}
	}
	if act != nil && hs != nil {
		portal, _ := toInt64(origin["portalId"])
		if rec, ok := hs.Object(portal, fmt.Sprint(object["objectType"]), fmt.Sprint(object["objectId"])); ok {
			for _, p := range act.ObjectProperties {
				if v, ok := rec[p]; ok {
					if _, set := props[p]; !set {
						props[p] = v
					}
				}
			}
		}
	}
	for _, n := range o.Properties.names {
		props[n] = o.Properties.values[n]
	}
	if len(props) > 0 {
		object["properties"] = props
	}
	if len(object) == 0 {
		delete(body, "object")
	}
	// HubSpot sends the inputs twice (§4.2, observed).
	body["fields"] = maps.Clone(inputs)
	return body, nil
}

func toInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case float64:
		return int64(n), true
	case string:
		i, err := strconv.ParseInt(n, 10, 64)
		return i, err == nil
	}
	return 0, false
}

// definitionID is a stable stand-in for HubSpot's definition id of key.
func definitionID(key string) int64 {
	h := fnv.New32a()
	h.Write([]byte(key))
	return 4400000 + int64(h.Sum32()%100000)
}

// newCallbackID returns a callbackId in HubSpot's observed shape,
// ap-<portal>-<n>-<n>-<n>, unique to this run.
func newCallbackID(portal int64, run int64, i int) string {
	return fmt.Sprintf("ap-%d-%d-%d-0", portal, run, i)
}

// hubspotCaller sends requests to the backend signed as HubSpot signs them.
type hubspotCaller struct {
	urls      []string // the backend's replicas; one for a single backend
	publicURL string
	secret    string
	version   string
	hc        *http.Client
}

// sign sets the signature headers of a request to path (with any query)
// carrying body. A v2 signature is the same for every send of a body; v3
// covers a fresh timestamp.
func (c *hubspotCaller) sign(h http.Header, method, path string, body []byte, v2 string) {
	uri := c.publicURL + path
	if c.version == "v3" {
		ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
		h.Set(actions.HeaderTimestamp, ts)
		h.Set(actions.HeaderSignatureV3, actions.SignV3(c.secret, method, uri, body, ts))
		return
	}
	if v2 == "" {
		v2 = actions.SignV2(c.secret, method, uri, body)
	}
	h.Set(actions.HeaderSignatureVersion, "v2")
	h.Set(actions.HeaderSignature, v2)
}

// answer is the outcome of sending one execution request, retries included.
type answer struct {
	Status   int
	Body     []byte
	State    string // hs_execution_state, SUCCESS for a 2xx without one, FAILED for a 4xx
	Code     string // error_code
	Outputs  map[string]string
	Attempts int
	Replica  int   // index of the URL the last attempt went to
	Err      error // no answer: the last attempt's failure
}

// target says which backends the caller sends to, for reports.
func (c *hubspotCaller) target() string {
	if len(c.urls) == 1 {
		return c.urls[0]
	}
	return fmt.Sprintf("%d replicas (%s)", len(c.urls), strings.Join(c.urls, ", "))
}

// execute sends an execution request the way HubSpot does: it retries,
// with the same body (so the same callbackId), when the connection fails
// or the answer is 429 or 5xx, honouring Retry-After, up to maxAttempts.
// full decodes every output (else only the state and error code). The
// first attempt goes to replica i (modulo their number), each retry to
// the next one, as a load balancer spreads them.
func (c *hubspotCaller) execute(ctx context.Context, i int, path string, body []byte, v2 string, maxAttempts int, full bool, onRetry func(attempt int, why string, wait time.Duration)) answer {
	var a answer
	for a.Attempts = 1; ; a.Attempts++ {
		a.Replica = (i + a.Attempts - 1) % len(c.urls)
		url := c.urls[a.Replica]
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+path, bytes.NewReader(body))
		if err != nil {
			a.Err = err
			return a
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "HubSpot Connect 2.0 (hubspot-actions simulate)")
		c.sign(req.Header, http.MethodPost, path, body, v2)
		var why string
		var wait time.Duration
		resp, err := c.hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				a.Err = ctx.Err()
				return a
			}
			why = "connection failed: " + err.Error()
		} else {
			a.Status = resp.StatusCode
			a.Body, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			switch {
			case err != nil:
				why = "reading the answer failed: " + err.Error()
			case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
				why = "HTTP " + strconv.Itoa(resp.StatusCode)
				wait = upstream.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
			default:
				a.Err = nil
				a.decode(full)
				return a
			}
		}
		a.Err = errors.New(why)
		if a.Attempts >= maxAttempts {
			return a
		}
		if wait <= 0 {
			wait = min(200*time.Millisecond<<(a.Attempts-1), 10*time.Second)
			wait += time.Duration(rand.Int64N(int64(wait) / 5))
		}
		if onRetry != nil {
			onRetry(a.Attempts, why, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			a.Err = ctx.Err()
			return a
		}
	}
}

// rejected reports whether the backend refused the request with a 4xx
// (429 is retried, so never final): HubSpot marks the action failed, and
// nothing ran.
func (a answer) rejected() bool {
	return a.Err == nil && a.Status >= 400 && a.Status < 500
}

// decode reads a final (non-retried) answer's state and outputs.
func (a *answer) decode(full bool) {
	if a.Status >= 400 {
		a.State = "FAILED"
		return
	}
	if full {
		var res struct {
			OutputFields map[string]json.RawMessage `json:"outputFields"`
		}
		if json.Unmarshal(a.Body, &res) == nil {
			a.Outputs = map[string]string{}
			for k, raw := range res.OutputFields {
				var s string
				if json.Unmarshal(raw, &s) != nil {
					s = string(raw)
				}
				a.Outputs[k] = s
			}
		}
		a.State, a.Code = a.Outputs[actions.OutputState], a.Outputs[actions.OutputErrorCode]
	} else {
		var res struct {
			OutputFields struct {
				State string `json:"hs_execution_state"`
				Code  string `json:"error_code"`
			} `json:"outputFields"`
		}
		_ = json.Unmarshal(a.Body, &res)
		a.State, a.Code = res.OutputFields.State, res.OutputFields.Code
	}
	if a.State == "" {
		// HubSpot: a 2xx without hs_execution_state completed successfully.
		a.State = actions.StateSuccess
	}
}

// tracker follows executions by callbackId: their answers and the
// callback completions the local HubSpot receives. It is safe for
// concurrent use.
type tracker struct {
	mu       sync.Mutex
	byID     map[string]*tracked
	unknown  int           // completions of callbackIds never sent
	awaiting int           // answered BLOCK and not completed yet
	finals   int           // executions with an outcome
	changed  chan struct{} // gets a value (without blocking) on each outcome
}

// tracked is one execution as HubSpot sees it.
type tracked struct {
	sent        time.Time
	answered    time.Time
	answer      answer
	completions int
	completedAt time.Time
	completion  map[string]string
	final       bool          // has an outcome: a final inline answer or a completion
	done        chan struct{} // closed when final
}

func newTracker() *tracker {
	return &tracker{byID: map[string]*tracked{}, changed: make(chan struct{}, 1)}
}

// add starts following callbackID, sent at sent.
func (t *tracker) add(callbackID string, sent time.Time) *tracked {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := &tracked{sent: sent, done: make(chan struct{})}
	t.byID[callbackID] = e
	return e
}

// answered records the answer to callbackID's request.
func (t *tracker) answered(callbackID string, a answer, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.byID[callbackID]
	e.answer, e.answered = a, at
	switch {
	case a.Err == nil && a.State != actions.StateBlock:
		t.finalLocked(e)
	case a.Err == nil && !e.final:
		t.awaiting++
	}
}

// complete records a callback completion (the local HubSpot's hook).
func (t *tracker) complete(c hubspottest.Completion) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.byID[c.CallbackID]
	if !ok {
		t.unknown++
		return
	}
	e.completions++
	if e.completions == 1 {
		e.completedAt, e.completion = now, c.OutputFields
		if !e.final && e.answer.Err == nil && e.answer.State == actions.StateBlock {
			t.awaiting--
		}
	}
	t.finalLocked(e)
}

func (t *tracker) finalLocked(e *tracked) {
	if e.final {
		return
	}
	e.final = true
	t.finals++
	close(e.done)
	select {
	case t.changed <- struct{}{}:
	default:
	}
}

// completionCount returns how many callback completions arrived, for
// callbackIds sent or not.
func (t *tracker) completionCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.unknown
	for _, e := range t.byID {
		n += e.completions
	}
	return n
}

// counts returns how many executions have an outcome and how many were
// answered BLOCK and wait for their completion.
func (t *tracker) counts() (finals, awaiting int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.finals, t.awaiting
}

// twice reports whether an execution got two outcomes: a final inline
// answer and a completion, or two completions.
func (e *tracked) twice() bool {
	inlineFinal := e.answer.Err == nil && e.answer.State != actions.StateBlock && !e.answered.IsZero()
	return e.completions > 1 || (inlineFinal && e.completions > 0)
}

// snapshot returns a copy of an execution's record.
func (t *tracker) snapshot(callbackID string) tracked {
	t.mu.Lock()
	defer t.mu.Unlock()
	return *t.byID[callbackID]
}

// simulateOnce sends one execution and prints what a marketer would see.
func simulateOnce(ctx context.Context, o simOptions, c *hubspotCaller, act *actions.Action, def *actions.Definition, base map[string]any, tr *tracker, local bool, stdout, stderr io.Writer) error {
	cb, _ := base["callbackId"].(string)
	if cb == "" {
		portal, _ := toInt64(base["origin"].(map[string]any)["portalId"])
		cb = newCallbackID(portal, time.Now().UnixMilli(), rand.IntN(1000))
		base["callbackId"] = cb
	}
	body, err := json.Marshal(base)
	if err != nil {
		return fmt.Errorf("encode the request: %w", err)
	}
	path := actions.ActionsPath + "/" + o.Action
	inputs := map[string]string{}
	for k, v := range base["inputFields"].(map[string]any) {
		inputs[k] = fmt.Sprint(v)
	}
	what := "no object"
	if obj, ok := base["object"].(map[string]any); ok {
		what = fmt.Sprintf("%v %v", obj["objectType"], obj["objectId"])
	}
	if o.Agent {
		what = "as an agent (source AGENTS), " + what
	}

	if act != nil {
		fmt.Fprintf(stdout, "Action:   %s (%s)\n", act.Name, act.Key)
		fmt.Fprintf(stdout, "Card:     %s\n", actions.RenderTemplate(act.CardContent, inputs))
	} else {
		fmt.Fprintf(stdout, "Action:   %s\n", o.Action)
	}
	fmt.Fprintf(stdout, "Request:  POST %s%s\n          callbackId %s, portal %v, %s, signature %s\n",
		c.urls[0], path, cb, base["origin"].(map[string]any)["portalId"], what, c.version)

	start := time.Now()
	e := tr.add(cb, start)
	a := c.execute(ctx, 0, path, body, "", o.MaxAttempts, true, func(attempt int, why string, wait time.Duration) {
		fmt.Fprintf(stderr, "attempt %d: %s; HubSpot retries in %s with the same callbackId\n", attempt, why, wait.Round(time.Millisecond))
	})
	tr.answered(cb, a, time.Now())
	took := time.Since(start)
	if a.Err != nil {
		return fmt.Errorf("no answer after %d attempts: %w", a.Attempts, a.Err)
	}
	retries := ""
	if a.Attempts > 1 {
		retries = fmt.Sprintf(", after %d attempts", a.Attempts)
	}
	if a.rejected() {
		fmt.Fprintf(stdout, "Answer:   HTTP %d in %s%s: HubSpot marks the action failed\n          %s\n", a.Status, took.Round(time.Millisecond), retries, strings.TrimSpace(string(a.Body)))
		fmt.Fprintf(stdout, "\nFinal state: FAILED (HTTP %d)\n", a.Status)
		return fmt.Errorf("the backend rejected the execution with HTTP %d (HubSpot marks it failed; a 401 usually means the client secret or --public-url does not match the backend's)", a.Status)
	}
	outputs := a.Outputs
	how := "answered inline"
	if a.State == actions.StateBlock {
		fmt.Fprintf(stdout, "Answer:   HTTP %d in %s%s: BLOCK (expires after %s)\n", a.Status, took.Round(time.Millisecond), retries, a.Outputs[actions.OutputExpiration])
		if !local {
			fmt.Fprintln(stdout, "\nFinal state: BLOCK; not waiting (no local HubSpot API, so the completion goes elsewhere)")
			return nil
		}
		fmt.Fprintf(stdout, "          waiting up to %s for the callback completion…\n", o.Wait)
		wctx, cancel := context.WithTimeout(ctx, o.Wait)
		defer cancel()
		select {
		case <-e.done:
		case <-wctx.Done():
			return fmt.Errorf("execution %s was answered BLOCK but not completed within %s (lost, as HubSpot would see it)", cb, o.Wait)
		}
		s := tr.snapshot(cb)
		outputs = s.completion
		how = fmt.Sprintf("completed by callback %s after the request", s.completedAt.Sub(start).Round(time.Millisecond))
	} else {
		fmt.Fprintf(stdout, "Answer:   HTTP %d in %s%s: %s\n", a.Status, took.Round(time.Millisecond), retries, a.State)
	}
	state := outputs[actions.OutputState]
	if state == "" {
		state = actions.StateSuccess
	}
	fmt.Fprintf(stdout, "\nFinal state: %s (%s)\n", state, how)
	printOutputs(stdout, act, outputs)
	if def != nil {
		if msg, ok := def.HistoryMessage(outputs); ok {
			fmt.Fprintf(stdout, "History:     %s\n", msg)
		} else {
			fmt.Fprintln(stdout, "History:     (no execution rule matches; HubSpot shows its default message)")
		}
	}
	if s := tr.snapshot(cb); s.twice() {
		return fmt.Errorf("execution %s got more than one outcome (%d completions, inline answer %s)", cb, s.completions, s.answer.State)
	}
	return nil
}

// printOutputs lists an execution's outputs with their labels, in the
// definition's order, then any the definition lacks.
func printOutputs(w io.Writer, act *actions.Action, outputs map[string]string) {
	type row struct{ label, value string }
	var rows []row
	seen := map[string]bool{actions.OutputState: true, actions.OutputExpiration: true}
	if act != nil {
		for _, f := range act.Outputs {
			seen[f.Name] = true
			if v, ok := outputs[f.Name]; ok {
				rows = append(rows, row{f.Label + " (" + f.Name + ")", v})
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(outputs)) {
		if !seen[k] {
			rows = append(rows, row{k, outputs[k]})
		}
	}
	if len(rows) == 0 {
		fmt.Fprintln(w, "Outputs:     (none)")
		return
	}
	width := 0
	for _, r := range rows {
		width = max(width, len(r.label))
	}
	fmt.Fprintln(w, "Outputs:")
	for _, r := range rows {
		fmt.Fprintf(w, "  %-*s  %s\n", width+1, r.label+":", r.value)
	}
}

// objectTypeIDs maps object type names to the ids options requests carry.
var objectTypeIDs = map[string]string{"CONTACT": "0-1", "COMPANY": "0-2", "DEAL": "0-3", "TICKET": "0-5"}

// simulateOptions fetches one page of a dynamic field's options, as the
// workflow editor does, and prints it.
func simulateOptions(ctx context.Context, o simOptions, c *hubspotCaller, act *actions.Action, stdout io.Writer) error {
	objectType := o.ObjectType
	if objectType == "" && act != nil && len(act.ObjectTypes) > 0 {
		objectType = act.ObjectTypes[0]
	}
	typeID := objectTypeIDs[strings.ToUpper(objectType)]
	if typeID == "" {
		typeID = objectType
	}
	type input struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	}
	type fetch struct {
		Q     string `json:"q,omitempty"`
		After string `json:"after,omitempty"`
	}
	inputs := map[string]input{}
	for _, n := range o.Inputs.names {
		inputs[n] = input{Type: actions.StaticValue, Value: o.Inputs.values[n]}
	}
	defID := definitionID(o.Action)
	body, err := json.Marshal(map[string]any{
		"origin":         map[string]any{"portalId": o.Portal, "actionDefinitionId": defID, "actionDefinitionVersion": 1},
		"objectTypeId":   typeID,
		"inputFieldName": o.Options,
		"inputFields":    inputs,
		"fetchOptions":   fetch{Q: o.Q, After: o.After},
	})
	if err != nil {
		return err
	}
	path := actions.ActionsPath + "/" + o.Action + actions.OptionsSegment + o.Options
	a := c.execute(ctx, 0, path, body, "", o.MaxAttempts, false, nil)
	if a.Err != nil {
		return fmt.Errorf("fetch options: no answer after %d attempts: %w", a.Attempts, a.Err)
	}
	if a.Status != http.StatusOK {
		return fmt.Errorf("fetch options: HTTP %d: %s", a.Status, strings.TrimSpace(string(a.Body)))
	}
	var page actions.OptionsPage
	if err := json.Unmarshal(a.Body, &page); err != nil {
		return fmt.Errorf("fetch options: the answer is not an options page: %w", err)
	}
	label := o.Options
	if act != nil {
		for _, f := range act.Inputs {
			if f.Name == o.Options {
				label = f.Label + " (" + f.Name + ")"
			}
		}
	}
	fmt.Fprintf(stdout, "Options of %s for %s", label, o.Action)
	if o.Q != "" {
		fmt.Fprintf(stdout, ", search %q", o.Q)
	}
	if o.After != "" {
		fmt.Fprintf(stdout, ", after %q", o.After)
	}
	fmt.Fprintf(stdout, ": %d\n", len(page.Options))
	for _, op := range page.Options {
		line := fmt.Sprintf("  %-12s %s", op.Value, op.Label)
		if op.Value == "" {
			line = fmt.Sprintf("  %-12s %s", "(no value)", op.Label)
		}
		if op.Description != "" {
			line += " — " + op.Description
		}
		fmt.Fprintln(stdout, line)
	}
	if page.After != "" {
		fmt.Fprintf(stdout, "More: --after %s\n", page.After)
	}
	if page.Searchable {
		fmt.Fprintln(stdout, "Searchable: yes (--q TERM)")
	}
	return nil
}
