package quickbookstest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Scope is the accounting scope the authorize endpoint requires.
const Scope = "com.intuit.quickbooks.accounting"

type authCode struct {
	redirectURI string
	realm       string
	expires     time.Time
}

type grant struct {
	id      int
	realm   string
	refresh string // the current refresh token
	gen     int
}

type accessToken struct {
	grant   *grant
	expires time.Time
}

// SetDenyConsent makes the authorize endpoint act as a user who clicked
// Cancel: it redirects with error=access_denied.
func (s *Server) SetDenyConsent(deny bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.once["deny"] = deny
}

// ConnectRealm makes the authorize endpoint connect realm (added with
// AddCompany) instead of Options.Realm.
func (s *Server) ConnectRealm(realm string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.Realm = realm
}

// authorize stands in for Intuit's consent page: it checks the request and
// redirects straight back, as if the user had picked the company and
// clicked Connect.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	redirect := q.Get("redirect_uri")
	s.mu.Lock()
	defer s.mu.Unlock()
	if q.Get("client_id") != s.opts.ClientID {
		http.Error(w, "invalid client_id", http.StatusBadRequest)
		return
	}
	u, err := url.Parse(redirect)
	if redirect == "" || err != nil || !u.IsAbs() || (len(s.opts.RedirectURIs) > 0 && !slices.Contains(s.opts.RedirectURIs, redirect)) {
		http.Error(w, "The redirect_uri query parameter value is invalid. Make sure it is listed in the Redirect URIs section on your app's keys tab and matches it exactly.", http.StatusBadRequest)
		return
	}
	back := url.Values{}
	if st := q.Get("state"); st != "" {
		back.Set("state", st)
	}
	switch {
	case q.Get("response_type") != "code":
		back.Set("error", "unsupported_response_type")
	case !slices.Contains(strings.Fields(q.Get("scope")), Scope):
		back.Set("error", "invalid_scope")
	case s.once["deny"]:
		back.Set("error", "access_denied")
	default:
		code := "AB" + randHex(20)
		s.codes[code] = authCode{redirectURI: redirect, realm: s.opts.Realm, expires: s.opts.Now().Add(5 * time.Minute)}
		back.Set("code", code)
		back.Set("realmId", s.opts.Realm)
	}
	u.RawQuery = back.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// token serves the code exchange and refresh, as Intuit does: form body,
// client credentials in a Basic Authorization header.
func (s *Server) token(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Method != http.MethodPost {
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request")
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok || id != s.opts.ClientID || secret != s.opts.ClientSecret {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		oauthError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	var g *grant
	switch form.Get("grant_type") {
	case "authorization_code":
		c, ok := s.codes[form.Get("code")]
		delete(s.codes, form.Get("code")) // single use, even when it fails
		if !ok || now.After(c.expires) || c.redirectURI != form.Get("redirect_uri") {
			oauthError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		s.grants++
		g = &grant{id: s.grants, realm: c.realm}
	case "refresh_token":
		rt := form.Get("refresh_token")
		g = s.refresh[rt]
		if g == nil && s.opts.AdoptUnknownGrants && !s.retired[rt] {
			g = s.adopt(rt)
		}
		if g == nil {
			oauthError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		delete(s.refresh, rt)
		s.retired[rt] = true
		s.refreshes++
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type")
		return
	}
	g.gen++
	g.refresh = fmt.Sprintf("RT1-%s-%d-%d-%s", g.realm, g.id, g.gen, randHex(8))
	s.refresh[g.refresh] = g
	at := "eyJfake." + randHex(24)
	s.access[at] = accessToken{grant: g, expires: now.Add(s.opts.AccessTTL)}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]any{
		"token_type":                 "bearer",
		"access_token":               at,
		"expires_in":                 int(s.opts.AccessTTL / time.Second),
		"refresh_token":              g.refresh,
		"x_refresh_token_expires_in": 8726400,
	})
}

// adopt accepts a refresh token issued before a restart. Callers hold s.mu.
func (s *Server) adopt(rt string) *grant {
	parts := strings.Split(rt, "-")
	if len(parts) != 5 || parts[0] != "RT1" {
		return nil
	}
	id, err1 := strconv.Atoi(parts[2])
	gen, err2 := strconv.Atoi(parts[3])
	if err1 != nil || err2 != nil {
		return nil
	}
	if s.companies[parts[1]] == nil {
		s.companies[parts[1]] = newCompany(parts[1], s.opts.CompanyName, s.opts.Now().In(s.loc))
	}
	s.grants = max(s.grants, id) + 1
	return &grant{id: s.grants, realm: parts[1], gen: gen}
}

// revoke disconnects the grant a token belongs to. Like RFC 7009 it answers
// 200 for a token it does not know.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Method != http.MethodPost {
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request")
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok || id != s.opts.ClientID || secret != s.opts.ClientSecret {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	var in struct {
		Token string `json:"token"`
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" || json.Unmarshal(body, &in) != nil || in.Token == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.refresh[in.Token]
	if a, ok := s.access[in.Token]; ok {
		g = a.grant
	}
	if g != nil {
		delete(s.refresh, g.refresh)
		s.retired[g.refresh] = true
		for k, a := range s.access {
			if a.grant == g {
				delete(s.access, k)
			}
		}
	}
	w.WriteHeader(http.StatusOK)
}

// Revoked reports whether refreshToken was revoked or rotated away.
func (s *Server) Revoked(refreshToken string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.retired[refreshToken]
}

func oauthError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code})
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
