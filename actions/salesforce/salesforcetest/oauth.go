package salesforcetest

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// authorize stands in for Salesforce's login and consent: it checks the
// request and sends the browser straight back with a code, as if the user
// had allowed access. PKCE is required: a code_challenge (S256).
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect := q.Get("redirect_uri")
	switch {
	case q.Get("client_id") != s.opts.ClientID:
		http.Error(w, "error=invalid_client_id: client identifier invalid", http.StatusBadRequest)
		return
	case redirect == "" || (len(s.opts.RedirectURIs) > 0 && !slices.Contains(s.opts.RedirectURIs, redirect)):
		http.Error(w, "error=redirect_uri_mismatch: redirect_uri must match configuration", http.StatusBadRequest)
		return
	}
	back, err := url.Parse(redirect)
	if err != nil {
		http.Error(w, "error=redirect_uri_mismatch", http.StatusBadRequest)
		return
	}
	bq := back.Query()
	if st := q.Get("state"); st != "" {
		bq.Set("state", st)
	}
	challenge := q.Get("code_challenge")
	switch {
	case q.Get("response_type") != "code":
		bq.Set("error", "unsupported_response_type")
	case challenge == "" || q.Get("code_challenge_method") != "S256":
		bq.Set("error", "invalid_request")
		bq.Set("error_description", "missing required code challenge")
	default:
		code := "aPrx" + randHex(16)
		s.mu.Lock()
		s.codes[code] = authCode{redirectURI: redirect, challenge: challenge, expires: s.opts.Now().Add(15 * time.Minute)}
		s.mu.Unlock()
		bq.Set("code", code)
	}
	back.RawQuery = bq.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// token serves the authorization_code and refresh_token grants. The
// client authenticates with client_id and client_secret in the body, or
// HTTP Basic.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != s.opts.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.ClientSecret)) != 1 {
		writeOAuthError(w, http.StatusBadRequest, "invalid_client", "invalid client credentials")
		return
	}
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		s.exchange(w, r)
	case "refresh_token":
		s.refreshGrant(w, r)
	default:
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant type not supported")
	}
}

func (s *Server) exchange(w http.ResponseWriter, r *http.Request) {
	code := r.PostForm.Get("code")
	s.mu.Lock()
	ac, ok := s.codes[code]
	delete(s.codes, code)
	s.mu.Unlock()
	switch {
	case !ok || s.opts.Now().After(ac.expires):
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "invalid authorization code")
		return
	case r.PostForm.Get("redirect_uri") != ac.redirectURI:
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri must match configuration")
		return
	case !verifierMatches(r.PostForm.Get("code_verifier"), ac.challenge):
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "invalid code verifier")
		return
	}
	s.mu.Lock()
	at, rt := s.newToken("AQ"), "5Aep"+randHex(24)
	s.access[at] = true
	s.refresh[rt] = true
	s.mu.Unlock()
	s.writeToken(w, r, at, rt)
}

// verifierMatches checks a PKCE code_verifier against its S256 challenge.
func verifierMatches(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}

func (s *Server) refreshGrant(w http.ResponseWriter, r *http.Request) {
	rt := r.PostForm.Get("refresh_token")
	s.mu.Lock()
	live := s.refresh[rt]
	if !live && s.opts.AdoptUnknownGrants && strings.HasPrefix(rt, "5Aep") && !s.revoked[rt] {
		s.refresh[rt], live = true, true
	}
	if !live {
		s.mu.Unlock()
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "expired access/refresh token")
		return
	}
	s.refreshes++
	at := s.newToken("AQ")
	s.access[at] = true
	s.mu.Unlock()
	s.writeToken(w, r, at, "")
}

// writeToken answers a grant the way Salesforce does: no expires_in (an
// access token lasts the org's session timeout), instance_url and the
// identity URL, issued_at in milliseconds.
func (s *Server) writeToken(w http.ResponseWriter, r *http.Request, access, refresh string) {
	instance := s.opts.InstanceURL
	if instance == "" {
		instance = origin(r)
	}
	out := map[string]string{
		"access_token": access,
		"signature":    base64.StdEncoding.EncodeToString([]byte(randHex(16))),
		"scope":        "api refresh_token",
		"instance_url": instance,
		"id":           origin(r) + "/id/" + s.opts.OrgID + "/" + s.opts.UserID,
		"token_type":   "Bearer",
		"issued_at":    strconv.FormatInt(s.opts.Now().UnixMilli(), 10),
	}
	if refresh != "" {
		out["refresh_token"] = refresh
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}

// revoke revokes a refresh token (and its access tokens) or one access
// token: 200, or 400 invalid_token.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "form body required")
		return
	}
	tok := r.PostForm.Get("token")
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.refresh[tok]:
		delete(s.refresh, tok)
		clear(s.access) // one grant per fake: its access tokens go too
	case s.access[tok]:
		delete(s.access, tok)
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"invalid_token","error_description":"invalid token"}`))
		return
	}
	s.revoked[tok] = true
	w.WriteHeader(http.StatusOK)
}

func origin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
