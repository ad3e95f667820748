package doctor

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"unicode"
)

// CredentialHint looks at a supplier credential for the marks of a value
// whose letter case was changed on the way into the environment (some
// deployment forms, secret stores and shell helpers lower-case values). It
// returns a phrase for the report ("is all lower-case; …") or "" when
// nothing looks wrong. The rules are deliberately few:
//
//  1. Leading or trailing spaces or quotes: a copy-paste accident.
//  2. A JWT (three dot-separated parts, as BTS issues) is base64url of JSON,
//     so its first part always starts "eyJ" and decodes to a JSON object.
//     "eyj…"/"EYJ…", or a first part that does not decode to JSON, means the
//     case was changed (base64 is case-sensitive).
//  3. Any other value with at least 8 letters, all of the same case, that
//     is not plain hexadecimal (hex keys are legitimately single-case):
//     generated keys of that shape are mixed-case in practice.
//
// It cannot prove a value wrong; the supplier's answer does that. It only
// turns a bare "401" into a likely cause.
func CredentialHint(v string) string {
	if v == "" {
		return ""
	}
	if strings.TrimSpace(v) != v || strings.Trim(v, `"'`) != v {
		return "has leading/trailing spaces or quotes"
	}
	if parts := strings.Split(v, "."); len(parts) == 3 {
		return jwtHint(parts[0])
	}
	letters, upper, lower := 0, 0, 0
	hex := true
	for _, r := range v {
		if unicode.IsLetter(r) {
			letters++
			if unicode.IsUpper(r) {
				upper++
			} else {
				lower++
			}
		}
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			hex = false
		}
	}
	if letters < 8 || hex {
		return ""
	}
	switch {
	case upper == 0:
		return "is all lower-case; keys like this are normally mixed-case, so its case was probably changed on the way into the environment"
	case lower == 0:
		return "is all upper-case; keys like this are normally mixed-case, so its case was probably changed on the way into the environment"
	}
	return ""
}

func jwtHint(header string) string {
	if strings.HasPrefix(strings.ToLower(header), "eyj") && !strings.HasPrefix(header, "eyJ") {
		return "looks like a JWT whose letter case was changed (a JWT starts with \"eyJ\"; this one starts with \"" + header[:3] + "\")"
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(header, "="))
	var obj map[string]any
	if err != nil || json.Unmarshal(raw, &obj) != nil {
		return "looks like a JWT but its first part does not decode to JSON: it was cut or its case was changed"
	}
	return ""
}
