// Package salesforcetest is a faithful fake of the parts of Salesforce the
// salesforce provider uses, for tests and sandbox mode:
//
//   - OAuth 2.0 web server flow: GET /services/oauth2/authorize (a
//     code_challenge with method S256 is required), POST
//     /services/oauth2/token (authorization_code with its code_verifier
//     checked, refresh_token) and POST /services/oauth2/revoke. Token
//     answers carry instance_url, id, issued_at and signature but, like
//     Salesforce's, no expires_in.
//   - REST API under /services/data/vNN.N/: the Lead upsert by external id
//     (PATCH sobjects/Lead/{field}/{value}: 201 created, 200 with
//     created:false from v46.0 or 204 before, 300 on several matches, 404
//     NOT_FOUND when the field does not exist), update by id (PATCH
//     sobjects/Lead/{id}), create (POST sobjects/Lead) and SOQL queries
//     (GET query?q=) of the form SELECT fields FROM Lead WHERE Field =
//     'literal' (or LIKE) [LIMIT n], whose literal is unescaped the way
//     SOQL does and refused with MALFORMED_QUERY when an escape is wrong.
//   - Errors are Salesforce's JSON arrays of {message, errorCode, fields}:
//     INVALID_SESSION_ID (401), REQUIRED_FIELD_MISSING, DUPLICATES_DETECTED,
//     INVALID_EMAIL_ADDRESS, STRING_TOO_LONG, INVALID_FIELD, MALFORMED_QUERY
//     (400), REQUEST_LIMIT_EXCEEDED (403) once the org's daily allocation is
//     spent.
//   - Every API answer carries Sforce-Limit-Info: api-usage=N/M.
//
// Every request is recorded (Requests) so tests can check what was sent.
package salesforcetest
