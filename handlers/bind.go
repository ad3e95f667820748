package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/flowbridge/flowbridge/problem"
)

// Decoding is done in two steps so every failure can name its field with a
// JSON pointer, which encoding/json's type errors cannot (they drop array
// indices): the body is parsed into generic values, then bound onto the
// request struct by a small reflective walker that records the pointer of
// every value of the wrong type.
//
// The binder is deliberately lenient where Liquid templates differ: a
// number is accepted where a string is expected (an unquoted zip or order
// id), a string of digits where an integer is expected ("{{ li.quantity }}"
// in quotes), and null counts as absent. Unknown fields are ignored, so a
// merchant can add fields to a template without breaking it; every field we
// know is validated.

// readJSON parses the request body into generic values.
func readJSON(r *http.Request) (any, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	return parseJSON(body)
}

// readBody reads a request body within the body limit.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge {
			return nil, tooLarge()
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge()
		}
		return nil, problem.Wrap(err, problem.Invalid, problem.CodeInvalidJSON, "the request body could not be read")
	}
	return body, nil
}

func tooLarge() *problem.Error {
	return &problem.Error{Kind: problem.Invalid, Code: problem.CodeBodyTooLarge, Status: http.StatusRequestEntityTooLarge,
		Detail: "the request body is larger than this service accepts (FLOWBRIDGE_MAX_BODY_BYTES)"}
}

func parseJSON(body []byte) (any, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, problem.InvalidFields(problem.CodeInvalidJSON, "the request body is empty; send a JSON object",
			problem.Field{Pointer: "", Message: "must be a JSON object"})
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, problem.InvalidFields(problem.CodeInvalidJSON, syntaxDetail(err),
			problem.Field{Pointer: "", Message: "must be well-formed JSON"})
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, problem.InvalidFields(problem.CodeInvalidJSON, "the request body has data after the JSON object (a stray character left by the template?)",
			problem.Field{Pointer: "", Message: "must be a single JSON object"})
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, problem.InvalidFields(problem.CodeInvalidJSON, "the request body must be a JSON object",
			problem.Field{Pointer: "", Message: "must be a JSON object"})
	}
	return v, nil
}

func syntaxDetail(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("malformed JSON near byte %d: %s (check the Liquid template: every variable needs | json)", se.Offset, se.Error())
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "malformed JSON: the body ends early (unclosed brace or bracket?)"
	}
	return "malformed JSON: " + err.Error()
}

// bind copies v onto dst (a pointer to a struct), collecting a field error
// for every value of the wrong type.
func bind(v any, dst any) []problem.Field {
	var errs []problem.Field
	bindValue(v, reflect.ValueOf(dst).Elem(), "", &errs)
	return errs
}

func bindValue(v any, dst reflect.Value, ptr string, errs *[]problem.Field) {
	if v == nil {
		return // null is the same as absent
	}
	switch dst.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			*errs = append(*errs, problem.Field{Pointer: ptr, Message: "must be an object, not " + typeName(v)})
			return
		}
		t := dst.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name := strings.Split(f.Tag.Get("json"), ",")[0]
			if name == "" || name == "-" {
				continue
			}
			if fv, ok := m[name]; ok {
				bindValue(fv, dst.Field(i), ptr+"/"+name, errs)
			}
		}
	case reflect.Slice:
		a, ok := v.([]any)
		if !ok {
			*errs = append(*errs, problem.Field{Pointer: ptr, Message: "must be an array, not " + typeName(v)})
			return
		}
		s := reflect.MakeSlice(dst.Type(), len(a), len(a))
		for i, item := range a {
			bindValue(item, s.Index(i), ptr+"/"+strconv.Itoa(i), errs)
		}
		dst.Set(s)
	case reflect.String:
		switch x := v.(type) {
		case string:
			dst.SetString(strings.TrimSpace(x))
		case json.Number:
			dst.SetString(plainNumber(x))
		default:
			*errs = append(*errs, problem.Field{Pointer: ptr, Message: "must be a string, not " + typeName(v)})
		}
	case reflect.Int, reflect.Int64:
		var s string
		switch x := v.(type) {
		case json.Number:
			s = x.String()
		case string:
			s = strings.TrimSpace(x)
		default:
			*errs = append(*errs, problem.Field{Pointer: ptr, Message: "must be an integer, not " + typeName(v)})
			return
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			// 2.0 is an integer too.
			if f, ferr := strconv.ParseFloat(s, 64); ferr == nil && f == float64(int64(f)) && f < 1e15 && f > -1e15 {
				n, err = int64(f), nil
			}
		}
		if err != nil {
			*errs = append(*errs, problem.Field{Pointer: ptr, Message: "must be an integer"})
			return
		}
		dst.SetInt(n)
	case reflect.Bool:
		switch x := v.(type) {
		case bool:
			dst.SetBool(x)
		case string:
			b, err := strconv.ParseBool(strings.TrimSpace(x))
			if err != nil {
				*errs = append(*errs, problem.Field{Pointer: ptr, Message: "must be true or false"})
				return
			}
			dst.SetBool(b)
		default:
			*errs = append(*errs, problem.Field{Pointer: ptr, Message: "must be true or false, not " + typeName(v)})
		}
	}
}

// plainNumber writes a JSON number where a string is expected without an
// exponent (1e2 is "100"), as a template author would have typed it.
func plainNumber(n json.Number) string {
	s := n.String()
	if !strings.ContainsAny(s, "eE") {
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func typeName(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	default:
		return "null"
	}
}
