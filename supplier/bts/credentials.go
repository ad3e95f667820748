package bts

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/flowbridge/flowbridge/problem"
	"github.com/flowbridge/flowbridge/supplier"
)

// CheckCredentials makes one cheap authenticated call (getCountries) and
// says what is wrong when it fails: a 401 names the likely token problem
// (not a JWT, letter case changed, expired, non-production base URL, or
// simply wrong/revoked), a 404 names the base URL.
func (c *Client) CheckCredentials(ctx context.Context) error {
	r, se := c.send(supplier.Retryable(ctx), endpointCountries, nil, nil)
	if se != nil {
		return transportProblem(endpointCountries, se)
	}
	vd := c.judge(endpointCountries, r)
	if vd.prob != nil {
		return vd.prob
	}
	if vd.jsonErr != nil {
		return problem.Wrap(vd.jsonErr, problem.Upstream, problem.CodeSupplierBadResponse,
			"BTS getCountries did not answer JSON: is FLOWBRIDGE_BTS_BASE_URL the API root (default "+DefaultBaseURL+")?")
	}
	// Documented: an array of {country_code, country_name}; observed: an
	// object {"AT":"Austria",…}. Either must be non-empty.
	if list, ok := items(vd.value); !ok || len(list) == 0 {
		return problem.New(problem.Upstream, problem.CodeSupplierBadResponse, "BTS getCountries returned no countries")
	}
	return nil
}

// authProblem is the problem for a 401/403. Kind Unavailable: see the
// package doc (a 4xx would make Flow drop the order for good).
func (c *Client) authProblem(status int) *problem.Error {
	lead := "BTS rejected the token (HTTP 401): "
	if status == http.StatusForbidden {
		lead = "BTS refused access (HTTP 403): API access may not be enabled for this account, ask your BTS account manager; "
	}
	return problem.New(problem.Unavailable, problem.CodeSupplierAuth,
		lead+strings.Join(c.tokenHints(), "; ")).WithRetryAfter(operatorRetryAfter)
}

// tokenHints guesses why BTS refused the token. It reads only the token's
// shape and public claims (exp, iat) and never echoes the token.
func (c *Client) tokenHints() []string {
	var hints []string
	parts := strings.Split(c.token, ".")
	switch {
	case len(parts) != 3:
		hints = append(hints, "FLOWBRIDGE_BTS_TOKEN does not look like a JWT (three dot-separated parts); copy the whole token from the BTS portal's API section")
	case caseMangled(c.token, parts[0]):
		hints = append(hints, "the token looks case-mangled (a JWT starts with \"eyJ\" and mixes upper and lower case); copy it again exactly as shown")
	default:
		cl, readable := jwtClaims(parts[1])
		switch {
		case !readable:
			hints = append(hints, "the token's middle part is not readable JWT data; it may be truncated or case-mangled")
		case !cl.exp.IsZero() && cl.exp.Before(c.now()):
			hints = append(hints, "the token expired on "+cl.exp.UTC().Format(time.DateOnly)+"; create a new one in the BTS portal")
		case cl.exp.IsZero() && !cl.iat.IsZero():
			// Real BTS tokens carry only sub and iat: no expiry to read.
			hints = append(hints, "the token was issued on "+cl.iat.UTC().Format(time.DateOnly)+
				" and carries no expiry date, so BTS refusing it means it was revoked or replaced (a newer token created in the portal), or it belongs to another account; create a new one in the BTS portal (API section, Create Account Service) and set FLOWBRIDGE_BTS_TOKEN")
		}
	}
	if !strings.EqualFold(c.base.Hostname(), productionHost()) {
		hints = append(hints, "FLOWBRIDGE_BTS_BASE_URL points at "+c.base.Host+", not BTS production ("+productionHost()+"); BTS has no sandbox and issues tokens for production")
	}
	if len(hints) == 0 {
		hints = append(hints, "the token is wrong or revoked; create a new one in the BTS portal (API section, Create Account Service) and set FLOWBRIDGE_BTS_TOKEN")
	}
	return hints
}

func productionHost() string {
	u, _ := url.Parse(DefaultBaseURL)
	return u.Hostname()
}

// caseMangled: base64url JSON headers begin with "eyJ" ('{"'); a token
// that is all one case, or whose header start differs from "eyJ" only in
// case, was altered (e.g. by an upper-casing secret store or form).
func caseMangled(token, header string) bool {
	if len(header) >= 3 && strings.EqualFold(header[:3], "eyj") && header[:3] != "eyJ" {
		return true
	}
	return token == strings.ToUpper(token) || token == strings.ToLower(token)
}

func decodeSegment(seg string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
}

// claims are the public claims read for hints.
type claims struct{ exp, iat time.Time }

// jwtClaims reads exp and iat without verifying the signature (only BTS
// can); they serve a hint, never a decision. readable is false when the
// payload is not base64url JSON.
func jwtClaims(seg string) (claims, bool) {
	b, err := decodeSegment(seg)
	if err != nil || !json.Valid(b) {
		return claims{}, false
	}
	var raw struct {
		Exp json.Number `json:"exp"`
		Iat json.Number `json:"iat"`
	}
	if json.Unmarshal(b, &raw) != nil {
		return claims{}, true
	}
	var cl claims
	if sec, err := raw.Exp.Int64(); err == nil && sec > 0 {
		cl.exp = time.Unix(sec, 0)
	}
	if sec, err := raw.Iat.Int64(); err == nil && sec > 0 {
		cl.iat = time.Unix(sec, 0)
	}
	return cl, true
}
