package actions

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// Signature headers HubSpot sends (§7.1).
const (
	HeaderSignature        = "X-HubSpot-Signature"
	HeaderSignatureVersion = "X-HubSpot-Signature-Version"
	HeaderSignatureV3      = "X-HubSpot-Signature-v3"
	HeaderTimestamp        = "X-HubSpot-Request-Timestamp"
)

// MaxBodyBytes is the largest request body accepted (1 MiB); larger ones
// answer 413.
const MaxBodyBytes = 1 << 20

// MaxSignatureAge is how old a v3 timestamp may be.
const MaxSignatureAge = 5 * time.Minute

// SignV1 returns a v1 signature: hex(SHA-256(secret + body)).
func SignV1(secret string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(secret))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// SignV2 returns a v2 signature: hex(SHA-256(secret + method + uri + body)),
// where uri is the full public URL as requested.
func SignV2(secret, method, uri string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(secret))
	h.Write([]byte(method))
	h.Write([]byte(uri))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// SignV3 returns a v3 signature: base64(HMAC-SHA256(secret, method + uri +
// body + timestamp)), with uri decoded by DecodeV3URI and timestamp the
// header's text (milliseconds).
func SignV3(secret, method, uri string, body []byte, timestamp string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(method))
	m.Write([]byte(DecodeV3URI(uri)))
	m.Write(body)
	m.Write([]byte(timestamp))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

var v3Decoder = strings.NewReplacer(
	"%3A", ":", "%2F", "/", "%3F", "?", "%40", "@", "%21", "!", "%24", "$", "%27", "'",
	"%28", "(", "%29", ")", "%2A", "*", "%2C", ",", "%3B", ";",
	"%3a", ":", "%2f", "/", "%3f", "?", "%2a", "*", "%2c", ",", "%3b", ";",
)

// DecodeV3URI applies v3's URL decoding: the percent-encodings of
// : / ? @ ! $ ' ( ) * , ; are replaced by the characters.
func DecodeV3URI(uri string) string { return v3Decoder.Replace(uri) }

// SignatureError says which signature check failed. Check is a stable
// machine-readable name; Error is for people. Neither reveals the expected
// signature.
type SignatureError struct {
	Check  string
	Reason string
}

func (e *SignatureError) Error() string { return "signature check failed: " + e.Reason }

// CheckSignature verifies a request's HubSpot signature against the client
// secret: v3 when its header is present, otherwise v2. uri is the public URL
// HubSpot called (scheme, host, path and raw query as sent).
func CheckSignature(secret string, h http.Header, method, uri string, body []byte, now time.Time) error {
	return checkSigned(secret, h, method, uri, body, now, "v2", "", func() string { return SignV2(secret, method, uri, body) })
}

// CheckWebhookSignature verifies the signature of a webhook batch: v3 when
// its header is present (the same checks as CheckSignature, timestamp
// window included), otherwise v1 (X-HubSpot-Signature-Version: v1, hex
// SHA-256 of the secret and the raw body), which HubSpot's webhooks still
// send. v1 signs neither the URL nor a time, so a captured batch can be
// replayed; the receiver's dedupe makes a replay harmless.
func CheckWebhookSignature(secret string, h http.Header, method, uri string, body []byte, now time.Time) error {
	return checkSigned(secret, h, method, uri, body, now, "v1", " for webhooks", func() string { return SignV1(secret, body) })
}

// checkSigned checks v3 when its header is present, else the older version
// (v2 for actions, v1 for webhooks) that sign computes.
func checkSigned(secret string, h http.Header, method, uri string, body []byte, now time.Time, older, where string, sign func() string) error {
	if h.Get(HeaderSignatureV3) != "" {
		return checkV3(secret, h, method, uri, body, now)
	}
	sig := strings.TrimSpace(h.Get(HeaderSignature))
	if sig == "" {
		return &SignatureError{"missing_signature", "no " + HeaderSignature + " or " + HeaderSignatureV3 + " header"}
	}
	if v := h.Get(HeaderSignatureVersion); !strings.EqualFold(v, older) {
		if v == "" {
			v = "none"
		}
		return &SignatureError{"unsupported_version", "signature version " + v + " is not accepted" + where + "; expected " + older + " or v3"}
	}
	if !hmac.Equal([]byte(strings.ToLower(sig)), []byte(sign())) {
		return &SignatureError{"signature_mismatch", older + " signature does not match"}
	}
	return nil
}

// checkV3 checks a v3 signature and its timestamp window.
func checkV3(secret string, h http.Header, method, uri string, body []byte, now time.Time) error {
	if sig := h.Get(HeaderSignatureV3); sig != "" {
		ts := h.Get(HeaderTimestamp)
		if ts == "" {
			return &SignatureError{"missing_timestamp", HeaderTimestamp + " header is missing"}
		}
		ms, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return &SignatureError{"invalid_timestamp", HeaderTimestamp + " is not a number of milliseconds"}
		}
		age := now.Sub(time.UnixMilli(ms))
		if age > MaxSignatureAge || age < -MaxSignatureAge {
			return &SignatureError{"stale_timestamp", "request timestamp is more than 5 minutes from now"}
		}
		// Some proxies URL-decode headers, turning base64's + into a space.
		sig = strings.ReplaceAll(strings.TrimSpace(sig), " ", "+")
		want := SignV3(secret, method, uri, body, ts)
		if !hmac.Equal([]byte(sig), []byte(want)) {
			return &SignatureError{"signature_mismatch", "v3 signature does not match"}
		}
		return nil
	}
	return &SignatureError{"missing_signature", "no " + HeaderSignatureV3 + " header"}
}

// bodyKey is where VerifySignature leaves the raw body for handlers.
const bodyKey = "hubspot.raw_body"

// RawBody returns the body VerifySignature read and checked.
func RawBody(c echo.Context) []byte {
	b, _ := c.Get(bodyKey).([]byte)
	return b
}

// VerifySignature is middleware that admits only requests signed with the
// app's client secret. It reads the whole body (413 past MaxBodyBytes),
// checks it against the public URL publicBaseURL + path + query, keeps it
// for RawBody and restores it for later readers. A failed check answers
// 401 with a JSON body naming the check; it is logged and counted.
func VerifySignature(secret, publicBaseURL string, now func() time.Time, log *slog.Logger, m *Metrics) echo.MiddlewareFunc {
	return verify(CheckSignature, secret, publicBaseURL, MaxBodyBytes, now, log, m)
}

// VerifyWebhookSignature is VerifySignature for webhook batches: it checks
// with CheckWebhookSignature (v3, else v1) and reads at most maxBody bytes.
func VerifyWebhookSignature(secret, publicBaseURL string, maxBody int64, now func() time.Time, log *slog.Logger, m *Metrics) echo.MiddlewareFunc {
	return verify(CheckWebhookSignature, secret, publicBaseURL, maxBody, now, log, m)
}

type checkFunc func(secret string, h http.Header, method, uri string, body []byte, now time.Time) error

func verify(check checkFunc, secret, publicBaseURL string, maxBody int64, now func() time.Time, log *slog.Logger, m *Metrics) echo.MiddlewareFunc {
	base := strings.TrimRight(publicBaseURL, "/")
	tooLarge := fmt.Sprintf("request body is larger than %s", sizeText(maxBody))
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			body, err := io.ReadAll(http.MaxBytesReader(c.Response(), r.Body, maxBody))
			if err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					return echo.NewHTTPError(http.StatusRequestEntityTooLarge, tooLarge)
				}
				if IsBodyTimeout(err) {
					return echo.NewHTTPError(http.StatusRequestTimeout, "the request body did not arrive in time").SetInternal(err)
				}
				return echo.NewHTTPError(http.StatusBadRequest, "could not read the request body").SetInternal(err)
			}
			uri := base + r.URL.EscapedPath()
			if r.URL.RawQuery != "" {
				uri += "?" + r.URL.RawQuery
			}
			if err := check(secret, r.Header, r.Method, uri, body, now()); err != nil {
				var se *SignatureError
				errors.As(err, &se)
				m.signatureFailures.WithLabelValues(se.Check).Inc()
				log.LogAttrs(r.Context(), slog.LevelWarn, "rejected unsigned or badly signed request",
					slog.String("check", se.Check), slog.String("path", r.URL.Path), slog.String("remote_ip", c.RealIP()))
				return c.JSON(http.StatusUnauthorized, map[string]string{"error": se.Error(), "check": se.Check})
			}
			c.Set(bodyKey, body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			return next(c)
		}
	}
}

// sizeText writes a byte count for people: 1 MiB, 256 KiB, 1000 bytes.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
