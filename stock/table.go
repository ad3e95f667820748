package stock

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
)

// WriteTable prints a plan as the dry run's table: every change, every
// unmatched variant and the low margins, then a summary line.
func WriteTable(w io.Writer, pl Plan) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	if len(pl.Changes) > 0 {
		fmt.Fprintln(tw, "CHANGE\tBARCODE\tVARIANT\tSKU\tSHOPIFY\tSUPPLIER")
		for _, c := range pl.Changes {
			kind := "set"
			if c.Vanished {
				kind = "vanished"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d → %d\t%s\n", kind, c.EAN, c.Title, c.SKU, c.From, c.To, supplierCol(c))
		}
		fmt.Fprintln(tw)
	}
	if len(pl.Unmatched) > 0 {
		fmt.Fprintln(tw, "NOT SYNCED\tBARCODE\tVARIANT\tSKU\tWHY")
		for _, u := range pl.Unmatched {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Reason, u.Barcode, u.Title, u.SKU, u.Detail)
		}
		fmt.Fprintln(tw)
	}
	low := 0
	for _, m := range pl.Margins {
		if !m.Low {
			continue
		}
		if low == 0 {
			fmt.Fprintln(tw, "LOW MARGIN\tBARCODE\tVARIANT\tPRICE\tCOST")
		}
		low++
		fmt.Fprintf(tw, "%s%%\t%s\t%s\t%s\t%s\n", strconv.FormatFloat(m.Percent, 'f', 1, 64), m.EAN, m.Title, money(m.Price.Minor, m.Price.Currency), money(m.Cost.Minor, m.Cost.Currency))
	}
	if low > 0 {
		fmt.Fprintln(tw)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "%d variants: %d matched, %d to change (%d vanished), %d already right, %d not synced, %d without barcode, %d below the margin threshold\n",
		pl.Variants, pl.Matched, len(pl.Changes), pl.Vanished, pl.Unchanged, len(pl.Unmatched), pl.NoBarcode, pl.LowMargin)
	if pl.CapTripped {
		fmt.Fprintln(w, "CAP: "+pl.CapReason)
	}
}

func supplierCol(c Change) string {
	if c.Vanished {
		return "gone"
	}
	return strconv.Itoa(c.Supplier)
}

func money(minor int64, cur string) string {
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	return fmt.Sprintf("%s%d.%02d %s", sign, minor/100, minor%100, cur)
}
