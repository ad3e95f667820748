package flowtemplates

import (
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/flowbridge/flowbridge/problem"
)

// MaxTotalWait is Flow's limit on the waits of one workflow run.
const MaxTotalWait = 90 * 24 * time.Hour

// Validate checks that p produces workflows Flow will accept and run.
func (p Params) Validate() error {
	secretNameRE := regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	metaIdentRE := regexp.MustCompile(`^[a-z0-9_-]{2,64}$`)
	var fields []problem.Field
	bad := func(ptr, msg string) { fields = append(fields, problem.Field{Pointer: ptr, Message: msg}) }

	if u, err := url.Parse(p.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		bad("/base_url", "must be an absolute http(s) URL")
	} else if u.RawQuery != "" || u.Fragment != "" {
		bad("/base_url", "must not carry a query or fragment")
	}
	if !secretNameRE.MatchString(p.SecretName) {
		bad("/secret_name", "must start with a letter and hold only letters, digits and _")
	}
	for _, f := range [][2]string{{"/namespace", p.Namespace}, {"/shipping_cost_key", p.ShippingCostKey}, {"/supplier_order_key", p.SupplierOrderKey}} {
		if !metaIdentRE.MatchString(f[1]) {
			bad(f[0], "must be 2-64 characters of a-z, 0-9, _ or - (lower case: Flow matches metafields case-sensitively)")
		}
	}
	if p.ShippingCostKey == p.SupplierOrderKey {
		bad("/supplier_order_key", "must differ from the shipping cost key")
	}
	if len(p.Schedule) == 0 {
		bad("/schedule", "needs at least one tracking check")
	}
	total := p.Hold
	if p.Hold < 0 {
		bad("/hold", "must not be negative")
	}
	for i, d := range p.Schedule {
		if d < time.Minute {
			bad("/schedule/"+strconv.Itoa(i), "each wait must be at least one minute")
		}
		total += d
	}
	if total > MaxTotalWait {
		bad("/schedule", fmt.Sprintf("hold plus all waits is %s; Flow allows at most 90 days per workflow", total))
	}
	if len(p.AlertEmails) == 0 {
		bad("/alert_emails", "needs at least one recipient")
	}
	for i, e := range p.AlertEmails {
		if a, err := mail.ParseAddress(e); err != nil || a.Address != e {
			bad("/alert_emails/"+strconv.Itoa(i), "must be a plain e-mail address")
		}
	}
	for i, c := range p.Carriers {
		if strings.TrimSpace(c) == "" || strings.ContainsAny(c, `"\{}%`) {
			bad("/carriers/"+strconv.Itoa(i), "must be a plain carrier name")
		}
	}
	switch p.FulfilBy {
	case FulfilByFlowbridge, FulfilByFlow:
	default:
		bad("/fulfil_by", "must be "+FulfilByFlowbridge+" or "+FulfilByFlow)
	}
	if _, err := p.Tasks(); err != nil {
		bad("/task_ids", err.Error())
	}
	if len(fields) > 0 {
		return &problem.Error{Kind: problem.Invalid, Code: "invalid_template_params",
			Detail: "the template parameters cannot produce a valid workflow", Fields: fields}
	}
	return nil
}
