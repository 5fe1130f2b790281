// Package quickbookstest is a local fake of Intuit's OAuth 2.0 endpoints and
// the QuickBooks Online Accounting API (v3), faithful to the behaviour
// described in external-apis.md §2, for tests and for the service's sandbox
// mode. It has no dependency on package testing: Start (in start.go) serves
// it on a loopback port for tests, taking a TB that *testing.T satisfies.
//
// # Endpoints
//
//	GET  /connect/oauth2                         authorize: redirects to redirect_uri with code, state, realmId
//	POST /oauth2/v1/tokens/bearer                token: form body, Basic auth; rotates the refresh token on every refresh
//	POST /v2/oauth2/tokens/revoke                revoke: JSON {"token": …}, Basic auth
//	GET  /v3/company/{realmId}/query             select * from <Entity> [where … [and …]] [orderby …] [startposition n] [maxresults n]
//	GET  /v3/company/{realmId}/companyinfo/{realmId}
//	POST /v3/company/{realmId}/customer          create, or sparse update with Id + SyncToken
//	GET  /v3/company/{realmId}/customer/{id}
//	GET  /v3/company/{realmId}/item/{id}
//	POST /v3/company/{realmId}/invoice           create
//	GET  /v3/company/{realmId}/invoice/{id}
//	POST /v3/company/{realmId}/invoice/{id}/send application/octet-stream, no body, optional ?sendTo=
//
// Every API answer carries an intuit_tid header. A request with ?requestid=
// (at most 50 characters) is answered, when repeated for the same company,
// with the original status and body instead of being executed again.
// minorversion is accepted and ignored. Queries return only active name-list
// records (Customer, Item) unless the query filters on Active.
//
// # Fixtures
//
// One company (Options.Realm, default "9341453012345678", "Sandbox Company
// US 1") with 30 active Items (ids 1–30, "Services" is 1; item 7 is
// "Onboarding" at 120.00; item 30 is a Category), an inactive item 31
// ("Retired Service"), customers "Jordan Lee" <jordan.lee@example.com>
// (id 1) and "Rivera Analytics" with no email (id 2), and a vendor named
// "Acme Supplies" (so that name collides with no visible customer).
//
// # Magic inputs (sandbox)
//
// These make the fake answer each documented failure, so a developer can try
// every path from a workflow:
//
//   - an email at the domain bad-email.example (e.g. a@bad-email.example):
//     customer create and invoice send answer ValidationFault 2210 (email
//     does not conform to RFC 822). QuickBooks' own syntax check applies too.
//   - display name "Jordan Lee" with another email: 6240 Duplicate Name
//     Exists, resolved by the client with a suffixed name; "Acme Supplies"
//     collides with the vendor.
//   - item id 31 (inactive) or any unknown id such as 999: invoice create
//     answers 610 Object Not Found.
//   - any text field (display name, description …) containing one of these
//     markers makes every request whose body or query holds it fail:
//     [qbo-throttle] (XML 429 ThrottleExceeded), [qbo-throttle403] (the
//     older 403 form), [qbo-unavailable] (503 SystemFault), [qbo-error500]
//     (500 SystemFault), [qbo-fault200] (a ValidationFault inside a 200),
//     [qbo-closed-books] (6210 Account Period Closed), [qbo-auth] (the
//     lower-case 401 body). Suffix -once (e.g. [qbo-throttle-once],
//     [qbo-unavailable-once]) fails only the first request per requestid (or
//     per query), so a retry succeeds.
//
// # Knobs
//
// Options set the client credentials, the connected realm, registered
// redirect URIs, per-realm throttling (RequestsPerMinute, MaxConcurrent,
// ThrottleStatus 429 or 403, an optional RetryAfter header), Latency, the
// access-token lifetime, the clock, and AdoptUnknownGrants (sandbox: accept
// well-formed refresh tokens issued before a restart). Methods force states
// at run time: FailNext (429/403/401/500/503), FailNextOn (the same on
// one path), RejectNext (a ValidationFault on a path), AnswerEmptyNext (a
// 200 without the entity on a path), SetFaultsIn200, ExpireAccessTokens,
// RevokeGrants, SetDenyConsent, ConnectRealm, AddCompany, SetItemActive;
// and inspect: Requests, APIRequests, Refreshes, Revoked, Customers,
// Invoices, MaxInFlight.
package quickbookstest
