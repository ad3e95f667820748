package flowsim

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/flowbridge/flowbridge/flowtemplates"
)

// Issue is one lint finding.
type Issue struct {
	Rule   string // stable name: total_wait, wait_in_foreach, undefined_metafield, unreachable, cycle, bad_port, bad_link, bad_condition, trigger
	StepID flowtemplates.StepID
	Msg    string
}

func (i Issue) String() string {
	if i.StepID != "" {
		return fmt.Sprintf("%s: step %s: %s", i.Rule, i.StepID, i.Msg)
	}
	return i.Rule + ": " + i.Msg
}

// Lint checks w against Flow's documented limits and against defs, the
// metafield definitions that exist in the shop: total wait on any path ≤ 90
// days, no Wait inside For each, every metafield referenced is defined,
// every step reachable from the trigger, no cycles, every link's ports
// valid for its steps, conditions parse.
func Lint(w flowtemplates.Workflow, defs []flowtemplates.Metafield, tasks ...flowtemplates.Tasks) []Issue {
	var issues []Issue
	add := func(rule string, id flowtemplates.StepID, format string, a ...any) {
		issues = append(issues, Issue{Rule: rule, StepID: id, Msg: fmt.Sprintf(format, a...)})
	}
	steps := map[flowtemplates.StepID]flowtemplates.Step{}
	for _, s := range w.Root.Steps {
		if _, dup := steps[s.StepID]; dup {
			add("bad_link", s.StepID, "duplicate step id")
		}
		steps[s.StepID] = s
	}
	triggers := w.Triggers()
	if len(triggers) != 1 {
		add("trigger", "", "a workflow needs exactly one trigger, found %d", len(triggers))
	}

	// Ports.
	out := map[flowtemplates.StepID][]flowtemplates.Link{}
	for _, l := range w.Root.Links {
		from, ok1 := steps[l.FromStepID]
		_, ok2 := steps[l.ToStepID]
		if !ok1 || !ok2 {
			add("bad_link", l.FromStepID, "link %s→%s names a step that does not exist", l.FromStepID, l.ToStepID)
			continue
		}
		if l.ToPortID != flowtemplates.PortInput {
			add("bad_port", l.ToStepID, "links must end at port %q, not %q", flowtemplates.PortInput, l.ToPortID)
		}
		if steps[l.ToStepID].TaskType == flowtemplates.TypeTrigger {
			add("bad_link", l.ToStepID, "nothing may link into a trigger")
		}
		if !validPort(from.TaskType, l.FromPortID) {
			add("bad_port", l.FromStepID, "a %s step has no port %q", from.TaskType, l.FromPortID)
		}
		out[l.FromStepID] = append(out[l.FromStepID], l)
	}

	// Reachability and cycles (depth-first, colouring).
	const (
		white = iota
		grey
		black
	)
	colour := map[flowtemplates.StepID]int{}
	var cyc []flowtemplates.StepID
	var visit func(id flowtemplates.StepID)
	visit = func(id flowtemplates.StepID) {
		colour[id] = grey
		for _, l := range out[id] {
			switch colour[l.ToStepID] {
			case grey:
				cyc = append(cyc, l.ToStepID)
			case white:
				visit(l.ToStepID)
			}
		}
		colour[id] = black
	}
	for _, t := range triggers {
		visit(t.StepID)
	}
	for _, id := range cyc {
		add("cycle", id, "the workflow loops back to this step; Flow workflows must be acyclic")
	}
	for _, s := range w.Root.Steps {
		if colour[s.StepID] == white {
			add("unreachable", s.StepID, "%q is not reachable from the trigger", s.Title())
		}
	}

	tt := flowtemplates.TaskTable()
	if len(tasks) > 0 && tasks[0] != nil {
		tt = tasks[0]
	}
	// Waits: longest path total, and none inside a For each body.
	if len(cyc) == 0 {
		memo := map[flowtemplates.StepID]time.Duration{}
		var longest func(id flowtemplates.StepID) time.Duration
		longest = func(id flowtemplates.StepID) time.Duration {
			if d, ok := memo[id]; ok {
				return d
			}
			var own time.Duration
			if s := steps[id]; s.TaskType == flowtemplates.TypeWait {
				d, err := flowtemplates.WaitDuration(s)
				if err != nil {
					add("total_wait", id, "%v", err)
				}
				own = d
			}
			var best time.Duration
			for _, l := range out[id] {
				if d := longest(l.ToStepID); d > best {
					best = d
				}
			}
			memo[id] = own + best
			return own + best
		}
		for _, t := range triggers {
			if total := longest(t.StepID); total > flowtemplates.MaxTotalWait {
				add("total_wait", "", "waits on one path add up to %s; Flow allows at most 90 days per workflow", total)
			}
		}
	}
	for _, s := range w.Root.Steps {
		if s.TaskType != flowtemplates.TypeForEach {
			continue
		}
		seen := map[flowtemplates.StepID]bool{}
		var body func(id flowtemplates.StepID)
		body = func(id flowtemplates.StepID) {
			if seen[id] {
				return
			}
			seen[id] = true
			if st := steps[id]; st.TaskType == flowtemplates.TypeWait {
				add("wait_in_foreach", id, "Wait is not allowed inside For each (%s)", s.StepID)
			} else if st.TaskType == flowtemplates.TypeForEach {
				add("wait_in_foreach", id, "For each may not be nested")
			}
			for _, l := range out[id] {
				body(l.ToStepID)
			}
		}
		for _, l := range out[s.StepID] {
			if l.FromPortID == flowtemplates.PortLoopBody {
				body(l.ToStepID)
			}
		}
	}

	// Task ids: the simulator (and this table) must know every one; an
	// export with Flow's real ids needs --task-id overrides.
	for _, s := range w.Root.Steps {
		if _, ok := tt.ByID(s.TaskID); !ok {
			add("unknown_task", s.StepID, "task %s is not in the task table; pass --task-id <name>=%s@%s if an export shows it", s.TaskID, s.TaskID, s.TaskVersion)
		}
	}

	// Metafields: declared ones must be defined, used ones declared.
	handles := map[string]bool{}
	for _, pf := range w.Root.PatchedFields {
		if pf.Field != "metafield" {
			continue
		}
		ns, key := pf.Arguments["namespace"], pf.Arguments["key"]
		if !defined(defs, ns, key) {
			add("undefined_metafield", "", "patched field %s.%s has no metafield definition (check the exact case)", ns, key)
		}
		handles[flowtemplates.CamelHandle(pf.Handle)] = true
	}
	ref := regexp.MustCompile(`\border\.([A-Za-z0-9_]+)\.value\b`)
	for _, s := range w.Root.Steps {
		if s.TaskID == tt["metafield"].ID {
			ns, _ := s.Config("namespace")
			key, _ := s.Config("key")
			if !defined(defs, ns, key) {
				add("undefined_metafield", s.StepID, "writes %s.%s, which has no metafield definition (check the exact case)", ns, key)
			}
		}
		if s.TaskType == flowtemplates.TypeCondition {
			c, _ := s.Config("condition")
			if _, err := ParseCondition(c); err != nil {
				add("bad_condition", s.StepID, "%v", err)
			}
		}
		for _, c := range s.ConfigFieldValues {
			for _, m := range ref.FindAllStringSubmatch(c.Value, -1) {
				if !handles[m[1]] {
					add("undefined_metafield", s.StepID, "%s reads order.%s.value but no patched metafield has that handle", c.ConfigFieldID, m[1])
				}
			}
		}
	}
	sort.SliceStable(issues, func(i, j int) bool { return issues[i].Rule < issues[j].Rule })
	return issues
}

func validPort(taskType, port string) bool {
	switch taskType {
	case flowtemplates.TypeCondition:
		return port == flowtemplates.PortTrue || port == flowtemplates.PortFalse
	case flowtemplates.TypeForEach:
		return port == flowtemplates.PortLoopBody || port == flowtemplates.PortAfter
	case flowtemplates.TypeTrigger, flowtemplates.TypeAction, flowtemplates.TypeWait:
		return port == flowtemplates.PortOutput
	}
	return false
}

// Summary joins issues for an error message.
func Summary(issues []Issue) string {
	parts := make([]string, len(issues))
	for i, is := range issues {
		parts[i] = is.String()
	}
	return strings.Join(parts, "; ")
}
