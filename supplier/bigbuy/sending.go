package bigbuy

import "github.com/flowbridge/flowbridge/supplier/resilient"

// ReportsSending implements supplier.SendReporter: the resilient transport
// calls supplier.Sending after its rate-limit wait, right before the
// create leaves. Any other transport does not, and the caller then marks
// the create sent before calling CreateOrder.
func (c *Client) ReportsSending() bool {
	_, ok := c.hc.Transport.(*resilient.Client)
	return ok
}
