// Package orderid holds the one rule for naming a Shopify order inside
// flowbridge: which spellings of an order id mean the same order, and which
// shop an order is filed under. Every entry point (the Flow endpoints, the
// orders service, the timeline, the operator API, the CLI) goes through it,
// so a lookup always finds what POST /orders stored.
//
// The order id. Shopify order ids are unsigned 64-bit numbers and the GID
// gid://shopify/Order/<n> names the same number, so the canonical form is
// the decimal number without leading zeros: "gid://shopify/Order/42", "42"
// and "0042" are one order, stored as "42". Zero and anything with other
// characters (spaces, signs, another resource's GID) are not order ids.
//
// The shop. A shop is named by its myshopify domain, which is
// case-insensitive, so it is trimmed and lower-cased. A request without a
// shop belongs to the deployment's default shop (FLOWBRIDGE_SHOP); setting
// that to the shop's domain makes requests with and without `shop` name the
// same key.
package orderid

import (
	"strconv"
	"strings"
)

// GIDPrefix starts a Shopify order GID.
const GIDPrefix = "gid://shopify/Order/"

// Pattern is the regular expression openapi.yaml states for an order id
// sent as a string; a test holds the two together.
const Pattern = `^(gid://shopify/Order/)?0{0,12}[1-9][0-9]{0,18}$`

// Normalize returns the canonical order number for a Shopify order id
// given as a number, a zero-padded number or a GID. ok is false for
// anything else.
func Normalize(s string) (id string, ok bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), GIDPrefix)
	if s == "" || len(s) > 32 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return "", false
	}
	return strconv.FormatUint(n, 10), true
}

// ShopPattern is the regular expression openapi.yaml states for `shop`.
const ShopPattern = `^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$`

// Shop returns the shop an order is filed under: s trimmed and
// lower-cased, or def (treated the same way) when s is empty. ok is false
// when s is not a shop domain (a Liquid variable left unrendered, say).
func Shop(s, def string) (shop string, ok bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		s = strings.ToLower(strings.TrimSpace(def))
	}
	if s == "" || len(s) > 255 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '-' && c != '.' && c != '_') {
			return "", false
		}
	}
	return s, true
}
