package flowsim

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/flowbridge/flowbridge/flowtemplates"
	"github.com/flowbridge/flowbridge/problem"
)

// Command implements `flowbridge simulate`: it lints a workflow file, runs
// it for an order fixture against a running flowbridge and prints each
// step's outcome, then the e-mails, metafield writes and Admin API calls.
//
//	flowbridge simulate --workflow FILE --order FIXTURE --url http://127.0.0.1:8080 --key KEY
func Command(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	wfPath := fs.String("workflow", "", "workflow JSON file (or a .flow export)")
	orderPath := fs.String("order", "", "order fixture JSON (Flow's `order` variable)")
	base := fs.String("url", "", "flowbridge base URL; replaces scheme and host of every request URL")
	key := fs.String("key", "", "API key; fills every {{ secrets.* }} the workflow uses")
	start := fs.String("start", "", "virtual start time, RFC 3339 (default: now)")
	timeout := fs.Duration("request-timeout", 30*time.Second, "real time one HTTP attempt may take (Flow: 30s)")
	pause := fs.Float64("real-pause", 0.001, "real pause per virtual re-send interval (0.001: 30s → 30ms)")
	noLint := fs.Bool("no-lint", false, "run even when lint finds problems")
	taskFlags := flowtemplates.TaskFlags{}
	fs.Var(taskFlags, "task-id", "task id the workflow uses for a table entry: name=id[@version] (repeatable)")
	taskFile := fs.String("task-ids", "", "JSON file of task id overrides: {\"name\": \"id@version\"}")
	if err := fs.Parse(args); err != nil {
		return problem.Wrap(err, problem.Invalid, "invalid_arguments", "bad simulate arguments")
	}
	refs, err := taskFlags.Merge(*taskFile)
	if err != nil {
		return err
	}
	tasks, err := flowtemplates.TaskTable().WithOverrides(refs)
	if err != nil {
		return problem.Wrap(err, problem.Invalid, "invalid_arguments", err.Error())
	}
	if *wfPath == "" || *orderPath == "" {
		return problem.New(problem.Invalid, "invalid_arguments", "--workflow and --order are required")
	}
	data, err := os.ReadFile(*wfPath)
	if err != nil {
		return problem.Wrap(err, problem.Invalid, "invalid_arguments", "cannot read --workflow")
	}
	w, err := flowtemplates.Parse(data)
	if err != nil {
		return problem.Wrap(err, problem.Invalid, "invalid_workflow", err.Error())
	}
	order, err := LoadOrder(*orderPath)
	if err != nil {
		return problem.Wrap(err, problem.Invalid, "invalid_order_fixture", err.Error())
	}
	// The definitions the workflow expects are those it declares; lint
	// still catches writes and reads outside them.
	var defs []flowtemplates.Metafield
	for _, pf := range w.Root.PatchedFields {
		if pf.Field == "metafield" {
			defs = append(defs, flowtemplates.Metafield{Namespace: pf.Arguments["namespace"], Key: pf.Arguments["key"]})
		}
	}
	if issues := Lint(w, defs, tasks); len(issues) > 0 {
		for _, is := range issues {
			fmt.Fprintln(stdout, "lint:", is)
		}
		if !*noLint {
			return problem.New(problem.Invalid, "lint_failed", fmt.Sprintf("%d lint problem(s)", len(issues)))
		}
	}
	t0 := time.Now().UTC()
	if *start != "" {
		if t0, err = time.Parse(time.RFC3339, *start); err != nil {
			return problem.New(problem.Invalid, "invalid_arguments", "--start must be RFC 3339")
		}
	}
	clock := NewVirtualClock(t0)
	secrets := map[string]string{}
	if *key != "" {
		for _, name := range secretNames(w) {
			secrets[name] = *key
		}
	}
	sim := New(Options{
		Clock:       clock,
		Secrets:     secrets,
		Definitions: defs,
		Tasks:       tasks,
		HTTP:        HTTPBehaviour{Timeout: *timeout, RealPause: *pause, RewriteBase: *base},
		Observe: func(ev Event) {
			fmt.Fprintf(stdout, "%-11s %-10s %s\n            %s\n", "+"+fmtElapsed(ev.At.Sub(t0)), ev.Outcome, ev.Title, oneLine(ev.Detail))
		},
	})
	store := &Store{Order: order}
	res, err := sim.Run(ctx, w, store)
	if err != nil {
		return problem.Wrap(err, problem.Internal, "simulation_failed", err.Error())
	}
	fmt.Fprintln(stdout)
	for _, m := range store.MetafieldWrites {
		fmt.Fprintf(stdout, "metafield %s.%s = %q\n", m.Namespace, m.Key, m.Value)
	}
	for _, c := range store.AdminCalls {
		fmt.Fprintf(stdout, "admin api %s %v\n", c.Mutation, c.Input)
	}
	for _, e := range store.Emails {
		fmt.Fprintf(stdout, "email to %s: %s\n%s\n", strings.Join(e.To, ","), e.Subject, indent(e.Message))
	}
	if res.Failed {
		fmt.Fprintf(stdout, "run FAILED: %s\n", res.Reason)
		return problem.New(problem.Rejected, "run_failed", res.Reason)
	}
	fmt.Fprintf(stdout, "run completed after %s of Flow time\n", fmtElapsed(clock.Now().Sub(t0)))
	return nil
}

func secretNames(w flowtemplates.Workflow) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range w.Root.Steps {
		for _, c := range s.ConfigFieldValues {
			rest := c.Value
			for {
				i := strings.Index(rest, "secrets.")
				if i < 0 {
					break
				}
				rest = rest[i+len("secrets."):]
				j := 0
				for j < len(rest) && (isIdentByte(rest[j]) || (rest[j] >= '0' && rest[j] <= '9')) {
					j++
				}
				if name := rest[:j]; name != "" && !seen[name] {
					seen[name] = true
					out = append(out, name)
				}
			}
		}
	}
	return out
}

func fmtElapsed(d time.Duration) string {
	d = d.Truncate(time.Second)
	days := d / (24 * time.Hour)
	rest := strings.TrimSuffix(strings.TrimSuffix((d%(24*time.Hour)).String(), "0s"), "0m")
	switch {
	case days == 0:
		if rest == "" {
			return "0s"
		}
		return rest
	case rest == "":
		return fmt.Sprintf("%dd", days)
	default:
		return fmt.Sprintf("%dd%s", days, rest)
	}
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}
