package flowsim

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/osteele/liquid"
)

// Liquid renders Flow's Liquid subset: variables with dotted paths, the
// | json and | url_encode filters, {% for %} with forloop, {% if %} and
// {% unless %}, and {{ secrets.NAME }}. Unknown filters fail, as in Flow.
type Liquid struct {
	engine *liquid.Engine
}

// NewLiquid returns a renderer.
func NewLiquid() *Liquid {
	e := liquid.NewEngine()
	// Flow's | json emits a JSON literal; keep <, > and & readable rather
	// than \u003c-escaped (both are valid JSON).
	e.RegisterFilter("json", func(v any) string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return "null"
		}
		return string(bytes.TrimRight(b.Bytes(), "\n"))
	})
	return &Liquid{engine: e}
}

// Render renders src with env as its variables.
func (l *Liquid) Render(src string, env map[string]any) (string, error) {
	out, err := l.engine.ParseAndRenderString(src, env)
	if err != nil {
		return "", fmt.Errorf("liquid: %w", err)
	}
	return out, nil
}
