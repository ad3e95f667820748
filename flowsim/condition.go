package flowsim

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Condition evaluates Flow's condition DSL (the form Shopify's API accepts,
// e.g. "((runCode.ok == true) && (order.displayFulfillmentStatus != 'FULFILLED'))"):
// comparisons == != > >= < <=, string operators start_with? end_with?
// include? (and not_ forms), in?/not_in? with a comma list, unary nil?
// not_nil? empty_or_nil? not_empty_and_not_nil?, list operators any? all?
// none? with |item| bindings, and && / || (not mixed at one level). String
// comparisons ignore case, as in Flow. Liquid is not allowed. src may also
// be the JSON tree a real export stores (see ConditionDSL).
func Condition(src string, env map[string]any) (bool, error) {
	src, err := ConditionDSL(src)
	if err != nil {
		return false, err
	}
	if strings.Contains(src, "{{") || strings.Contains(src, "{%") {
		return false, fmt.Errorf("condition: Liquid is not allowed in conditions")
	}
	toks, err := lexCondition(src)
	if err != nil {
		return false, err
	}
	p := &condParser{toks: toks}
	n, err := p.expr()
	if err != nil {
		return false, err
	}
	if p.pos != len(p.toks) {
		return false, fmt.Errorf("condition: unexpected %q", p.toks[p.pos].text)
	}
	return n.eval(scope{env: env})
}

// ParseCondition checks the syntax of a condition and returns the
// variable paths it reads (for lint). Both forms are accepted.
func ParseCondition(src string) ([]string, error) {
	src, err := ConditionDSL(src)
	if err != nil {
		return nil, err
	}
	if strings.Contains(src, "{{") || strings.Contains(src, "{%") {
		return nil, fmt.Errorf("condition: Liquid is not allowed in conditions")
	}
	toks, err := lexCondition(src)
	if err != nil {
		return nil, err
	}
	p := &condParser{toks: toks}
	if _, err := p.expr(); err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("condition: unexpected %q", p.toks[p.pos].text)
	}
	return p.paths, nil
}

type tokKind int

const (
	tLParen tokKind = iota
	tRParen
	tPipe
	tIdent
	tOp
	tString
	tNumber
	tAnd
	tOr
)

type token struct {
	kind tokKind
	text string
}

func lexCondition(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			out = append(out, token{tLParen, "("})
			i++
		case c == ')':
			out = append(out, token{tRParen, ")"})
			i++
		case strings.HasPrefix(s[i:], "&&"):
			out = append(out, token{tAnd, "&&"})
			i += 2
		case strings.HasPrefix(s[i:], "||"):
			out = append(out, token{tOr, "||"})
			i += 2
		case c == '|':
			out = append(out, token{tPipe, "|"})
			i++
		case c == '\'' || c == '"':
			j := i + 1
			var b strings.Builder
			for ; j < len(s) && s[j] != c; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, fmt.Errorf("condition: unterminated string")
			}
			out = append(out, token{tString, b.String()})
			i = j + 1
		case strings.ContainsRune("=!<>", rune(c)):
			j := i + 1
			if j < len(s) && s[j] == '=' {
				j++
			}
			op := s[i:j]
			if op == "=" || op == "!" {
				return nil, fmt.Errorf("condition: bad operator %q", op)
			}
			out = append(out, token{tOp, op})
			i = j
		case c == '-' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(s) && (s[j] == '.' || (s[j] >= '0' && s[j] <= '9')) {
				j++
			}
			out = append(out, token{tNumber, s[i:j]})
			i = j
		case isIdentByte(c):
			j := i
			for j < len(s) && (isIdentByte(s[j]) || s[j] == '.' || (s[j] >= '0' && s[j] <= '9')) {
				j++
			}
			if j < len(s) && s[j] == '?' {
				out = append(out, token{tOp, s[i : j+1]})
				i = j + 1
				continue
			}
			out = append(out, token{tIdent, s[i:j]})
			i = j
		default:
			return nil, fmt.Errorf("condition: unexpected character %q", c)
		}
	}
	return out, nil
}

func isIdentByte(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

type scope struct {
	env   map[string]any
	items map[string]any
}

func (s scope) lookup(path string) any {
	parts := strings.Split(path, ".")
	var cur any
	if v, ok := s.items[parts[0]]; ok {
		cur = v
	} else {
		cur = s.env[parts[0]]
	}
	for _, p := range parts[1:] {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

func (s scope) with(name string, v any) scope {
	items := map[string]any{}
	for k, x := range s.items {
		items[k] = x
	}
	items[name] = v
	return scope{env: s.env, items: items}
}

type node interface {
	eval(scope) (bool, error)
}

type logical struct {
	and   bool
	parts []node
}

func (l logical) eval(s scope) (bool, error) {
	for _, p := range l.parts {
		v, err := p.eval(s)
		if err != nil {
			return false, err
		}
		if l.and && !v {
			return false, nil
		}
		if !l.and && v {
			return true, nil
		}
	}
	return l.and, nil
}

type operand struct {
	path    string
	literal any
	isPath  bool
}

func (o operand) value(s scope) any {
	if o.isPath {
		return s.lookup(o.path)
	}
	return o.literal
}

type comparison struct {
	lhs operand
	op  string
	rhs *operand
}

type listOp struct {
	list operand
	op   string // any? all? none?
	item string
	body node
}

func (l listOp) eval(s scope) (bool, error) {
	v := l.list.value(s)
	items, _ := v.([]any)
	count := 0
	for _, it := range items {
		ok, err := l.body.eval(s.with(l.item, it))
		if err != nil {
			return false, err
		}
		if ok {
			count++
		}
	}
	switch l.op {
	case "any?":
		return count > 0, nil
	case "all?":
		return count == len(items), nil
	default:
		return count == 0, nil
	}
}

type condParser struct {
	toks  []token
	pos   int
	paths []string
}

func (p *condParser) peek() *token {
	if p.pos < len(p.toks) {
		return &p.toks[p.pos]
	}
	return nil
}

func (p *condParser) expect(k tokKind, what string) (token, error) {
	t := p.peek()
	if t == nil || t.kind != k {
		got := "end of condition"
		if t != nil {
			got = t.text
		}
		return token{}, fmt.Errorf("condition: expected %s, got %q", what, got)
	}
	p.pos++
	return *t, nil
}

// expr := term ((&& | ||) term)*, one connective per level.
func (p *condParser) expr() (node, error) {
	first, err := p.term()
	if err != nil {
		return nil, err
	}
	parts := []node{first}
	conn := tokKind(-1)
	for t := p.peek(); t != nil && (t.kind == tAnd || t.kind == tOr); t = p.peek() {
		if conn >= 0 && t.kind != conn {
			return nil, fmt.Errorf("condition: && and || mixed at one level; use parentheses")
		}
		conn = t.kind
		p.pos++
		n, err := p.term()
		if err != nil {
			return nil, err
		}
		parts = append(parts, n)
	}
	if len(parts) == 1 {
		return first, nil
	}
	return logical{and: conn == tAnd, parts: parts}, nil
}

// term := "(" expr ")" | "(" comparison ")" | comparison
func (p *condParser) term() (node, error) {
	t := p.peek()
	if t == nil {
		return nil, fmt.Errorf("condition: unexpected end")
	}
	if t.kind == tLParen {
		p.pos++
		var n node
		var err error
		if nt := p.peek(); nt != nil && nt.kind == tLParen {
			n, err = p.expr()
		} else {
			n, err = p.comparisonChain()
		}
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRParen, ")"); err != nil {
			return nil, err
		}
		return n, nil
	}
	return p.comparison()
}

func (p *condParser) comparisonChain() (node, error) {
	first, err := p.comparison()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t != nil && (t.kind == tAnd || t.kind == tOr) {
		parts := []node{first}
		conn := t.kind
		for t := p.peek(); t != nil && (t.kind == tAnd || t.kind == tOr); t = p.peek() {
			if t.kind != conn {
				return nil, fmt.Errorf("condition: && and || mixed at one level; use parentheses")
			}
			p.pos++
			n, err := p.term()
			if err != nil {
				return nil, err
			}
			parts = append(parts, n)
		}
		return logical{and: conn == tAnd, parts: parts}, nil
	}
	return first, nil
}

func (p *condParser) operand() (operand, error) {
	t := p.peek()
	if t == nil {
		return operand{}, fmt.Errorf("condition: missing value")
	}
	p.pos++
	switch t.kind {
	case tIdent:
		switch t.text {
		case "true":
			return operand{literal: true}, nil
		case "false":
			return operand{literal: false}, nil
		case "nil", "null":
			return operand{literal: nil}, nil
		}
		p.paths = append(p.paths, t.text)
		return operand{path: t.text, isPath: true}, nil
	case tString:
		return operand{literal: t.text}, nil
	case tNumber:
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return operand{}, fmt.Errorf("condition: bad number %q", t.text)
		}
		return operand{literal: f}, nil
	}
	return operand{}, fmt.Errorf("condition: unexpected %q", t.text)
}

func (p *condParser) comparison() (node, error) {
	lhs, err := p.operand()
	if err != nil {
		return nil, err
	}
	opTok, err := p.expect(tOp, "an operator")
	if err != nil {
		return nil, err
	}
	switch opTok.text {
	case "nil?", "not_nil?", "empty_or_nil?", "not_empty_and_not_nil?":
		return comparison{lhs: lhs, op: opTok.text}, nil
	case "any?", "all?", "none?":
		if !lhs.isPath {
			return nil, fmt.Errorf("condition: %s needs a list", opTok.text)
		}
		if _, err := p.expect(tPipe, "|"); err != nil {
			return nil, err
		}
		item, err := p.expect(tIdent, "an item name")
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tPipe, "|"); err != nil {
			return nil, err
		}
		body, err := p.term()
		if err != nil {
			return nil, err
		}
		return listOp{list: lhs, op: opTok.text, item: item.text, body: body}, nil
	case "==", "!=", ">", ">=", "<", "<=", "start_with?", "not_start_with?", "end_with?", "not_end_with?",
		"include?", "not_include?", "in?", "not_in?":
		rhs, err := p.operand()
		if err != nil {
			return nil, err
		}
		return comparison{lhs: lhs, op: opTok.text, rhs: &rhs}, nil
	}
	return nil, fmt.Errorf("condition: unknown operator %q", opTok.text)
}

func (c comparison) eval(s scope) (bool, error) {
	l := c.lhs.value(s)
	switch c.op {
	case "nil?":
		return l == nil, nil
	case "not_nil?":
		return l != nil, nil
	case "empty_or_nil?":
		return l == nil || l == "", nil
	case "not_empty_and_not_nil?":
		return l != nil && l != "", nil
	}
	r := c.rhs.value(s)
	switch c.op {
	case "==":
		return equal(l, r), nil
	case "!=":
		return !equal(l, r), nil
	case ">", ">=", "<", "<=":
		cmp, ok := compare(l, r)
		if !ok {
			return false, nil // Flow: a comparison with a missing value is false
		}
		switch c.op {
		case ">":
			return cmp > 0, nil
		case ">=":
			return cmp >= 0, nil
		case "<":
			return cmp < 0, nil
		default:
			return cmp <= 0, nil
		}
	}
	ls, lok := l.(string)
	rs, rok := r.(string)
	if c.op == "in?" || c.op == "not_in?" {
		in := false
		for _, item := range strings.Split(fmt.Sprint(r), ",") {
			in = in || equal(l, coerceLike(l, strings.TrimSpace(item)))
		}
		return in == (c.op == "in?"), nil
	}
	if !lok || !rok {
		return false, nil
	}
	ls, rs = strings.ToLower(ls), strings.ToLower(rs)
	switch c.op {
	case "start_with?":
		return strings.HasPrefix(ls, rs), nil
	case "not_start_with?":
		return !strings.HasPrefix(ls, rs), nil
	case "end_with?":
		return strings.HasSuffix(ls, rs), nil
	case "not_end_with?":
		return !strings.HasSuffix(ls, rs), nil
	case "include?":
		return strings.Contains(ls, rs), nil
	default:
		return !strings.Contains(ls, rs), nil
	}
}

func coerceLike(l any, s string) any {
	switch l.(type) {
	case float64, int, int64:
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f
		}
	case bool:
		if b, err := strconv.ParseBool(s); err == nil {
			return b
		}
	}
	return s
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	}
	return 0, false
}

func equal(l, r any) bool {
	if l == nil || r == nil {
		return l == nil && r == nil
	}
	if lb, ok := l.(bool); ok {
		rb, ok := r.(bool)
		return ok && lb == rb
	}
	if lf, ok := l.(float64); ok {
		rf, ok := toFloat(r)
		return ok && math.Abs(lf-rf) < 1e-9
	}
	if rf, ok := r.(float64); ok {
		lf, ok := toFloat(l)
		return ok && math.Abs(lf-rf) < 1e-9
	}
	ls, lok := l.(string)
	rs, rok := r.(string)
	return lok && rok && strings.EqualFold(ls, rs)
}

func compare(l, r any) (int, bool) {
	lf, lok := toFloat(l)
	rf, rok := toFloat(r)
	if lok && rok {
		switch {
		case lf < rf:
			return -1, true
		case lf > rf:
			return 1, true
		}
		return 0, true
	}
	ls, lok := l.(string)
	rs, rok := r.(string)
	if !lok || !rok {
		return 0, false
	}
	lt, err1 := time.Parse(time.RFC3339, ls)
	rt, err2 := time.Parse(time.RFC3339, rs)
	if err1 == nil && err2 == nil {
		return lt.Compare(rt), true
	}
	return strings.Compare(strings.ToLower(ls), strings.ToLower(rs)), true
}
