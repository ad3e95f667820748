// Package redact removes secrets and customer data from values that end up
// in traces and logs. Both the supplier client and the telemetry transport
// use it, so a URL is scrubbed the same way wherever it is recorded.
package redact

import "net/url"

// Mark replaces every redacted value.
const Mark = "REDACTED"

// URL returns a copy of u without user info or fragment and with every
// query value replaced by Mark. Keys stay, so a trace still shows which
// parameters were sent (query strings carry API keys and postcodes).
func URL(u *url.URL) *url.URL {
	if u == nil {
		return nil
	}
	c := *u
	c.User = nil
	c.Fragment, c.RawFragment = "", ""
	if c.RawQuery != "" {
		q, err := url.ParseQuery(c.RawQuery)
		if err != nil {
			c.RawQuery = Mark
		} else {
			for k := range q {
				q[k] = []string{Mark}
			}
			c.RawQuery = q.Encode()
		}
	}
	return &c
}
