package timelinetest

import (
	"strings"

	"github.com/flowbridge/flowbridge/timeline"
)

func sameEvents(got, want []timeline.Event) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := got[i], want[i]
		if !g.At.Equal(w.At) {
			return false
		}
		g.At = w.At
		if g != w {
			return false
		}
	}
	return true
}

func sameSummary(got, want timeline.Summary) bool {
	if !got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		return false
	}
	got.CreatedAt, got.UpdatedAt = want.CreatedAt, want.UpdatedAt
	return got == want
}

func ids(s []timeline.Summary) []string {
	out := []string{}
	for _, o := range s {
		out = append(out, o.OrderID)
	}
	return out
}

func notes(evs []timeline.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Note)
	}
	return out
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
