package bts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// decodeJSON decodes one JSON value, keeping numbers as json.Number so
// prices are never rounded through float64. A UTF-8 BOM (some PHP stacks emit
// one) is ignored; trailing garbage is an error (a sign of a broken answer).
func decodeJSON(body []byte) (any, error) {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errors.New("empty body")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after the JSON value")
	}
	return v, nil
}

// text renders a scalar JSON value as a trimmed string ("" for null,
// objects and arrays).
func text(v any) string {
	switch t := v.(type) {
	case string:
		return strings.TrimSpace(t)
	case json.Number:
		return t.String()
	case bool:
		return strconv.FormatBool(t)
	default:
		return ""
	}
}

// items returns the elements of a list that BTS sends either as a JSON array
// or as an object keyed by index ({"0":{…},"1":{…}}). Object values come in
// key order (numeric keys numerically) so results are deterministic.
func items(v any) ([]any, bool) {
	switch t := v.(type) {
	case []any:
		return t, true
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			a, errA := strconv.Atoi(keys[i])
			b, errB := strconv.Atoi(keys[j])
			if errA == nil && errB == nil {
				return a < b
			}
			return keys[i] < keys[j]
		})
		out := make([]any, 0, len(keys))
		for _, k := range keys {
			out = append(out, t[k])
		}
		return out, true
	default:
		return nil, false
	}
}

// parseInt reads an integer sent as a number or a numeric string.
func parseInt(v any) (int, bool) {
	s := text(v)
	if s == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(s); err == nil {
		return n, true
	}
	// "3.0" from a PHP float.
	if f, err := strconv.ParseFloat(s, 64); err == nil && f == float64(int(f)) {
		return int(f), true
	}
	return 0, false
}

// parseDays reads delivery_time: 3, "3", "3 days" or a range "2-3".
func parseDays(v any) (lo, hi int, ok bool) {
	var nums []int
	cur, in := 0, false
	for _, r := range text(v) {
		if r >= '0' && r <= '9' {
			cur = cur*10 + int(r-'0')
			in = true
			if cur > 1000 {
				return 0, 0, false
			}
			continue
		}
		if in {
			nums = append(nums, cur)
			cur, in = 0, false
		}
	}
	if in {
		nums = append(nums, cur)
	}
	switch len(nums) {
	case 1:
		return nums[0], nums[0], true
	case 2:
		if nums[0] > nums[1] {
			nums[0], nums[1] = nums[1], nums[0]
		}
		return nums[0], nums[1], true
	default:
		return 0, 0, false
	}
}

// parseEUR converts a BTS amount to euro cents. Accepted: 4.95, "4.95",
// "4,95", "4.95 €", "€4,95", "1.234,50", "1,234.50", "5". With both
// separators the last one is the decimal mark; a lone comma is a decimal
// comma (BTS is Spanish); repeated identical separators are thousands.
// More than two decimals are rounded half up.
func parseEUR(v any) (int64, error) {
	raw := text(v)
	var b strings.Builder
	for _, r := range raw {
		switch {
		case r >= '0' && r <= '9', r == ',', r == '.', r == '-':
			b.WriteRune(r)
		case r == ' ', r == '\u00a0', r == '€', r == '\'':
		case r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z': // "EUR"
		default:
			return 0, fmt.Errorf("amount %q: unexpected character %q", raw, r)
		}
	}
	s := b.String()
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if s == "" || strings.Contains(s, "-") {
		return 0, fmt.Errorf("amount %q is not a number", raw)
	}
	comma, dot := strings.LastIndex(s, ","), strings.LastIndex(s, ".")
	switch {
	case comma >= 0 && dot >= 0:
		dec, thou := ",", "."
		if dot > comma {
			dec, thou = ".", ","
		}
		s = strings.ReplaceAll(s, thou, "")
		if strings.Count(s, dec) != 1 {
			return 0, fmt.Errorf("amount %q is ambiguous", raw)
		}
		s = strings.Replace(s, dec, ".", 1)
	case comma >= 0:
		if strings.Count(s, ",") == 1 {
			s = strings.Replace(s, ",", ".", 1)
		} else {
			s = strings.ReplaceAll(s, ",", "")
		}
	case dot >= 0:
		if strings.Count(s, ".") > 1 {
			s = strings.ReplaceAll(s, ".", "")
		}
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" {
		whole = "0"
	}
	if len(whole) > 15 || !digits(whole) || !digits(frac) {
		return 0, fmt.Errorf("amount %q is not a number", raw)
	}
	frac += "000"
	cents, _ := strconv.ParseInt(whole+frac[:2], 10, 64)
	if frac[2] >= '5' {
		cents++
	}
	if neg {
		cents = -cents
	}
	return cents, nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
